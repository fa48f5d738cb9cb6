"""The ingest gateway: one task group per device, BLE → parser → spool → MQTT.

Per device:

- a **BLE task** connects (through the injected :class:`~footfall.ingest.ble.Connector`),
  enables notifications, issues the device's start command, and waits for a disconnect; then
  backs off and does it all again (streams never resume on their own after a reconnect);
- the **notification callback** only stamps the receive time, copies the bytes and enqueues;
- a **parser task** runs the profile driver: malformed packets are counted, logged with the
  reason and set aside in the quarantine; frames go to the spool;
- a **publisher task** drains the spool to the broker in order (QoS 1) and keeps the retained
  ``meta`` and ``status`` (the latter also the MQTT last will).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from footfall.core.clock import Clock, SystemClock
from footfall.core.pacing import Pacer
from footfall.core.quarantine import Quarantine
from footfall.devices.errors import ParseError
from footfall.ingest.ble import BLE_ERRORS, Connector
from footfall.ingest.drivers import DeviceSpec, DeviceStats, Driver, make_driver
from footfall.ingest.errors import DeviceError
from footfall.ingest.publisher import Backoff, SpoolPublisher
from footfall.ingest.spool import Spool
from footfall.recordings.session_file import SessionWriter, iter_notifications, read_ble_devices
from footfall.wire import frame as wire_frame
from footfall.wire.events import DeviceStatus, RscSample
from footfall.wire.frame import ImuFrame
from footfall.wire.mqtt import BrokerConfig
from footfall.wire.topics import Stream, Topic

log = logging.getLogger(__name__)

_RETRY_ERRORS: tuple[type[BaseException], ...] = (*BLE_ERRORS, DeviceError)
#: how often (in frames) the next seq is saved, with as much headroom (see _resume_seq)
SEQ_SAVE_EVERY = 1000

#: a queued notification: (characteristic UUID, bytes, receive time in UTC ns); ``None`` marks
#: a reconnect (everything after it came over a new connection)
Item = tuple[str, bytes, int] | None


class Recorder:
    """The session as a session file (docs/session-format.md), for replay and analysis: every
    raw BLE notification before parsing (with each device's spec), and every message the
    gateway publishes. ``footfall ingest --replay`` re-parses the former; ``footfall replay``
    and ``footfall analyze`` read the latter, like any session file."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._writer = SessionWriter(path, source="ingest")
        self.count = 0

    def write_spec(self, spec: DeviceSpec) -> None:
        self._writer.add_ble_device({k: "" if v is None else str(v)
                                     for k, v in dataclasses.asdict(spec).items()}
                                    | {"device_id": spec.id})

    def write(self, device: str, char_uuid: str, data: bytes, t_ns: int) -> None:
        self._writer.write_notification(device, char_uuid, data, log_time_ns=t_ns)
        self.count += 1

    def write_message(self, topic: str, payload: bytes, t_ns: int) -> None:
        self._writer.write(topic, payload, log_time_ns=t_ns)

    def close(self) -> None:
        self._writer.close()


_SPEC_FIELDS = frozenset(f.name for f in dataclasses.fields(DeviceSpec))


def read_recording_specs(path: Path) -> list[DeviceSpec]:
    """The devices of a recording made with ``footfall ingest --record``."""
    specs = []
    for raw in read_ble_devices(path):
        fields: dict[str, Any] = {k: v for k, v in raw.items() if k in _SPEC_FIELDS}
        for key in ("sample_rate_hz", "accel_range_g"):
            fields[key] = int(fields[key]) if fields.get(key) else None
        specs.append(DeviceSpec(**fields))
    return specs


@dataclass
class SessionConfig:
    athlete: str
    session: str
    broker: BrokerConfig
    state_dir: Path
    queue_size: int = 10_000
    ble_backoff: Backoff = field(default_factory=lambda: Backoff(initial_s=0.5, max_s=30.0))


class DeviceSession:
    """Everything for one device; :meth:`run` until cancelled, or :meth:`stop` cleanly."""

    def __init__(self, spec: DeviceSpec, config: SessionConfig, connector: Connector, *,
                 clock: Clock | None = None, recorder: Recorder | None = None,
                 quarantine: Quarantine | None = None) -> None:
        self.spec = spec
        self.config = config
        self.connector = connector
        self.clock: Clock = clock or SystemClock()
        self.recorder = recorder
        self.stats = DeviceStats()
        self.quarantine = quarantine or Quarantine(config.state_dir / "quarantine")
        self.driver: Driver = make_driver(spec, set_aside=self._set_aside, stats=self.stats)
        self.topics = {s: str(Topic(config.athlete, config.session, spec.id, s)) for s in Stream}
        spool_dir = config.state_dir / "spool" / "ingest" / \
            f"{config.athlete}.{config.session}.{spec.id}"
        offline = DeviceStatus(online=False, reason="gateway-lost").to_json()
        self.publisher = SpoolPublisher(
            broker=config.broker, spool=Spool(spool_dir),
            client_id=f"footfall-ingest-{config.athlete}-{config.session}-{spec.id}",
            will_topic=self.topics[Stream.STATUS], will_payload=offline)
        self._seq_file = spool_dir / "next_seq"
        self.driver.seq = self._resume_seq()
        if self.driver.seq:
            self.driver.mark_discontinuity()  # continuity with the earlier run is unknown
        self.queue: asyncio.Queue[Item] = asyncio.Queue(config.queue_size)
        self.backoff = dataclasses.replace(config.ble_backoff)  # one per device
        self.client: Any = None
        self._tasks: list[asyncio.Task[None]] = []
        self.streaming = asyncio.Event()

    # ---------------------------------------------------------------- callback (thin)
    def _callback(self, char_uuid: str) -> Callable[[Any, bytearray], None]:
        def on_notify(_char: Any, data: bytearray) -> None:
            try:
                self.queue.put_nowait((char_uuid, bytes(data), self.clock.utc_ns()))
            except asyncio.QueueFull:
                self.stats.queue_overflows += 1
                log.error("%s: notification queue full (%d): notification dropped",
                          self.spec.id, self.config.queue_size)
        return on_notify

    async def inject(self, char_uuid: str, data: bytes, recv_utc_ns: int) -> None:
        """Queue a notification as if it had just arrived (replays; waits when the queue is
        full instead of dropping)."""
        await self.queue.put((char_uuid, data, recv_utc_ns))

    def _resume_seq(self) -> int:
        """Continue the frame numbering of an earlier run of this athlete/session/device.

        Consumers drop frames whose ``seq`` is not ahead of the last one, so a restarted gateway
        must not start again at 0. The newest record in the spool gives the exact last seq; the
        ``next_seq`` file (written at stop, and every ``SEQ_SAVE_EVERY`` frames with that much
        headroom) covers a spool whose tail was already deleted.
        """
        candidates = [0]
        last = self.publisher.spool.last_record()
        if last is not None:
            with contextlib.suppress(ValueError):
                if last.topic == self.topics[Stream.IMU]:
                    candidates.append(wire_frame.decode(last.payload).seq + 1)
                elif last.topic == self.topics[Stream.RSC]:
                    candidates.append(RscSample.from_json(last.payload).seq + 1)
        with contextlib.suppress(OSError, ValueError):
            candidates.append(int(self._seq_file.read_text()))
        if max(candidates):
            log.info("%s: continuing an earlier run at seq %d", self.spec.id, max(candidates))
        return max(candidates)

    def _save_seq(self, value: int) -> None:
        tmp = self._seq_file.with_suffix(".tmp")
        tmp.write_text(str(value))
        tmp.replace(self._seq_file)

    def _set_aside(self, reason: str, data: bytes) -> None:
        self.quarantine.put(f"{self.spec.id}/{self.spec.profile}", reason, data)

    def _status(self, online: bool, reason: str, *, final: bool = False) -> None:
        self._state(Stream.STATUS, DeviceStatus(online=online, reason=reason,
                                                final=final).to_json())

    def _state(self, stream: Stream, payload: bytes) -> None:
        """A retained state message (meta, status): published now and after reconnects."""
        self.publisher.set_state(self.topics[stream], payload)
        if self.recorder is not None:
            self.recorder.write_message(self.topics[stream], payload, self.clock.utc_ns())

    # ---------------------------------------------------------------- tasks
    async def run(self, *, ble: bool = True) -> None:
        """Run until cancelled or stopped; ``ble=False`` for a replay fed by :meth:`inject`."""
        self._state(Stream.META, self.driver.meta().to_json())
        self._status(False, "connecting" if ble else "replaying")
        self._tasks = [asyncio.create_task(self.publisher.run(), name=f"{self.spec.id}-mqtt"),
                       asyncio.create_task(self._parse_loop(), name=f"{self.spec.id}-parse")]
        if ble:
            self._tasks.append(asyncio.create_task(self._ble_loop(), name=f"{self.spec.id}-ble"))
        try:
            # stop() cancels the BLE task first and the others once drained: wait for all
            await asyncio.gather(*self._tasks, return_exceptions=True)
        finally:
            for t in self._tasks:
                t.cancel()

    async def _ble_loop(self) -> None:
        first = True
        while True:
            if not first:
                await self.queue.put(None)
                delay = self.backoff.next()
                log.info("%s: reconnecting in %.1f s", self.spec.id, delay)
                await asyncio.sleep(delay)
            first = False
            lost = asyncio.Event()
            try:
                self.client = await self.connector.connect(self.spec, lost.set)
                self.stats.connects += 1
                for uuid in self.driver.notify_uuids:
                    await self.client.start_notify(uuid, self._callback(uuid))
                await self.driver.start(self.client)
                log.info("%s: %s streaming (%s)", self.spec.id, self.spec.profile,
                         self.spec.address)
                self._status(True, "streaming")
                self.streaming.set()
                self.backoff.reset()
                await lost.wait()
                self.stats.disconnects += 1
                log.warning("%s: BLE link lost", self.spec.id)
                self._status(False, "ble-disconnected")
            except _RETRY_ERRORS as exc:
                log.warning("%s: cannot stream from %s: %s", self.spec.id, self.spec.address, exc)
                self._status(False, f"ble-unreachable: {exc}"[:200])
            except Exception as exc:  # a bug must not end the device's reconnect loop
                log.exception("%s: unexpected error on the BLE side", self.spec.id)
                self._status(False, f"error: {exc!r}"[:200])
            finally:
                self.streaming.clear()
                await self._disconnect()

    async def _disconnect(self) -> None:
        client, self.client = self.client, None
        if client is not None and client.is_connected:
            with contextlib.suppress(*BLE_ERRORS):
                await client.disconnect()

    async def _parse_loop(self) -> None:
        while True:
            item = await self.queue.get()
            try:
                if item is None:
                    self.driver.on_reconnect()
                else:
                    self.handle(*item)
            except Exception as exc:  # a driver bug (or a full disk) must not stop the device
                log.exception("%s: internal error while handling a notification", self.spec.id)
                if item is not None:
                    try:
                        self.driver.reject(f"internal error: {exc!r}", item[1])
                    except OSError:
                        log.exception("%s: cannot even quarantine it", self.spec.id)
            finally:
                self.queue.task_done()

    def handle(self, char_uuid: str, data: bytes, recv_utc_ns: int) -> None:
        """Parse one notification and spool what it yields (also the offline replay path)."""
        self.stats.notifications += 1
        if self.recorder is not None:
            self.recorder.write(self.spec.id, char_uuid, data, recv_utc_ns)
        try:
            outputs = self.driver.handle(char_uuid, data, recv_utc_ns)
        except ParseError as exc:
            self.driver.reject(exc.reason, data)
            return
        self._spool(outputs)
        if self.driver.meta_dirty:
            self.driver.meta_dirty = False
            self._state(Stream.META, self.driver.meta().to_json())

    def _spool(self, outputs: list[ImuFrame | RscSample]) -> None:
        if outputs and self.driver.seq // SEQ_SAVE_EVERY != \
                (self.driver.seq - len(outputs)) // SEQ_SAVE_EVERY:
            self._save_seq(self.driver.seq + SEQ_SAVE_EVERY)
        for out in outputs:
            if isinstance(out, RscSample):
                topic, payload = self.topics[Stream.RSC], out.to_json()
            else:
                topic, payload = self.topics[Stream.IMU], wire_frame.encode(out)
            self.publisher.enqueue(topic, payload)
            if self.recorder is not None:
                self.recorder.write_message(topic, payload, self.clock.utc_ns())

    async def stop(self, drain_timeout_s: float = 10.0) -> bool:
        """Stop BLE, publish what is queued, say offline; True if nothing was left behind."""
        for t in self._tasks:
            if t.get_name().endswith("-ble"):
                t.cancel()
        await self._disconnect()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.queue.join(), drain_timeout_s)
        self._spool(self.driver.flush())
        self._status(False, "stopped", final=True)
        self._save_seq(self.driver.seq)
        drained = await self.publisher.drained(drain_timeout_s)
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self.publisher.spool.close()
        return drained


class Gateway:
    """Several devices at once (a runner usually wears two)."""

    def __init__(self, specs: list[DeviceSpec], config: SessionConfig, connector: Connector, *,
                 clock: Clock | None = None, recorder: Recorder | None = None) -> None:
        ids = [s.id for s in specs]
        if len(set(ids)) != len(ids):
            raise DeviceError(",".join(ids), "two devices share a device id: give each its own "
                                             "placement/side or device id")
        self.clock = clock or SystemClock()
        quarantine = Quarantine(config.state_dir / "quarantine")
        self.sessions = [DeviceSession(s, config, connector, clock=self.clock,
                                       recorder=recorder, quarantine=quarantine) for s in specs]
        if recorder is not None:
            for spec in specs:
                recorder.write_spec(spec)

    async def run(self, *, ble: bool = True) -> None:
        await asyncio.gather(*(s.run(ble=ble) for s in self.sessions))

    async def replay(self, path: Path, *, speed: float | None = 1.0) -> int:
        """Feed a ``--record`` file's notifications through the parsers to the broker (run
        with ``ble=False``).

        Receive times are shifted so the recording starts now; ``speed``: × real time
        (``None`` or 0: as fast as the pipeline takes it). Returns the notifications replayed.
        """
        by_id = {s.spec.id: s for s in self.sessions}
        pacer = Pacer(speed)
        shift = first = None
        count = 0
        for note in iter_notifications(path):
            session = by_id.get(note.device)
            if session is None:
                continue
            if first is None:
                first, shift = note.recv_utc_ns, self.clock.utc_ns() - note.recv_utc_ns
            await pacer.wait_until((note.recv_utc_ns - first) / 1e9)
            await session.inject(note.char_uuid, note.data, note.recv_utc_ns + (shift or 0))
            count += 1
        return count

    async def stop(self, drain_timeout_s: float = 10.0) -> bool:
        results = await asyncio.gather(*(s.stop(drain_timeout_s) for s in self.sessions))
        return all(results)
