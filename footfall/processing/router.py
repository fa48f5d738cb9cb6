"""The one way a message reaches the analysis: topic → session processor, for every stream.

The live service (MQTT), ``footfall analyze`` (a file's messages in order), the demo and the
validation all hand messages to a :class:`SessionRouter` and get the same derived events back.
It decodes and validates every payload (:mod:`footfall.wire`), creates the session processor of
each ``athlete/session`` on its first message with that athlete's settings, and never raises:
a malformed message goes to ``on_reject`` with its reason, an unexpected error too (as an
internal error, logged with its traceback), and every other session goes on.

Input streams (docs/wire.md): ``imu`` (binary frames), ``rsc``, ``meta``, ``status`` and the
session's ``control``. Derived streams are never inputs.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from footfall.config.analysis import AnalysisConfig
from footfall.core.errors import InputError
from footfall.processing.session import Event, SessionProcessor
from footfall.wire import frame as wire_frame
from footfall.wire.control import ControlCommand
from footfall.wire.events import DeviceMeta, DeviceStatus, RscSample
from footfall.wire.topics import INPUT_STREAMS, SESSION_DEVICE, Stream, Topic

log = logging.getLogger(__name__)

Routed = tuple[Topic, Event]
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


@dataclass(slots=True)
class _Session:
    processor: SessionProcessor
    devices: set[str] = field(default_factory=set)


class SessionRouter:
    """Topic → session processor. ``config_for(athlete)`` gives each new session its
    settings; ``clock`` (live: the arrival clock, UTC ns) lets alerts notice silence."""

    def __init__(self, config_for: Callable[[str], AnalysisConfig] | None = None, *,
                 clock: Callable[[], int] | None = None, on_reject: Reject | None = None,
                 on_session: Callable[[str, str, SessionProcessor], None] | None = None
                 ) -> None:
        self.config_for = config_for or (lambda _athlete: AnalysisConfig())
        self.clock = clock
        self.on_reject = on_reject or _log_reject
        self.on_session = on_session
        self.stats = RouterStats()
        self._sessions: dict[SessionKey, _Session] = {}

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
            self.stats.sessions_started += 1
            log.info("new session %s/%s", athlete, session)
            if self.on_session is not None:
                self.on_session(athlete, session, processor)
        return entry.processor

    # -- messages ----------------------------------------------------------------------------

    def handle(self, topic_text: str, payload: bytes) -> list[Routed]:
        """One message; the derived events it completes. Never raises."""
        self.stats.messages += 1
        try:
            topic = Topic.parse(topic_text)
            if topic.stream not in INPUT_STREAMS:
                raise InputError(f"{topic.stream} is a derived stream, not an input")
            return self._dispatch(topic, payload)
        except InputError as exc:
            self._reject(topic_text, exc.reason, payload)
        except Exception as exc:  # a bug must cost one message, never the other sessions
            self.stats.internal_errors += 1
            log.exception("internal error on a message of %s", topic_text)
            self._reject(topic_text, f"internal error: {exc!r}"[:300], payload)
        return []

    def _dispatch(self, topic: Topic, payload: bytes) -> list[Routed]:
        stream, device = topic.stream, topic.device
        if stream in (Stream.META, Stream.STATUS, Stream.CONTROL) and not payload:
            return []  # a retained message was cleared
        if stream is Stream.CONTROL and device != SESSION_DEVICE:
            raise InputError(f"control commands go to device {SESSION_DEVICE!r}, not {device!r}")
        if stream is not Stream.CONTROL and device == SESSION_DEVICE:
            raise InputError(f"{SESSION_DEVICE!r} is the session's own device id, not a sensor")
        # decode before a session exists: garbage never creates one
        if stream is Stream.IMU:
            frame = wire_frame.decode(payload)
            processor = self._device(topic)
            self.stats.frames += 1
            outputs = processor.feed_frame(device, frame)
        elif stream is Stream.RSC:
            sample = RscSample.from_json(payload)
            processor = self._device(topic)
            self.stats.rsc_samples += 1
            outputs = processor.feed_rsc(device, sample)
        elif stream is Stream.META:
            meta = DeviceMeta.from_json(payload)
            self._device(topic).set_meta(device, meta)
            return []
        elif stream is Stream.STATUS:
            status = DeviceStatus.from_json(payload)
            log.info("device %s is %s", device, "online" if status.online
                     else f"offline ({status.reason})")
            outputs = self._device(topic).set_status(device, status)
        else:
            command = ControlCommand.from_json(payload)
            processor = self.processor(topic.athlete, topic.session)
            log.info("control %s/%s: %s", topic.athlete, topic.session, command.to_dict())
            outputs = processor.control(command)
        return self._routed(topic.athlete, topic.session, outputs)

    def _device(self, topic: Topic) -> SessionProcessor:
        processor = self.processor(topic.athlete, topic.session)
        self._sessions[(topic.athlete, topic.session)].devices.add(topic.device)
        return processor

    # -- time and the end --------------------------------------------------------------------

    def tick(self, now_ns: int | None = None) -> list[Routed]:
        """Live only: the arrival clock moved on; devices that went silent alert."""
        if now_ns is None:
            if self.clock is None:
                raise ValueError("tick() needs now_ns, or a router built with a clock")
            now_ns = self.clock()
        out: list[Routed] = []
        for (athlete, session), entry in list(self._sessions.items()):
            out += self._guarded(athlete, session, "tick",
                                 functools.partial(entry.processor.tick, now_ns))
        return out

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
        self.stats.sessions_finished += 1
        log.info("session %s/%s finished", athlete, session)
        return self._guarded(athlete, session, "finish", entry.processor.finish)

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

    @staticmethod
    def _routed(athlete: str, session: str, outputs: list[tuple[str, Event]]) -> list[Routed]:
        return [(Topic(athlete, session, device, Stream(event.TYPE)), event)
                for device, event in outputs]

    def _reject(self, source: str, reason: str, payload: bytes) -> None:
        self.stats.rejected += 1
        try:
            self.on_reject(source, reason, payload)
        except Exception:  # the quarantine's disk is full: say so, keep processing
            log.exception("could not set aside a malformed message from %s", source)
