"""End to end: two emulated devices → gateway → a real Mosquitto → a sequence-checking subscriber.

The session includes garbage packets, a BLE disconnect/reconnect of both devices (start commands
must be re-issued), counter wrap-around on the open-frame IMU, and a broker restart mid-stream
(the gateway spools on disk and replays in order). Every sample the devices generated must be
accounted for: received, or reported lost by a FLAG_GAP_BEFORE frame whose sensor time says
exactly how many samples are missing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Callable
from pathlib import Path

import aiomqtt
import numpy as np
import pytest

from footfall.devices import footfall_open as ffo
from footfall.devices import polar_pmd as pmd
from footfall.ingest.ble import BleakConnector
from footfall.ingest.drivers import DeviceSpec
from footfall.ingest.gateway import Gateway, SessionConfig
from footfall.ingest.publisher import Backoff
from footfall.simulators.devices.ble import EmulatorHub, EmulatorLink
from footfall.simulators.devices.footfall_open import OpenImu
from footfall.simulators.devices.polar_pmd import PolarAcc
from footfall.wire import frame as wire
from footfall.wire.events import DeviceMeta, DeviceStatus
from footfall.wire.mqtt import BrokerConfig
from footfall.wire.topics import Topic, subscription

from .conftest import Broker

SAMPLES_PER_FRAME = 10
OPEN_ADDR, POLAR_ADDR = "EE:00:00:00:00:01", "EE:00:00:00:00:02"


async def until(cond: Callable[[], bool], what: str, timeout_s: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not cond():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.02)


class Subscriber:
    """Persistent-session QoS 1 subscriber that survives broker restarts."""

    def __init__(self, broker: Broker, athlete: str, session: str) -> None:
        self.broker, self.filter = broker, subscription(athlete, session)
        self.client_id = f"test-sub-{uuid.uuid4().hex[:8]}"
        self.messages: list[tuple[str, bytes, bool]] = []
        self.subscribed = asyncio.Event()

    async def run(self) -> None:
        while True:
            try:
                async with aiomqtt.Client(self.broker.host, self.broker.port,
                                          identifier=self.client_id,
                                          clean_session=False) as client:
                    await client.subscribe(self.filter, qos=1)
                    self.subscribed.set()
                    async for msg in client.messages:
                        payload = msg.payload
                        if isinstance(payload, bytes | bytearray):
                            self.messages.append((str(msg.topic), bytes(payload),
                                                  bool(msg.retain)))
            except aiomqtt.MqttError:
                await asyncio.sleep(0.1)

    def frames(self, device: str) -> list[wire.ImuFrame]:
        return [wire.decode(p) for t, p, _ in self.messages
                if Topic.parse(t).device == device and t.endswith("/imu")]

    def last(self, device: str, stream: str) -> bytes | None:
        found = [p for t, p, _ in self.messages
                 if Topic.parse(t).device == device and t.endswith("/" + stream)]
        return found[-1] if found else None


class OpenRun:
    """Drives the open-frame IMU: sample index k is encoded as (k % 30000, k // 30000, 1000)."""

    def __init__(self, link: EmulatorLink, imu: OpenImu) -> None:
        self.link, self.imu, self.generated = link, imu, 0

    def tick(self) -> None:
        k = self.generated
        samples = [(i % 30000, i // 30000, 1000) for i in range(k, k + SAMPLES_PER_FRAME)]
        data = self.imu.frame(samples)  # the board samples whether or not anyone listens
        self.generated += SAMPLES_PER_FRAME
        self.link.notify([(ffo.DATA_UUID, data)] if self.imu.streaming else [])
        if not self.imu.streaming:
            self.link.lost += 1


class PolarRun:
    """Drives the Polar: sample index k is (k % 8000 - 4000, k // 8000, 1000) mG; the sensor
    clock runs on while the stream is stopped (so a reconnect shows as a time gap)."""

    PERIOD_NS = 5_000_000  # 200 Hz

    def __init__(self, link: EmulatorLink, dev: PolarAcc) -> None:
        self.link, self.dev, self.generated = link, dev, 0
        self.clock_ns = 10**18  # ns since 2000, whatever the strap believes

    def tick(self) -> None:
        self.clock_ns += SAMPLES_PER_FRAME * self.PERIOD_NS
        if not self.dev.streaming:
            return
        k = self.generated
        samples = [(i % 8000 - 4000, i // 8000, 1000) for i in range(k, k + SAMPLES_PER_FRAME)]
        self.generated += SAMPLES_PER_FRAME
        self.link.notify(self.dev.frame(samples, self.clock_ns - self.PERIOD_NS))


async def run_ticks(runs: list[OpenRun | PolarRun], n: int) -> None:
    for _ in range(n):
        for r in runs:
            r.tick()
        await asyncio.sleep(0.002)


def unique_by_seq(frames: list[wire.ImuFrame]) -> list[wire.ImuFrame]:
    """At-least-once delivery: keep the first copy of each seq, check first copies are ordered."""
    seen: dict[int, wire.ImuFrame] = {}
    order = []
    for f in frames:
        if f.seq not in seen:
            seen[f.seq] = f
            order.append(f.seq)
    assert order == sorted(order), "frames arrived out of order"
    return [seen[s] for s in order]


async def test_two_devices_disconnect_broker_restart_garbage(
        ingest_broker: Broker, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    athlete, session = "runner1", f"s{uuid.uuid4().hex[:8]}"
    hub = EmulatorHub()
    # counters start near their wrap: seq wraps after 36 frames, t_us after 600 samples (3 s)
    imu = OpenImu(sample_rate_hz=200, accel_range_g=16, seq=65500, t0_us=2**32 - 3_000_000)
    polar = PolarAcc(compressed=True)
    open_run = OpenRun(hub.add(OPEN_ADDR, imu), imu)
    polar_run = PolarRun(hub.add(POLAR_ADDR, polar), polar)
    runs: list[OpenRun | PolarRun] = [open_run, polar_run]

    specs = [DeviceSpec(OPEN_ADDR, "footfall", "tibia", "left"),
             DeviceSpec(POLAR_ADDR, "polar-pmd", "chest", "none", accel_range_g=8)]
    config = SessionConfig(athlete, session, BrokerConfig(ingest_broker.host, ingest_broker.port),
                           tmp_path / "state", ble_backoff=Backoff(initial_s=0.05, max_s=0.2))
    connector = BleakConnector(client_class=hub.client_class(), find_device=hub.find_device)
    gateway = Gateway(specs, config, connector)
    tibia, chest = gateway.sessions

    sub = Subscriber(ingest_broker, athlete, session)
    sub_task = asyncio.create_task(sub.run())
    await asyncio.wait_for(sub.subscribed.wait(), 10)
    gw_task = asyncio.create_task(gateway.run())
    try:
        await until(lambda: imu.streaming and polar.streaming, "both devices streaming")

        # phase 1: clean streaming, across the open frame's seq and t_us wrap
        await run_ticks(runs, 80)
        # garbage: a wrong-version open frame, a truncated PMD frame, an unknown PMD frame type
        open_run.link.notify([(ffo.DATA_UUID, b"\x00garbage")])
        polar_run.link.notify([(pmd.DATA_UUID, bytes.fromhex("0200")),
                               (pmd.DATA_UUID, bytes.fromhex("02 00 94 35 77 00 00 00 00 05 00"))])

        # phase 2: both BLE links drop; the IMU keeps sampling (lost), the strap's clock runs on
        hub.links[OPEN_ADDR].drop()
        hub.links[POLAR_ADDR].drop()
        await run_ticks(runs, 5)
        await until(lambda: imu.streaming and polar.streaming, "both devices streaming again")
        await run_ticks(runs, 60)

        # phase 3: broker down mid-stream; the gateway spools on disk
        await until(lambda: tibia.publisher.spool.pending == 0, "spool drained before outage")
        ingest_broker.stop()
        await run_ticks(runs, 60)
        await until(lambda: tibia.publisher.spool.pending > 0 and chest.publisher.spool.pending > 0,
                    "frames spooled during the outage")
        spooled_during_outage = tibia.publisher.spool.pending
        ingest_broker.start()
        await run_ticks(runs, 60)
        drained = await gateway.stop(drain_timeout_s=20)
        assert drained, "spool not drained after the broker came back"
    finally:
        gw_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await gw_task

    published = {s.spec.id: s.driver.seq for s in gateway.sessions}
    await until(lambda: len({f.seq for f in sub.frames("tibia-left")}) >= published["tibia-left"]
                and len({f.seq for f in sub.frames("chest")}) >= published["chest"],
                "every published frame at the subscriber")
    sub_task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await sub_task

    # ---- the open-frame IMU: every generated sample received or reported lost, exactly
    frames = unique_by_seq(sub.frames("tibia-left"))
    assert [f.seq for f in frames] == list(range(published["tibia-left"]))
    received = 0
    expected_k, expected_t = 0, None
    gap_frames = []
    for f in frames:
        k = int(f.counts[0, 0]) + 30000 * int(f.counts[0, 1])
        if expected_t is not None:
            missing = k - expected_k
            assert missing >= 0
            assert (f.sensor_time_us - expected_t) == missing * 5000  # sensor time tells the gap
            if missing:
                assert f.flags & wire.FLAG_GAP_BEFORE, f"unflagged gap before frame {f.seq}"
                gap_frames.append((f.seq, missing))
            else:
                assert not f.flags & wire.FLAG_GAP_BEFORE, f"false gap before frame {f.seq}"
        ks = f.counts[:, 0].astype(np.int64) + 30000 * f.counts[:, 1].astype(np.int64)
        assert list(ks) == list(range(k, k + f.n_samples))
        received += f.n_samples
        expected_k, expected_t = k + f.n_samples, f.sensor_time_us + f.n_samples * 5000
    lost_on_air = open_run.link.lost * SAMPLES_PER_FRAME
    assert received + lost_on_air == open_run.generated
    assert gap_frames == [(gap_frames[0][0], lost_on_air)] and lost_on_air == 5 * SAMPLES_PER_FRAME
    assert tibia.stats.gaps == 1 and tibia.stats.lost_samples == lost_on_air

    # ---- the Polar (delta frames): nothing sampled is missing; the restart is one flagged gap
    frames = unique_by_seq(sub.frames("chest"))
    assert [f.seq for f in frames] == list(range(published["chest"]))
    mg = np.rint(np.concatenate([f.counts for f in frames]).astype(np.float64)
                 * (8000 / 32768)).astype(np.int64)
    ks = (mg[:, 0] + 4000) + 8000 * mg[:, 1]
    assert list(ks) == list(range(polar_run.generated))
    assert [bool(f.flags & wire.FLAG_GAP_BEFORE) for f in frames].count(True) == 1

    # ---- start commands were re-issued after the reconnect
    assert imu.commands == [ffo.build_start()] * 2
    assert [c for c in polar.commands if c[0] == pmd.OP_START] == [pmd.build_start()] * 2
    assert hub.links[OPEN_ADDR].connects == 2 and hub.links[POLAR_ADDR].connects == 2

    # ---- the broker restart: a reconnect, and what was spooled got through (checked above)
    assert spooled_during_outage > 0
    assert tibia.publisher.stats.connects >= 2 and chest.publisher.stats.connects >= 2

    # ---- garbage: counted, logged with the reason, kept in the quarantine
    assert (tibia.stats.rejected, chest.stats.rejected) == (1, 2)
    reasons = [r.getMessage() for r in caplog.records if "malformed" in r.getMessage()]
    assert any("8 bytes is shorter than the 14-byte header" in r for r in reasons)
    assert any("unsupported frame type 0x05" in r for r in reasons)
    kept = [json.loads(line) for p in (tmp_path / "state" / "quarantine").glob("*.jsonl")
            for line in p.read_text().splitlines()]
    assert sorted(k["payload_hex"] for k in kept) == sorted(
        [b"\x00garbage".hex(), "0200", "0200943577000000000500"])

    # ---- retained meta and the final status
    meta = DeviceMeta.from_json(sub.last("tibia-left", "meta") or b"")
    assert (meta.profile, meta.placement, meta.side) == ("footfall", "tibia", "left")
    assert DeviceStatus.from_json(sub.last("chest", "status") or b"") == \
        DeviceStatus(online=False, reason="stopped")


async def test_killed_gateway_leaves_the_last_will(ingest_broker: Broker, tmp_path: Path) -> None:
    import signal
    import sys

    athlete, session = "runner3", f"s{uuid.uuid4().hex[:8]}"
    sub = Subscriber(ingest_broker, athlete, session)
    sub_task = asyncio.create_task(sub.run())
    await asyncio.wait_for(sub.subscribed.wait(), 10)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "footfall", "ingest", "--emulate", "--duration", "60",
        "--mqtt-url", ingest_broker.url, "--state-dir", str(tmp_path), "--athlete", athlete,
        "--session", session, "--device", "EE:00:00:00:00:01:footfall:tibia:left",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    try:
        def status() -> DeviceStatus | None:
            raw = sub.last("tibia-left", "status")
            return DeviceStatus.from_json(raw) if raw else None

        await until(lambda: status() == DeviceStatus(online=True, reason="streaming"),
                    "the device online", timeout_s=30)
        proc.send_signal(signal.SIGKILL)  # no clean DISCONNECT: the broker sends the will
        await proc.wait()
        await until(lambda: status() == DeviceStatus(online=False, reason="gateway-lost"),
                    "the last will", timeout_s=30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        sub_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sub_task
