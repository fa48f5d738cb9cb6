"""The live processor: MQTT in, steps/metrics/alerts/summaries out to MQTT and InfluxDB.

The analysis itself is the :class:`~footfall.processing.router.SessionRouter`, the same one
``footfall analyze`` uses; this module only moves messages. One persistent MQTT session
(stable client id, ``clean_session=False``, QoS 1) so that data sent while the processor
restarts is queued by the broker, not lost; each message is acknowledged only once it is
analysed and in the journal (service/journal.py), which is replayed at start, so a processor
killed at any moment loses nothing and goes on where it was. Derived events are published
from a queue that survives reconnects, and written to InfluxDB through the spooled writer
(each line on disk as it is made). A session ends when
every device said it ended (``DeviceStatus.final``) and nothing more came for
:data:`SESSION_END_GRACE_S`: its last steps, final metrics and per-device summaries are
written then.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Protocol

import aiomqtt

from footfall.config.analysis import AnalysisConfig
from footfall.config.settings import Settings
from footfall.core.quarantine import Quarantine
from footfall.processing.router import SESSION_INPUTS, Routed, SessionRouter
from footfall.processing.session import Event, SessionProcessor
from footfall.service import health
from footfall.service.journal import Journal
from footfall.storage.influx import LineSink
from footfall.storage.lineprotocol import to_line
from footfall.wire import mqtt
from footfall.wire.events import AlertEvent, DeviceMeta
from footfall.wire.intake import Intake, Received
from footfall.wire.topics import (
    INPUT_STREAMS,
    RESUME_STREAMS,
    SESSION_DEVICE,
    Stream,
    Topic,
    subscription,
)

log = logging.getLogger(__name__)

#: how often silent devices and ended sessions are checked
TICK_S: Final = 1.0
#: a session whose devices all ended is finished once nothing came for this long
SESSION_END_GRACE_S: Final = 2.0
#: messages analysed between two journal flushes and acknowledgements. Mosquitto 2.0.11 sends
#: a client that keeps acknowledging far more than its in-flight window (40,000+ were seen
#: waiting in a busy subscriber's queue), so a batch can be larger than the window. A step
#: waits for the end of its batch: 4,000 gave a p95 over 1 s at 600 sensors, 1,000 741 ms,
#: with the same throughput (docs/benchmarks.md)
MAX_BATCH: Final = 1000
#: events published together, their PUBACKs awaited before the next ones (the QoS 1 window).
#: The publisher gets a turn between two input batches, and its PUBACKs come back a turn
#: later: at 100 it sent ~100 events per 1,000 messages analysed, fewer than 700 sensors
#: make (~75 events/1,000 messages, with PUBACKs a turn late): the outbox grew by ~50
#: events/s and steps waited in it (docs/benchmarks.md). What one batch makes goes in one.
PUBLISH_BATCH: Final = 2000
#: received messages that may wait for analysis before the input connection stops reading
#: (wire.mqtt.client's read_ahead): a processor fed faster than it analyses — a replay at full
#: speed, a backlog after a restart — keeps the backlog in the broker, not in its memory
READ_AHEAD: Final = 2 * MAX_BATCH
#: topics whose kind (_kind) is remembered; past it the memory starts afresh
TOPIC_KINDS: Final = 65536
#: the cyclic garbage collector's thresholds for a processor process (Python's default:
#: 700, 10, 10). A frame allocates a few dozen tracked objects (events, arrays' views, lists)
#: that reference counting frees at once, so the default ran a collection every ~20 frames and
#: a full one, over every session's state, every ~2,000: 7 % of the CPU per message
#: in-process (200 sensors, 5 A/B runs: 57.1 → 53.3 µs). Cycles still get collected.
GC_THRESHOLDS: Final = (20_000, 50, 1_000)
#: the longest wait between two attempts to reach the broker
MAX_RETRY_S: Final = 5.0
EventCallback = Callable[[Topic, Event], None]


def tune_collector() -> None:
    """For a long-running processor: what was loaded at start is frozen out of the garbage
    collector's scans, and collections are rarer (:data:`GC_THRESHOLDS`)."""
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


class MessageInput(Protocol):
    """What :meth:`ProcessorService._consume` reads: :class:`~footfall.wire.intake.Intake`,
    or a test's given batches. (A protocol, not ``Intake``: the compiled build checks an
    argument typed with a compiled class, and a test's stand-in is not one.)"""

    @property
    def idle_s(self) -> float: ...

    def batches(self, max_messages: int) -> AsyncIterator[list[Received]]: ...

    def ack_all(self, messages: Sequence[Received]) -> None: ...


@dataclass
class ServiceStats:
    messages: int = 0
    frames: Counter[str] = field(default_factory=Counter)  # per "athlete/session/device"
    rsc_samples: int = 0
    malformed: int = 0
    published: Counter[str] = field(default_factory=Counter)  # per event type
    reconnects: int = 0
    sessions_finished: int = 0
    journal_replayed: int = 0  # messages replayed from the journal at start


async def _cancel_all(tasks: Sequence[asyncio.Task[None]]) -> None:
    """Cancel and wait, cancelling again while a task is still running: on Python 3.11 a
    cancel that races a completing ``wait_for`` (aiomqtt's publish) is swallowed, and the
    task would go on waiting for its next message for ever."""
    pending = {t for t in tasks if not t.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=0.5)


class ProcessorService:
    """Subscribe to device data of one athlete/session (or all) and process it live."""

    def __init__(
        self,
        settings: Settings,
        *,
        writer: LineSink | None,
        athlete: str = "+",
        session: str = "+",
        client_id: str = "footfall-processor",
        on_event: EventCallback | None = None,
        reconnect_s: float = 1.0,
        analysis: AnalysisConfig | None = None,
        analysis_overrides: Mapping[str, float | None] | None = None,
        on_session: Callable[[str, str, SessionProcessor], None] | None = None,
    ) -> None:
        """Each athlete's session gets ``settings.analysis_for(athlete, **analysis_overrides)``
        (command-line flags); ``analysis`` replaces that for every athlete (tests)."""
        self.settings = settings
        self.writer = writer
        self.athlete = athlete
        self.session = session
        self.client_id = client_id
        self.on_event = on_event
        self.reconnect_s = reconnect_s
        self.stats = ServiceStats()
        limits = settings.limits
        self.quarantine = Quarantine(settings.state_dir / "quarantine",
                                     max_bytes=round(limits.quarantine_max_mb * 1e6),
                                     file_bytes=round(limits.quarantine_file_mb * 1e6))
        self.journal = Journal(settings.state_dir / "journal",
                               max_bytes=round(limits.journal_max_mb * 1e6))
        self.watchdog = health.Watchdog(settings.state_dir)
        self.capacity = health.Capacity()  # whether it keeps up with its input
        self.connected = asyncio.Event()
        overrides = dict(analysis_overrides or {})

        def config_for(athlete: str) -> AnalysisConfig:
            return analysis if analysis is not None else \
                settings.analysis_for(athlete, overrides=overrides)

        self.router = SessionRouter(config_for, clock=time.time_ns, on_reject=self._reject,
                                    on_session=on_session, limits=limits, keep_started=True)
        self._finished = False
        #: the broker outage under way: since when, retries so far, last reminder
        self._away_since: float | None = None
        self._attempts = 0
        self._reminded = 0.0
        self._outbox: asyncio.Queue[tuple[str, bytes, bool]] = asyncio.Queue()
        self._client: Intake | None = None  # the connection in use
        self._kinds: dict[str, tuple[str, bool, tuple[str, str]]] = {}  # per topic: _kind

    # -- the connection ----------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Process until ``stop`` is set; then finish every session (look-ahead, summaries)."""
        stopper = asyncio.create_task(stop.wait())
        self.watchdog.start()
        self._replay_journal()
        heartbeat = asyncio.create_task(self._heartbeat())
        try:
            while not stop.is_set():
                try:
                    await self._connected_session(stopper)
                except aiomqtt.MqttError as exc:
                    self.connected.clear()
                    if stop.is_set():
                        break
                    self.stats.reconnects += 1
                    # once when it goes, then a reminder a minute: not a line a second
                    now = time.monotonic()
                    if self._away_since is None or now - self._reminded >= 60:
                        log.warning("broker %s unreachable (%s)%s; retrying (Ctrl-C stops)",
                                    self.settings.mqtt_url, exc,
                                    "" if self._away_since is None
                                    else f" for {now - self._away_since:.0f} s")
                        self._reminded = now
                        self._away_since = self._away_since or now
                    self._attempts += 1
                    delay = min(self.reconnect_s * 2 ** min(self._attempts - 1, 3), MAX_RETRY_S)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), delay)
        finally:
            stopper.cancel()
            heartbeat.cancel()
            self.connected.clear()
            self.watchdog.stop()
        # stopped while the broker was away: the last events still reach InfluxDB
        self._finish_all()
        self.journal.close()

    def _replay_journal(self) -> None:
        """Sessions that were open when the processor last stopped without finishing them
        (killed): their journalled messages, through the router, before the broker's backlog.
        Their events go to InfluxDB again (the same points), not to MQTT again."""
        replayed: Counter[tuple[str, str]] = Counter()
        batch: list[tuple[str, bytes]] = []

        def done(_index: int, outputs: list[Routed], _accepted: bool) -> None:
            self._emit(outputs, publish=False)

        for topic, payload in self.journal.replay():
            batch.append((topic, payload))
            kind = self._kinds.get(topic) or self._kind(topic)
            replayed[kind[2]] += 1
            if len(batch) >= MAX_BATCH:
                self.router.handle_many(batch, done)
                batch = []
        self.router.handle_many(batch, done)
        self.router.take_started()  # (they are in the journal already)
        self.stats.journal_replayed = sum(replayed.values())
        for key, n in sorted(replayed.items()):
            log.info("session %s/%s: replayed %d message(s) from the journal: it goes on "
                     "where it was", *key, n)

    async def _connected_session(self, stopper: asyncio.Task[bool]) -> None:
        # the input: the lean subscriber (wire/intake.py: ~a third of aiomqtt's CPU a message)
        client = Intake(mqtt.BrokerConfig.from_settings(self.settings), client_id=self.client_id,
                        clean_session=False, read_ahead=READ_AHEAD)
        # the derived events go out on a connection of their own: the input one stops reading
        # while a backlog waits (read_ahead), and the PUBACKs of our publishes must not wait
        out = Intake(mqtt.BrokerConfig.from_settings(self.settings),
                     client_id=f"{self.client_id}-out", clean_session=True)
        async with client, out:
            for stream in sorted((INPUT_STREAMS | RESUME_STREAMS) - SESSION_INPUTS):
                await client.subscribe(subscription(self.athlete, self.session, "+", stream), qos=1)
            for stream in sorted(SESSION_INPUTS):  # commands; its own retained feedback state
                await client.subscribe(subscription(self.athlete, self.session, SESSION_DEVICE,
                                                    stream), qos=1)
            self.connected.set()
            if self._away_since is not None:
                log.warning("broker %s is back after %.0f s", self.settings.mqtt_url,
                            time.monotonic() - self._away_since)
            self._away_since, self._attempts = None, 0
            self._client = client
            self.capacity.reset()
            self._beat()
            log.info("processor subscribed on %s", self.settings.mqtt_url)
            consumer = asyncio.create_task(self._consume(client))
            publisher = asyncio.create_task(self._publish(out))
            ticker = asyncio.create_task(self._tick())
            # the output connection breaking while nothing is published: reconnect too
            output_lost = asyncio.create_task(out.until_disconnected())
            done, _ = await asyncio.wait({consumer, publisher, output_lost, stopper},
                                         return_when=asyncio.FIRST_COMPLETED)
            if stopper in done:
                # the sessions' last look-ahead, then everything queued, while still connected
                self._finish_all()
                await self._drain_outbox(out)
            tasks = (consumer, publisher, output_lost, ticker)
            await _cancel_all(tasks)
            errors = [e for t in tasks if not t.cancelled() and (e := t.exception()) is not None]
            if errors and stopper not in done:
                raise errors[0]  # the connection broke: reconnect

    def _beat(self) -> None:
        self.beat()

    def beat(self) -> None:
        """The heartbeat file (service/health.py)."""
        if self._client is not None and self.connected.is_set():
            self.capacity.observe(self._client.idle_s)
        else:  # away: its input does not wait for messages, it has none to wait for
            self.capacity.reset()
        self.watchdog.write({
            "pid": os.getpid(),
            "mqtt_url": self.settings.mqtt_url,
            "connected": self.connected.is_set(),
            "messages": self.stats.messages,
            "outbox": self._outbox.qsize(),  # derived events not yet handed to the broker
            "received": self._client.waiting if self._client else 0,  # not yet analysed
            # the share of the last BUSY_WARN_S its input waited for messages, and whether
            # that says it no longer keeps up (health.Capacity)
            "input_idle_pct": self.capacity.idle_pct,
            "at_capacity": self.capacity.at_capacity,
            "malformed": self.stats.malformed,
            "reconnects": self.stats.reconnects,
            "sessions": len(self.router.sessions),
            "spooled_batches": self.writer.stats.spooled_batches if self.writer else 0,
            "influx_error": self.writer.auth_error if self.writer else None,
        })

    async def _heartbeat(self) -> None:
        while True:
            self._beat()
            await asyncio.sleep(health.INTERVAL_S)

    async def _consume(self, client: MessageInput) -> None:
        """Every message already received, in one go: each analysed and journalled, then the
        journal flushed and the batch acknowledged (one write each, not one per message)."""
        async for batch in client.batches(MAX_BATCH):
            messages = [(message.topic, message.payload) for message in batch]
            accepted = self.handle_many(messages)
            # the held messages a session started with go first: a replay of the journal needs
            # its meta before its data, and its feedback state (those journalled while held
            # were ended with the sessions not running, at the tick)
            taken = [*self.router.take_started(),
                     *(m for m, ok in zip(messages, accepted, strict=True) if ok)]
            for topic, body in taken:  # (the topic's kind: past TOPIC_KINDS, memory anew)
                kind = self._kinds.get(topic) or self._kind(topic)
                self.journal.append(kind[2], topic, body)
            self.journal.flush()
            client.ack_all(batch)  # analysed and journalled (or quarantined): done
            self.capacity.observe(client.idle_s, len(batch))
            await asyncio.sleep(0)  # the publisher's turn, even while a backlog waits

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            self.tick()

    def tick(self) -> None:
        """Once a second: devices that went silent (no_data alerts, judged on arrival), and
        sessions that ended."""
        self._emit(self.router.tick())
        self.finish_ended()
        self.journal.keep_only(set(self.router.sessions))  # idle ones the router ended

    @property
    def outbox(self) -> asyncio.Queue[tuple[str, bytes, bool]]:
        """Derived events waiting to be published: (MQTT topic, payload, retain)."""
        return self._outbox

    async def _publish(self, client: Intake) -> None:
        """Everything queued, in order, :data:`PUBLISH_BATCH` at a time, each batch in one
        write (wire/intake.py ``publish_many``: aiomqtt's ~30 µs a publish fell behind a busy
        processor, docs/benchmarks.md). A batch the connection broke under, or that was
        cancelled waiting for its PUBACKs, is kept, ahead of what came since, for the next
        connection."""
        while True:
            batch = [await self._outbox.get()]
            while len(batch) < PUBLISH_BATCH and not self._outbox.empty():
                batch.append(self._outbox.get_nowait())
            try:
                await client.publish_many(batch)
            except (aiomqtt.MqttError, asyncio.CancelledError):  # (cancelled: the input broke)
                rest = batch
                while not self._outbox.empty():
                    rest.append(self._outbox.get_nowait())
                for item in rest:
                    self._outbox.put_nowait(item)
                raise

    async def _drain_outbox(self, client: Intake) -> None:
        while not self._outbox.empty():
            batch = [self._outbox.get_nowait()
                     for _ in range(min(PUBLISH_BATCH, self._outbox.qsize()))]
            await client.publish_many(batch)

    # -- messages ----------------------------------------------------------------------------

    def handle(self, topic_text: str, payload: bytes, *, publish: bool = True,
               store: bool = True) -> bool:
        """Process one MQTT message (public so tests, replays and the NATS input feed
        messages directly); False when it was set aside as malformed. ``publish``/``store``
        False: a replay that rebuilds state whose events were already published/stored."""
        return self.handle_many([(topic_text, payload)], publish=publish, store=store)[0]

    def handle_many(self, messages: Sequence[tuple[str, bytes]], *, publish: bool = True,
                    store: bool = True) -> list[bool]:
        """:meth:`handle` for a batch, with the same events in the same order: the frames of
        many streams are analysed together (the router's ``handle_many``). Per message: False
        when it was set aside."""
        if not messages:
            return []
        self.router.take_started()  # (only _consume journals them: no one else asks)
        for topic_text, _ in messages:
            self.stats.messages += 1
            kind = self._kinds.get(topic_text)
            if kind is None:
                kind = self._kind(topic_text)
            if kind[0]:
                self.stats.frames[kind[0]] += 1
            elif kind[1]:
                self.stats.rsc_samples += 1
        accepted = [True] * len(messages)

        def done(index: int, outputs: list[Routed], ok: bool) -> None:
            self._emit(outputs, publish=publish, store=store)
            accepted[index] = ok

        watchdog = self.watchdog
        watchdog.begin(f"{messages[0][0]} (and the {len(messages) - 1} message(s) after it)"
                       if len(messages) > 1 else messages[0][0])
        try:  # (lines are spooled message by message: a full disk stops the batch there)
            self.router.handle_many(messages, done)
        finally:
            watchdog.end()
        return accepted

    def _kind(self, topic_text: str) -> tuple[str, bool, tuple[str, str]]:
        """Per topic, once: (the IMU device's athlete/session/device or "", a foot pod's
        samples, the journal's session key)."""
        parts = topic_text.split("/")
        imu = len(parts) == 6 and parts[5] == Stream.IMU.value
        kind = ("/".join(parts[2:5]) if imu else "",
                len(parts) == 6 and parts[5] == Stream.RSC.value,
                (parts[2], parts[3]) if len(parts) > 3 else ("", ""))
        if len(self._kinds) >= TOPIC_KINDS:
            self._kinds.clear()
        self._kinds[topic_text] = kind
        return kind

    def processor(self, athlete: str, session: str) -> SessionProcessor:
        return self.router.processor(athlete, session)

    def finish_ended(self, now_ns: int | None = None) -> None:
        """Finish the sessions whose devices all ended, once their grace has passed."""
        now = time.time_ns() if now_ns is None else now_ns
        for athlete, session in self.router.ended():
            seen = self.router.last_seen_ns(athlete, session) or 0
            if now - seen >= SESSION_END_GRACE_S * 1e9:
                self._finish(athlete, session)

    def _finish(self, athlete: str, session: str) -> None:
        self._emit(self.router.finish_session(athlete, session))
        self.journal.remove((athlete, session))
        self.stats.sessions_finished += 1

    def _finish_all(self) -> None:
        if self._finished:
            return
        self._finished = True
        for athlete, session in list(self.router.sessions):
            self._finish(athlete, session)

    def _reject(self, source: str, reason: str, payload: bytes) -> None:
        self.stats.malformed += 1
        self.quarantine.put(source, reason, payload)

    def _emit(self, outputs: Sequence[Routed], *, publish: bool = True,
              store: bool = True) -> None:
        """Derived events to MQTT (unless ``publish`` is False: a journal replay) and to
        InfluxDB (unless ``store`` is False)."""
        if not outputs:
            return  # (most frames)
        lines = []
        alerts_changed: set[tuple[str, str]] = set()
        for topic, event in outputs:
            if publish:
                self._outbox.put_nowait((str(topic), event.to_json(), event.RETAINED))
                self.stats.published[event.TYPE] += 1
            tags = {"athlete": topic.athlete, "session": topic.session, "device": topic.device}
            if isinstance(event, AlertEvent):
                alerts_changed.add((topic.athlete, topic.session))
                meta = self._meta(topic)
                if meta is not None:
                    tags |= {"placement": meta.placement.value, "side": meta.side.value}
            line = to_line(event, tags)
            if line is not None:
                lines.append(line)
            if self.on_event is not None and publish:
                self.on_event(topic, event)
        for athlete, session in alerts_changed if publish else ():  # retained active alerts
            processor = self.router.sessions.get((athlete, session))
            if processor is not None:
                active = Topic(athlete, session, SESSION_DEVICE, Stream.ALERTS_ACTIVE)
                self._outbox.put_nowait((str(active), processor.alerts.active_payload(), True))
        if lines and store and self.writer is not None:
            self.writer.add(lines)

    def _meta(self, topic: Topic) -> DeviceMeta | None:
        processor = self.router.sessions.get((topic.athlete, topic.session))
        return processor.meta.get(topic.device) if processor is not None else None

