"""The one way a message reaches the analysis: topic → session processor, for every stream.

The live service (MQTT), ``footfall analyze`` (a file's messages in order), the demo and the
validation all hand messages to a :class:`SessionRouter` and get the same derived events back.
It decodes and validates every payload (:mod:`footfall.wire`), creates the session processor of
each ``athlete/session`` on its first data or command with that athlete's settings (a
``meta`` or ``status`` of a session not running waits for it: a broker keeps the retained
ones of every session that ever ran), and never raises:
a malformed message goes to ``on_reject`` with its reason, an unexpected error too (as an
internal error, logged with its traceback), and every other session goes on.

Input streams (docs/wire.md): ``imu`` (binary frames), ``rsc``, ``meta``, ``status`` and the
session's ``control``. Derived streams are never inputs, except the processor's own retained
``feedback_state``: a restarted processor resumes a session's targets and feedback from it.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final

from footfall.config.analysis import AnalysisConfig
from footfall.config.limits import Limits
from footfall.core.errors import InputError
from footfall.core.units import NS
from footfall.processing.gate import Data, DeviceGate
from footfall.processing.session import (
    Event,
    Output,
    PlacedFrame,
    SessionProcessor,
    append_together,
)
from footfall.wire import frame as wire_frame
from footfall.wire.control import ControlCommand
from footfall.wire.events import DeviceMeta, DeviceStatus, FeedbackState, RscSample
from footfall.wire.frame import ImuFrame
from footfall.wire.topics import INPUT_STREAMS, RESUME_STREAMS, SESSION_DEVICE, Stream, Topic

log = logging.getLogger(__name__)

#: inputs of the session itself (device ``session``), not of a sensor
SESSION_INPUTS: Final = frozenset({Stream.CONTROL, Stream.FEEDBACK_STATE})
#: what the router analyses; every other stream is derived (the processor's own output)
ROUTED_STREAMS: Final = INPUT_STREAMS | RESUME_STREAMS
#: an empty payload on these is a cleared retained message, not an input
RETAINED_INPUTS: Final = frozenset({Stream.META, Stream.STATUS, *SESSION_INPUTS})
#: valid topics parsed once (a sensor sends 40 frames a second on the same topic); bounded
TOPIC_CACHE_SIZE: Final = 20_000
#: sessions whose retained meta, status and feedback state wait for the session to start here
#: (its first data or command); beyond it the oldest go (a broker holds every session's that
#: ever ran)
MAX_HELD_SESSIONS: Final = 10_000
Routed = tuple[Topic, Event]
#: a retained message of a session not running here, waiting for it
Held = DeviceMeta | DeviceStatus | FeedbackState
SessionKey = tuple[str, str]
Reject = Callable[[str, str, bytes], None]


def _log_reject(source: str, reason: str, payload: bytes) -> None:
    log.warning("set aside a malformed message from %s: %s (%d bytes)", source, reason,
                len(payload))


@dataclass(slots=True)
class RouterStats:
    messages: int = 0
    rejected: int = 0
    frames: int = 0
    rsc_samples: int = 0
    internal_errors: int = 0
    sessions_started: int = 0
    sessions_finished: int = 0
    sessions_expired: int = 0
    sessions_refused: int = 0


@dataclass(slots=True)
class _Session:
    processor: SessionProcessor
    devices: set[str] = field(default_factory=set)
    gates: dict[str, DeviceGate] = field(default_factory=dict)
    last_seen_ns: int = 0
    #: what the held statuses it started with said: out with its next message's events
    started: list[Output] = field(default_factory=list)


@dataclass(slots=True)
class _Lane:
    """An IMU topic already flowing: its session and gate, so that a frame that is next in
    line skips the topic, session and gate lookups (:meth:`SessionRouter._lane`)."""

    athlete: str
    session: str
    device: str
    entry: _Session
    gate: DeviceGate


#: a message's derived events and whether it was accepted, handed on as soon as it is complete
Done = Callable[[int, list[Routed], bool], None]


@dataclass(slots=True)
class _Batch:
    """:meth:`SessionRouter.handle_many` under way: each message's events so far and whether
    it was set aside, and the frames placed but not yet analysed (at most one per stream)."""

    messages: Sequence[tuple[str, bytes]]
    on_done: Done
    events: list[list[Routed] | None]  # per message, so far (None: none yet)
    accepted: list[bool]
    at: int = 0  # the message being handled
    frames_wait: bool = False  # it is an IMU message: its frames may wait (not a status's)
    done: int = 0  # messages handed to on_done
    pending: list[tuple[int, _Session, PlacedFrame]] = field(default_factory=list)
    #: the message of the first frame still waiting (hand_on stops before it), or None
    waiting_from: int | None = None
    streams: set[tuple[int, str]] = field(default_factory=set)  # (id of the session, device)
    #: what on_done raised (the service's output failing, a full disk): raised by handle_many
    #: once the waiting frames have landed, never blamed on the message being handled
    error: Exception | None = None

    def add(self, index: int, events: list[Routed]) -> None:
        so_far = self.events[index]
        if so_far is None:
            self.events[index] = events
        else:
            so_far += events

    def hand_on(self, upto: int) -> None:
        """Every complete message before ``upto``, in order."""
        if self.waiting_from is not None:
            upto = min(upto, self.waiting_from)
        events, accepted = self.events, self.accepted
        while self.done < upto:
            done = self.done
            self.done = done + 1
            out, events[done] = events[done] or [], None
            if self.error is None:
                try:
                    self.on_done(done, out, accepted[done])
                except Exception as exc:
                    self.error = exc


class SessionRouter:
    """Topic → session processor. ``config_for(athlete)`` gives each new session its
    settings; ``clock`` (live: the arrival clock, UTC ns) lets alerts notice silence, frames
    that waited too long in a gate go on, and idle sessions end; ``limits`` caps what the
    network can make it hold (config/limits.py)."""

    def __init__(self, config_for: Callable[[str], AnalysisConfig] | None = None, *,
                 clock: Callable[[], int] | None = None, on_reject: Reject | None = None,
                 on_session: Callable[[str, str, SessionProcessor], None] | None = None,
                 limits: Limits | None = None, keep_started: bool = False,
                 lanes: bool = True) -> None:
        self.config_for = config_for or (lambda _athlete: AnalysisConfig())
        self.clock = clock
        self.on_reject = on_reject or _log_reject
        self.on_session = on_session
        self.limits = limits or Limits()
        self.stats = RouterStats()
        self._sessions: dict[SessionKey, _Session] = {}
        self._topics: dict[str, Topic] = {}
        #: the topics of derived events, by (athlete, session, device, event type): each made
        #: and its ids checked once, not per event (bounded as _topics)
        self._derived: dict[tuple[str, str, str, str], Topic] = {}
        #: IMU topics of running sessions (cleared when a session goes): most frames' way in
        self._lanes: dict[str, _Lane] = {}
        #: the retained messages of sessions not running here — each device's latest meta and
        #: status, the session's feedback state — in arrival order, applied when the session
        #: starts. A restarted processor gets those of every session that ever ran; they must
        #: not each open a processor (and fill ``max_sessions`` for ``session_idle_s``) or
        #: raise a ``sensor_offline`` alert now
        self._held: dict[SessionKey, dict[tuple[str, Stream], tuple[str, bytes, Held]]] = {}
        self._held_at: dict[SessionKey, int] = {}  # (the clock's) last held, for expiry
        #: with ``keep_started``: the held messages sessions started with, for the journal
        #: (take_started); the service's journal needs them, a file's analysis does not
        self.keep_started = keep_started
        self._started_with: list[tuple[str, bytes]] = []
        self._batch: _Batch | None = None  # handle_many under way
        #: ``lanes=False``: every frame goes the whole way (the tests' reference for lanes)
        self.lanes = lanes

    @property
    def sessions(self) -> dict[SessionKey, SessionProcessor]:
        return {key: s.processor for key, s in self._sessions.items()}

    def processor(self, athlete: str, session: str) -> SessionProcessor:
        """The session's processor, created with ``config_for(athlete)`` on first use."""
        key = (athlete, session)
        entry = self._sessions.get(key)
        if entry is None:
            processor = SessionProcessor(athlete, session, self.config_for(athlete))
            processor.alerts.clock = self.clock  # live: silence is judged on arrival
            entry = self._sessions[key] = _Session(processor)
            self._apply_held(key, entry)
            self.stats.sessions_started += 1
            log.info("new session %s/%s", athlete, session)
            if self.on_session is not None:
                self.on_session(athlete, session, processor)
        return entry.processor

    def _hold(self, topic: Topic, payload: bytes, value: Held) -> None:
        key = (topic.athlete, topic.session)
        held = self._held.pop(key, None)  # (re-inserted: the most recent session last)
        if held is None:
            held = {}
            while len(self._held) >= MAX_HELD_SESSIONS:
                oldest = next(iter(self._held))
                del self._held[oldest]
                self._held_at.pop(oldest, None)
        self._held[key] = held
        self._held_at[key] = self.clock() if self.clock is not None else 0
        held.pop((topic.device, topic.stream), None)  # (its latest, in arrival order)
        held[(topic.device, topic.stream)] = (str(topic), payload, value)

    def _apply_held(self, key: SessionKey, entry: _Session) -> None:
        """A session starts: its held messages, as :meth:`_dispatch` would have taken them
        then (the feedback state first, as it was restored at the start before)."""
        held = self._held.pop(key, None)
        self._held_at.pop(key, None)
        if not held:
            return
        processor = entry.processor
        items = sorted(held.items(), key=lambda item: item[0][1] is not Stream.FEEDBACK_STATE)
        for (device, _stream), (topic_text, payload, value) in items:
            if self.keep_started:
                self._started_with.append((topic_text, payload))
            if isinstance(value, FeedbackState):
                processor.restore_feedback(value)
                continue
            entry.devices.add(device)
            if isinstance(value, DeviceMeta):
                processor.set_meta(device, value)
                self._gate(entry, device).meta_arrived()  # (its gate, made then before)
                continue
            if not value.online:
                self._gate(entry, device)
                entry.started += processor.flush_device(device)
            entry.started += processor.set_status(device, value)

    def take_started(self) -> list[tuple[str, bytes]]:
        """The held messages (topic, payload) that sessions started with since the last call
        (with ``keep_started``): a journal keeps them with the session's messages (its replay
        needs the meta first, and the feedback state)."""
        started, self._started_with = self._started_with, []
        return started

    def holds(self, athlete: str, session: str) -> bool:
        """Whether retained messages of a session not running here wait for it."""
        return (athlete, session) in self._held

    # -- messages ----------------------------------------------------------------------------

    def handle(self, topic_text: str, payload: bytes) -> list[Routed]:
        """One message; the derived events it completes. Never raises."""
        return self._handle(topic_text, payload)[0]

    def _handle(self, topic_text: str, payload: bytes) -> tuple[list[Routed], bool]:
        """(events, accepted): False when the message was set aside."""
        self.stats.messages += 1
        try:
            lane = self._lanes.get(topic_text)
            if lane is not None:
                taken = self._lane(lane, payload)
                if taken is not None:
                    return taken, True
            topic = self._topics.get(topic_text)
            if topic is None:
                topic = Topic.parse(topic_text)
                if len(self._topics) >= TOPIC_CACHE_SIZE:
                    self._topics.clear()
                self._topics[topic_text] = topic
            if topic.stream not in ROUTED_STREAMS:
                raise InputError(f"{topic.stream} is a derived stream, not an input")
            routed = self._dispatch(topic, payload)
            if topic.stream is Stream.IMU and lane is None and self.lanes:
                self._open_lane(topic_text, topic)
            return routed, True
        except InputError as exc:
            self._reject(topic_text, exc.reason, payload)
        except Exception as exc:  # a bug must cost one message, never the other sessions
            self.stats.internal_errors += 1
            log.exception("internal error on a message of %s", topic_text)
            self._reject(topic_text, f"internal error: {exc!r}"[:300], payload)
        return [], False

    def handle_many(self, messages: Sequence[tuple[str, bytes]], on_done: Done) -> None:
        """Messages in order, as :meth:`handle` takes them one by one: each message's derived
        events (the same, in the same order) go to ``on_done(index, events, accepted)``
        (accepted False: set aside), message after message, as soon as each is complete.
        Frames that continue their stream wait, at most one per stream, and are analysed
        together (processing/session.py ``append_together``) before anything else happens
        to their sessions: before any other message, and before a stream's next frame."""
        if len(messages) == 1:  # nothing to analyse together
            on_done(0, *self._handle(*messages[0]))
            return
        batch = self._batch = _Batch(messages, on_done, [None] * len(messages),
                                     [True] * len(messages))
        try:
            for j, (topic_text, payload) in enumerate(messages):
                batch.at = j
                if topic_text in self._lanes:
                    batch.frames_wait = True
                else:
                    topic = self._topics.get(topic_text)
                    batch.frames_wait = topic is not None and topic.stream is Stream.IMU
                if not batch.frames_wait:
                    self._analyse_pending()  # its session may be one a pending frame is of
                outputs, accepted = self._handle(topic_text, payload)
                if outputs:
                    batch.add(j, outputs)
                if not accepted:
                    batch.accepted[j] = False
                batch.hand_on(j + 1)
                if batch.error is not None:
                    break  # the rest is not taken (not acknowledged: it comes again)
            else:
                batch.at = len(messages)
            self._analyse_pending()  # (every stream's state consistent, whatever happened)
        finally:
            self._batch = None
        if batch.error is not None:
            raise batch.error

    def _analyse_pending(self) -> None:
        """The frames waiting in :meth:`handle_many`, together; then each one's events."""
        batch = self._batch
        if batch is None or not batch.pending:
            return
        pending, batch.pending, batch.streams = batch.pending, [], set()
        found = append_together([placed for _, _, placed in pending])
        last = len(pending) - 1
        for k, ((j, entry, placed), f) in enumerate(zip(pending, found, strict=True)):
            batch.waiting_from = pending[k + 1][0] if k < last else None
            processor = entry.processor
            try:
                outputs = processor.land_found(placed, f) if f is not None \
                    else processor.feed_placed(placed)
            except Exception as exc:  # as in handle: this message only
                self.stats.internal_errors += 1
                topic_text, payload = batch.messages[j]
                log.exception("internal error on a message of %s", topic_text)
                self._reject(topic_text, f"internal error: {exc!r}"[:300], payload)
                batch.events[j], batch.accepted[j] = None, False
            else:
                if outputs:
                    batch.add(j, self._routed(processor.athlete, processor.session, outputs))
            batch.hand_on(batch.at)

    def _lane(self, lane: _Lane, payload: bytes) -> list[Routed] | None:
        """A frame of a flowing IMU topic that is next in its gate: into the analysis as
        :meth:`_dispatch` would take it. None: not taken, nothing changed (a malformed frame,
        one out of order, a gate holding frames: the whole way handles it)."""
        try:
            frame = wire_frame.decode(payload)
        except wire_frame.FrameError:
            return None  # set aside the whole way, with its reason
        if not lane.gate.take_next(frame):
            return None
        entry = lane.entry
        entry.last_seen_ns = self.clock() if self.clock is not None else 0
        return self._routed(lane.athlete, lane.session,
                            self._feed_frame(entry, lane.device, frame))

    def _open_lane(self, topic_text: str, topic: Topic) -> None:
        entry = self._sessions.get((topic.athlete, topic.session))
        gate = entry.gates.get(topic.device) if entry is not None else None
        if entry is None or gate is None:
            return
        if len(self._lanes) >= TOPIC_CACHE_SIZE:
            self._lanes.clear()
        self._lanes[topic_text] = _Lane(topic.athlete, topic.session, topic.device, entry, gate)

    def _dispatch(self, topic: Topic, payload: bytes) -> list[Routed]:
        stream, device = topic.stream, topic.device
        if not payload and stream in RETAINED_INPUTS:
            return []  # a retained message was cleared
        if stream in SESSION_INPUTS and device != SESSION_DEVICE:
            raise InputError(f"{stream} messages go to device {SESSION_DEVICE!r}, not {device!r}")
        if stream not in SESSION_INPUTS and device == SESSION_DEVICE:
            raise InputError(f"{SESSION_DEVICE!r} is the session's own device id, not a sensor")
        # decode before a session exists: garbage never creates one
        outputs: list[Output]
        if stream is Stream.IMU or stream is Stream.RSC:
            data: Data = (wire_frame.decode(payload) if stream is Stream.IMU
                          else RscSample.from_json(payload))
            entry = self._entry(topic, device)
            gate = self._gate(entry, device)
            outputs = self._feed(entry, device, gate.push(data, entry.last_seen_ns))
        elif stream is Stream.META:
            meta = DeviceMeta.from_json(payload)
            if (topic.athlete, topic.session) not in self._sessions:
                self._hold(topic, payload, meta)
                return []
            entry = self._entry(topic, device)
            entry.processor.set_meta(device, meta)
            outputs = self._feed(entry, device, self._gate(entry, device).meta_arrived())
        elif stream is Stream.STATUS:
            status = DeviceStatus.from_json(payload)
            if (topic.athlete, topic.session) not in self._sessions:
                self._hold(topic, payload, status)
                return []
            log.info("device %s is %s", device, "online" if status.online
                     else f"offline ({status.reason})")
            entry = self._entry(topic, device)
            outputs = []
            if not status.online:  # what it sent before it went is all there will be
                outputs += self._feed(entry, device, self._gate(entry, device).drain())
                outputs += entry.processor.flush_device(device)
            outputs += entry.processor.set_status(device, status)
        elif stream is Stream.FEEDBACK_STATE:
            state = FeedbackState.from_json(payload)
            key = (topic.athlete, topic.session)
            if key in self._sessions:
                self._sessions[key].processor.restore_feedback(state)
            else:
                self._hold(topic, payload, state)
            return []
        else:
            command = ControlCommand.from_json(payload)
            entry = self._entry(topic, None)
            log.info("control %s/%s: %s", topic.athlete, topic.session, command.to_dict())
            outputs = entry.processor.control(command)
        started = self._sessions.get((topic.athlete, topic.session))
        if started is not None and started.started:  # (it started: its held statuses' first)
            outputs, started.started = started.started + outputs, []
        return self._routed(topic.athlete, topic.session, outputs)

    def _entry(self, topic: Topic, device: str | None) -> _Session:
        """The session of a valid message (created if new, within ``max_sessions``)."""
        key = (topic.athlete, topic.session)
        entry = self._sessions.get(key)
        if entry is None:
            if len(self._sessions) >= self.limits.max_sessions:
                self.stats.sessions_refused += 1
                raise InputError(f"{len(self._sessions)} sessions are open (limits."
                                 f"max_sessions): session {topic.athlete}/{topic.session} is "
                                 "not started")
            self.processor(*key)
            entry = self._sessions[key]
        entry.last_seen_ns = self.clock() if self.clock is not None else 0
        if device is not None:
            entry.devices.add(device)
        return entry

    def _gate(self, entry: _Session, device: str) -> DeviceGate:
        gate = entry.gates.get(device)
        if gate is None:
            gate = entry.gates[device] = DeviceGate(self.limits, device)
            gate.has_meta = device in entry.processor.meta
        return gate

    def _feed(self, entry: _Session, device: str, items: list[Data]) -> list[Output]:
        if len(items) > 1:
            frames = [item for item in items if isinstance(item, ImuFrame)]
            if len(frames) == len(items):
                # a burst its gate released (after a lost frame, a late meta): one detector
                # call for each run of it, not one a frame (past its capacity a processor
                # gets little else: docs/benchmarks.md, the eighth round)
                self._analyse_pending()
                self.stats.frames += len(frames)
                return entry.processor.feed_frames(device, frames)
        outputs: list[Output] = []
        for item in items:
            if isinstance(item, ImuFrame):
                outputs += self._feed_frame(entry, device, item)
            else:
                self.stats.rsc_samples += 1
                self._analyse_pending()
                outputs += entry.processor.feed_rsc(device, item)
        return outputs

    def _feed_frame(self, entry: _Session, device: str, frame: ImuFrame) -> list[Output]:
        """A frame out of its gate: analysed now, or, in :meth:`handle_many`, waiting to be
        analysed with other streams' frames when it continues its stream."""
        self.stats.frames += 1
        batch = self._batch
        if batch is None or not batch.frames_wait:
            self._analyse_pending()
            return entry.processor.feed_frame(device, frame)
        stream = (id(entry), device)
        if stream in batch.streams:
            self._analyse_pending()  # the stream's previous frame first
        placed = entry.processor.place(device, frame)
        if placed is None:
            return []
        if entry.processor.continues(placed):
            if not batch.pending:
                batch.waiting_from = batch.at
            batch.pending.append((batch.at, entry, placed))
            batch.streams.add(stream)
            return []
        self._analyse_pending()
        return entry.processor.feed_placed(placed)

    # -- time and the end --------------------------------------------------------------------

    def tick(self, now_ns: int | None = None) -> list[Routed]:
        """Live only: the arrival clock moved on; devices that went silent alert."""
        if now_ns is None:
            if self.clock is None:
                raise ValueError("tick() needs now_ns, or a router built with a clock")
            now_ns = self.clock()
        out: list[Routed] = []
        idle_ns = round(self.limits.session_idle_s * NS)
        for key, held_ns in list(self._held_at.items()):  # a session that never started
            if held_ns and now_ns - held_ns > idle_ns:  # (0: held with no arrival clock)
                del self._held[key], self._held_at[key]
        for (athlete, session), entry in list(self._sessions.items()):
            if entry.last_seen_ns and now_ns - entry.last_seen_ns > idle_ns:
                log.info("session %s/%s: no message for %.0f s (limits.session_idle_s): "
                         "finishing it", athlete, session, (now_ns - entry.last_seen_ns) / NS)
                self.stats.sessions_expired += 1
                out += self.finish_session(athlete, session)
                continue
            out += self._guarded(athlete, session, "tick",
                                 functools.partial(self._tick_session, entry, now_ns))
        return out

    def _tick_session(self, entry: _Session, now_ns: int) -> list[Output]:
        outputs: list[Output] = []
        for device, gate in entry.gates.items():
            outputs += self._feed(entry, device, gate.due(now_ns))
        return outputs + entry.processor.tick(now_ns)

    def last_seen_ns(self, athlete: str, session: str) -> int | None:
        """Arrival time (the router's clock) of the session's latest message."""
        entry = self._sessions.get((athlete, session))
        return entry.last_seen_ns if entry is not None else None

    def ended(self) -> list[SessionKey]:
        """Sessions whose every device said it ended normally."""
        return [key for key, s in self._sessions.items()
                if s.devices and s.devices <= s.processor.ended]

    def finish_session(self, athlete: str, session: str) -> list[Routed]:
        """End one session: its last steps, final metrics and per-device summaries; its
        state is freed. A later message of it starts a new processor."""
        entry = self._sessions.pop((athlete, session), None)
        if entry is None:
            return []
        self._lanes.clear()  # (theirs among them; the others' next frames open theirs again)
        self.stats.sessions_finished += 1
        log.info("session %s/%s finished", athlete, session)

        def drain_and_finish() -> list[Output]:
            outputs: list[Output] = []
            for device, gate in entry.gates.items():
                outputs += self._feed(entry, device, gate.drain())
            return outputs + entry.processor.finish()

        return self._guarded(athlete, session, "finish", drain_and_finish)

    def forget_session(self, athlete: str, session: str) -> None:
        """Drop a session's state without finishing it: another processor goes on with it
        (the scale-out's partitions change owner)."""
        if self._sessions.pop((athlete, session), None) is not None:
            self._lanes.clear()
        self._held.pop((athlete, session), None)  # (the new owner gets them)
        self._held_at.pop((athlete, session), None)

    def finish(self) -> list[Routed]:
        """End every session (end of a file, or the service stopping)."""
        out: list[Routed] = []
        for athlete, session in list(self._sessions):
            out += self.finish_session(athlete, session)
        return out

    # -- helpers -----------------------------------------------------------------------------

    def _guarded(self, athlete: str, session: str, what: str,
                 action: Callable[[], list[tuple[str, Event]]]) -> list[Routed]:
        """A session's own work outside a message (tick, finish): a bug in it is logged and
        costs that session's output, never another session's."""
        try:
            return self._routed(athlete, session, action())
        except Exception:
            self.stats.internal_errors += 1
            log.exception("internal error in %s of session %s/%s", what, athlete, session)
            return []

    def _routed(self, athlete: str, session: str, outputs: list[tuple[str, Event]]
                ) -> list[Routed]:
        if not outputs:
            return []  # (most frames)
        routed: list[Routed] = []
        topics = self._derived
        for device, event in outputs:
            key = (athlete, session, device, event.TYPE)
            topic = topics.get(key)
            if topic is None:
                if len(topics) >= TOPIC_CACHE_SIZE:
                    topics.clear()
                topic = topics[key] = Topic(athlete, session, device, Stream(event.TYPE))
            routed.append((topic, event))
        return routed

    def _reject(self, source: str, reason: str, payload: bytes) -> None:
        self.stats.rejected += 1
        try:
            self.on_reject(source, reason, payload)
        except Exception:  # the quarantine's disk is full: say so, keep processing
            log.exception("could not set aside a malformed message from %s", source)
