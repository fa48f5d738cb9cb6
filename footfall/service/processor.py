"""The live processor: MQTT in, steps/metrics/alerts out to MQTT and InfluxDB.

One persistent MQTT session (stable client id, ``clean_session=False``, QoS 1) so that data sent
while the processor restarts is queued by the broker, not lost. Derived events are published
from a queue that survives reconnects, and written to InfluxDB through the spooled writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import aiomqtt

from footfall.config.settings import Settings
from footfall.core.quarantine import Quarantine
from footfall.processing.alerts import alert_config
from footfall.processing.config import AnalysisConfig
from footfall.processing.session import SessionProcessor
from footfall.service import health
from footfall.storage.influx import SpooledWriter
from footfall.storage.lineprotocol import Event, to_line
from footfall.wire import frame as wire_frame
from footfall.wire.control import ControlCommand
from footfall.wire.events import AlertEvent, DeviceMeta, DeviceStatus, EventError, RscSample
from footfall.wire.topics import SESSION_DEVICE, Stream, Topic, TopicError, subscription

log = logging.getLogger(__name__)

INPUT_STREAMS = (Stream.IMU, Stream.RSC, Stream.META, Stream.STATUS)
#: how often silent devices are checked (the alert engine's ``tick``)
TICK_S = 1.0
EventCallback = Callable[[Topic, Event], None]


@dataclass
class ServiceStats:
    messages: int = 0
    frames: Counter[str] = field(default_factory=Counter)  # per "athlete/session/device"
    rsc_samples: int = 0
    malformed: int = 0
    published: Counter[str] = field(default_factory=Counter)  # per event type
    reconnects: int = 0


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
        writer: SpooledWriter | None,
        athlete: str = "+",
        session: str = "+",
        client_id: str = "footfall-processor",
        on_event: EventCallback | None = None,
        reconnect_s: float = 1.0,
        analysis: AnalysisConfig | None = None,
    ) -> None:
        self.settings = settings
        self.writer = writer
        self.athlete = athlete
        self.session = session
        self.client_id = client_id
        self.on_event = on_event
        self.reconnect_s = reconnect_s
        self.analysis = analysis
        self.stats = ServiceStats()
        self.quarantine = Quarantine(settings.state_dir / "quarantine")
        self.connected = asyncio.Event()
        self._sessions: dict[tuple[str, str], SessionProcessor] = {}
        self._meta: dict[tuple[str, str, str], DeviceMeta] = {}
        self._finished = False
        self._outbox: asyncio.Queue[tuple[str, bytes, bool]] = asyncio.Queue()

    async def run(self, stop: asyncio.Event) -> None:
        """Process until ``stop`` is set; then flush every stream's look-ahead."""
        stopper = asyncio.create_task(stop.wait())
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
                    log.warning("broker %s unreachable (%s); retrying in %.0f s",
                                self.settings.mqtt_url, exc, self.reconnect_s)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), self.reconnect_s)
        finally:
            stopper.cancel()
            heartbeat.cancel()
            self.connected.clear()
        # stopped while the broker was away: the last events still reach InfluxDB
        self._finish_all()

    async def _connected_session(self, stopper: asyncio.Task[bool]) -> None:
        client = aiomqtt.Client(
            self.settings.mqtt_host,
            self.settings.mqtt_port,
            username=self.settings.mqtt_username,
            password=(self.settings.mqtt_password.get_secret_value()
                      if self.settings.mqtt_password else None),
            identifier=self.client_id,
            clean_session=False,
            max_inflight_messages=100,
        )
        async with client:
            for stream in INPUT_STREAMS:
                await client.subscribe(subscription(self.athlete, self.session, "+", stream), qos=1)
            await client.subscribe(subscription(self.athlete, self.session, SESSION_DEVICE,
                                                Stream.CONTROL), qos=1)
            self.connected.set()
            self._beat()
            log.info("processor subscribed on %s", self.settings.mqtt_url)
            consumer = asyncio.create_task(self._consume(client))
            publisher = asyncio.create_task(self._publish(client))
            ticker = asyncio.create_task(self._tick())
            done, _ = await asyncio.wait({consumer, publisher, stopper},
                                         return_when=asyncio.FIRST_COMPLETED)
            if stopper in done:
                # the streams' last look-ahead, then everything queued, while still connected
                self._finish_all()
                await self._drain_outbox(client)
            tasks = (consumer, publisher, ticker)
            await _cancel_all(tasks)
            errors = [e for t in tasks if not t.cancelled() and (e := t.exception()) is not None]
            if errors and stopper not in done:
                raise errors[0]  # the connection broke: reconnect

    def _beat(self) -> None:
        health.write(self.settings.state_dir, {
            "connected": self.connected.is_set(),
            "messages": self.stats.messages,
            "malformed": self.stats.malformed,
            "reconnects": self.stats.reconnects,
            "spooled_batches": self.writer.stats.spooled_batches if self.writer else 0,
        })

    async def _heartbeat(self) -> None:
        while True:
            self._beat()
            await asyncio.sleep(health.INTERVAL_S)

    def _finish_all(self) -> None:
        if self._finished:
            return
        self._finished = True
        for (athlete, session), processor in self._sessions.items():
            self._emit(athlete, session, processor.finish())

    async def _consume(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            payload = message.payload
            body = payload if isinstance(payload, bytes | bytearray) else str(payload).encode()
            self.handle(str(message.topic), bytes(body))

    async def _tick(self) -> None:
        """Once a second: devices that went silent (no_data alerts, judged on arrival)."""
        while True:
            await asyncio.sleep(TICK_S)
            for (athlete, session), processor in list(self._sessions.items()):
                self._emit(athlete, session, processor.alerts.tick())

    async def _publish(self, client: aiomqtt.Client) -> None:
        while True:
            topic, payload, retain = await self._outbox.get()
            try:
                await client.publish(topic, payload, qos=1, retain=retain)
            except aiomqtt.MqttError:
                # keep it for the next connection; order within the queue is kept by re-queueing
                # everything behind it
                rest = [(topic, payload, retain)]
                while not self._outbox.empty():
                    rest.append(self._outbox.get_nowait())
                for item in rest:
                    self._outbox.put_nowait(item)
                raise

    async def _drain_outbox(self, client: aiomqtt.Client) -> None:
        while not self._outbox.empty():
            topic, payload, retain = self._outbox.get_nowait()
            await client.publish(topic, payload, qos=1, retain=retain)

    def handle(self, topic_text: str, payload: bytes) -> None:
        """Process one MQTT message (public so tests and replays can feed messages directly)."""
        self.stats.messages += 1
        try:
            topic = Topic.parse(topic_text)
        except TopicError as exc:
            self._reject(topic_text, str(exc), payload)
            return
        if topic.stream is Stream.CONTROL:
            self._control(topic.athlete, topic.session, topic_text, payload)
            return
        processor = self._session(topic.athlete, topic.session)
        key = (topic.athlete, topic.session, topic.device)
        try:
            if topic.stream is Stream.IMU:
                frame = wire_frame.decode(payload)
                self.stats.frames["/".join(key)] += 1
                outputs = processor.feed_frame(topic.device, frame)
            elif topic.stream is Stream.RSC:
                sample = RscSample.from_json(payload)
                self.stats.rsc_samples += 1
                outputs = processor.feed_rsc(topic.device, sample)
            elif topic.stream is Stream.META:
                if not payload:  # retained meta cleared
                    return
                meta = DeviceMeta.from_json(payload)
                self._meta[key] = meta
                processor.set_meta(topic.device, meta)
                return
            else:  # status: the sensor_offline alert
                if not payload:  # retained status cleared
                    return
                status = DeviceStatus.from_json(payload)
                log.info("device %s is %s", topic.device,
                         "online" if status.online else f"offline ({status.reason})")
                outputs = [*processor.alerts.device_status(topic.device, status.online,
                                                           reason=status.reason)]
        except (wire_frame.FrameError, EventError) as exc:
            self._reject(topic_text, exc.reason, payload)
            return
        self._emit(topic.athlete, topic.session, outputs)

    def _control(self, athlete: str, session: str, topic_text: str, payload: bytes) -> None:
        """A command from footfall monitor (docs/monitor.md): baseline now, or the target."""
        if not payload:  # the retained target was cleared
            return
        try:
            command = ControlCommand.from_json(payload)
        except EventError as exc:
            self._reject(topic_text, exc.reason, payload)
            return
        processor = self._session(athlete, session)
        log.info("control %s/%s: %s", athlete, session, command.to_dict())
        if command.action == "mark_baseline":
            processor.mark_baseline()  # from each device's latest sample, for baseline_s
            return
        self._emit(athlete, session, processor.alerts.set_target(
            cadence_spm=command.cadence_spm, increase_pct=command.increase_pct))

    def _session(self, athlete: str, session: str) -> SessionProcessor:
        processor = self._sessions.get((athlete, session))
        if processor is None:
            analysis = dataclasses.replace(self.analysis or AnalysisConfig(),
                                           alerts=alert_config(self.settings.alerts, athlete))
            processor = SessionProcessor(athlete, session, analysis)
            processor.alerts.clock = time.time_ns  # silence is judged on arrival
            self._sessions[(athlete, session)] = processor
            log.info("new session %s/%s", athlete, session)
        return processor

    def processor(self, athlete: str, session: str) -> SessionProcessor:
        return self._session(athlete, session)

    def _reject(self, source: str, reason: str, payload: bytes) -> None:
        self.stats.malformed += 1
        self.quarantine.put(source, reason, payload)

    def _emit(self, athlete: str, session: str, outputs: Sequence[tuple[str, Event]]) -> None:
        lines = []
        alerts_changed = False
        for device, event in outputs:
            stream = Stream(event.TYPE)
            topic = Topic(athlete, session, device, stream)
            self._outbox.put_nowait((str(topic), event.to_json(), False))
            alerts_changed = alerts_changed or isinstance(event, AlertEvent)
            self.stats.published[event.TYPE] += 1
            meta = self._meta.get((athlete, session, device))
            tags = {"athlete": athlete, "session": session, "device": device}
            if meta is not None:
                tags |= {"placement": meta.placement, "side": meta.side}
            line = to_line(event, tags)
            if line is not None:
                lines.append(line)
            if self.on_event is not None:
                self.on_event(topic, event)
        if alerts_changed:  # the retained set of active alerts, for late joiners
            active = Topic(athlete, session, SESSION_DEVICE, Stream.ALERTS_ACTIVE)
            payload = self._session(athlete, session).alerts.active_payload()
            self._outbox.put_nowait((str(active), payload, True))
        if lines and self.writer is not None:
            self.writer.add(lines)
