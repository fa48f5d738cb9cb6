"""Profile drivers on hand-made timelines, and the other three profiles through the gateway."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from pathlib import Path

import numpy as np
import pytest

from footfall.devices import footfall_open as ffo
from footfall.devices import movesense, rsc, witmotion
from footfall.ingest.ble import BleakConnector
from footfall.ingest.drivers import (
    DeviceSpec,
    MovesenseDriver,
    OpenFrameDriver,
    RscDriver,
    WitMotionDriver,
)
from footfall.ingest.gateway import Gateway, Recorder, SessionConfig
from footfall.ingest.publisher import Backoff
from footfall.recordings.session_file import iter_notifications, read_ble_devices
from footfall.simulators.devices import footfall_open as ffo_emu
from footfall.simulators.devices import witmotion as wit_emu
from footfall.simulators.devices.ble import EmulatorHub
from footfall.simulators.devices.movesense import MovesenseImu
from footfall.simulators.devices.rsc import RscPod
from footfall.simulators.devices.witmotion import WitMotionImu
from footfall.wire import frame as wire
from footfall.wire.events import RscSample
from footfall.wire.mqtt import BrokerConfig
from footfall.wire.topics import Stream

from .conftest import Broker
from .test_gateway_e2e import Subscriber, until

T0 = 1_795_000_000_000_000_000


def _wit_notification(k: int) -> bytes:
    return wit_emu.encode((k % 30000, k // 30000, 2048), (1, 2, 3), (0, 0, 0))


def _imu(outputs: list[wire.ImuFrame | RscSample]) -> list[wire.ImuFrame]:
    return [o for o in outputs if isinstance(o, wire.ImuFrame)]


def test_witmotion_gap_inferred_from_receive_times() -> None:
    drv = WitMotionDriver(DeviceSpec("A", "witmotion", "tibia", "left", sample_rate_hz=100))
    frames: list[wire.ImuFrame] = []
    k = 0
    for i in range(300):  # 3 s at 100 Hz, one frame per notification, 5-25 ms latency
        recv = T0 + i * 10_000_000 + (5 + (i * 7) % 20) * 1_000_000
        frames += _imu(drv.handle(witmotion.NOTIFY_UUID, _wit_notification(k), recv))
        k += 1
    # 50 notifications (0.5 s) never arrive
    k += 50
    for i in range(350, 400):
        recv = T0 + i * 10_000_000 + 10_000_000
        frames += _imu(drv.handle(witmotion.NOTIFY_UUID, _wit_notification(k), recv))
        k += 1
    flagged = [f for f in frames if f.flags & wire.FLAG_GAP_BEFORE]
    assert len(flagged) == 1 and drv.stats.gaps == 1
    assert drv.stats.lost_samples == pytest.approx(50, abs=3)
    assert frames[0].channels == 6 and frames[0].accel_range_g == 16
    assert frames[0].gyro_range_dps == 2000


def test_open_frame_reboot_is_a_reset_not_a_backwards_clock() -> None:
    drv = OpenFrameDriver(DeviceSpec("A", "footfall", "tibia", "left"))
    frames = [drv.handle("", ffo_emu.encode(s, 1_000_000 + s * 50_000, 200, 16, [(1, 2, 3)] * 10),
                         T0 + s * 50_000_000)[0] for s in range(5)]
    drv.on_reconnect()
    after = drv.handle("", ffo_emu.encode(0, 0, 200, 16, [(1, 2, 3)] * 10), T0 + 10**9)[0]
    assert isinstance(after, wire.ImuFrame) and isinstance(frames[-1], wire.ImuFrame)
    assert after.flags & wire.FLAG_GAP_BEFORE and drv.stats.clock_resets == 1
    assert after.sensor_time_us > frames[-1].sensor_time_us  # sensor time never runs backwards


@pytest.mark.parametrize("mode,raws,want", [
    ("auto", [85, 86, 120], [170, 172, 240]),  # first running value < 120: per-leg for good
    ("auto", [170, 90], [170, 90]),  # steps/min pod: later low values are not doubled
    ("1", [85], [85]),
    ("2", [170], [340]),
])
def test_rsc_cadence_multiplier(mode: str, raws: list[int], want: list[int]) -> None:
    drv = RscDriver(DeviceSpec("A", "rsc", "foot", "left",
                               cadence_multiplier=mode))  # type: ignore[arg-type]
    got = []
    for i, raw in enumerate(raws):
        [sample] = drv.handle(rsc.MEASUREMENT_UUID, bytes([rsc.FLAG_RUNNING, 0, 3, raw]),
                              T0 + i * 10**9)
        assert isinstance(sample, RscSample)
        got.append(sample.cadence_spm)
    assert got == want


def test_rsc_auto_waits_for_a_running_measurement() -> None:
    drv = RscDriver(DeviceSpec("A", "rsc", "foot", "left"))
    [walking] = drv.handle(rsc.MEASUREMENT_UUID, bytes([0, 0, 1, 55]), T0)
    assert isinstance(walking, RscSample) and walking.cadence_spm == 55 and drv.multiplier is None


def test_movesense_driver_refuses_unknown_rate() -> None:
    from footfall.core.errors import SettingError

    with pytest.raises(SettingError, match="not 200"):
        MovesenseDriver(DeviceSpec("A", "movesense", "tibia", "left", sample_rate_hz=200))


async def test_rsc_movesense_witmotion_through_gateway(ingest_broker: Broker,
                                                       tmp_path: Path) -> None:
    athlete, session = "runner2", f"s{uuid.uuid4().hex[:8]}"
    hub = EmulatorHub()
    pod, ms, wit = RscPod(convention="per-leg"), MovesenseImu(max_notification=100), \
        WitMotionImu()
    links = {"pod": hub.add("EE:00:00:00:01:01", pod), "ms": hub.add("EE:00:00:00:01:02", ms),
             "wit": hub.add("EE:00:00:00:01:03", wit)}
    specs = [DeviceSpec("EE:00:00:00:01:01", "rsc", "foot", "right"),
             DeviceSpec("EE:00:00:00:01:02", "movesense", "tibia", "right", sample_rate_hz=208),
             DeviceSpec("EE:00:00:00:01:03", "witmotion", "tibia", "left", sample_rate_hz=200)]
    config = SessionConfig(athlete, session, BrokerConfig(ingest_broker.host, ingest_broker.port),
                           tmp_path / "state", ble_backoff=Backoff(initial_s=0.05, max_s=0.2))
    recorder = Recorder(tmp_path / "raw.mcap")
    gateway = Gateway(specs, config, BleakConnector(client_class=hub.client_class(),
                                                    find_device=hub.find_device),
                      recorder=recorder)
    sub = Subscriber(ingest_broker, athlete, session)
    sub_task = asyncio.create_task(sub.run())
    await asyncio.wait_for(sub.subscribed.wait(), 10)
    gw_task = asyncio.create_task(gateway.run())
    ms_k = wit_k = 0

    async def emit(n: int) -> None:
        nonlocal ms_k, wit_k
        for _ in range(n):
            links["pod"].notify([(rsc.MEASUREMENT_UUID, pod.measurement(speed_mps=3.2,
                                                                         cadence_spm=172))])
            # 8 Movesense samples per message: 100-byte notifications force DATA_PART2
            samples = [(float(k % 100), 1.0, 9.80665) for k in range(ms_k, ms_k + 8)]
            links["ms"].notify(ms.acc(round(ms_k * 1000 / 208), samples))
            ms_k += 8 if ms.streaming else 0
            stream = b"".join(_wit_notification(k) for k in range(wit_k, wit_k + 4))
            if wit.streaming:
                links["wit"].notify((witmotion.NOTIFY_UUID, c)
                                    for c in wit_emu.chunk(stream, [7, 33, 20, 13, 7]))
                wit_k += 4
            await asyncio.sleep(0.002)

    try:
        def started(times: int) -> bool:
            return all(s.streaming.is_set() for s in gateway.sessions) and all(
                link.connects == times for link in links.values())

        await until(lambda: started(1), "all streaming")
        await emit(30)
        for link in links.values():
            link.drop()
        await until(lambda: started(2), "all back")
        await emit(30)
        assert await gateway.stop(drain_timeout_s=20)
    finally:
        gw_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await gw_task
        recorder.close()
    seqs = {s.spec.id: s.driver.seq for s in gateway.sessions}
    await until(lambda: all(len({f.seq for f in sub.frames(d)}) >= seqs[d]
                            for d in ("tibia-right", "tibia-left")), "all frames")
    sub_task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await sub_task

    # foot pod: per-leg 86 → 172 steps/min (auto), one sample per notification delivered
    rsc_msgs = [RscSample.from_json(p) for t, p, _ in sub.messages if t.endswith("/rsc")]
    assert len(rsc_msgs) == links["pod"].delivered
    assert {m.cadence_spm for m in rsc_msgs} == {172.0}
    # Movesense: every sample, in order, in m/s² → counts at ±16 g
    ms_frames = sorted({f.seq: f for f in sub.frames("tibia-right")}.values(), key=lambda f: f.seq)
    xs = np.concatenate([f.accel_g()[:, 0] for f in ms_frames]) * 9.80665
    assert np.allclose(xs, np.arange(ms_k) % 100, atol=0.01)
    # WitMotion: every frame despite arbitrary notification splits; raw counts pass through
    wit_frames = sorted({f.seq: f for f in sub.frames("tibia-left")}.values(), key=lambda f: f.seq)
    counts = np.concatenate([f.counts for f in wit_frames])
    ks = counts[:, 0].astype(np.int64) + 30000 * counts[:, 1].astype(np.int64)
    assert list(ks) == list(range(wit_k)) and (counts[:, 3:] == [1, 2, 3]).all()
    # start commands re-issued after the reconnect
    path = "/Meas/Acc/208"
    assert [c for c in ms.commands if c[0] == movesense.CMD_SUBSCRIBE] == [
        movesense.build_subscribe(1, path), movesense.build_subscribe(2, path)]
    assert wit.writes == [witmotion.CMD_UNLOCK, bytes.fromhex("FFAA030A00"), witmotion.CMD_SAVE] * 2
    assert wit.rate_hz == 200
    # the raw recording replays into the same frames
    recorded = list(iter_notifications(tmp_path / "raw.mcap"))
    profiles = {d["device_id"]: d["profile"] for d in read_ble_devices(tmp_path / "raw.mcap")}
    assert {profiles[r.device] for r in recorded} == {"rsc", "movesense", "witmotion"}
    assert sum(1 for r in recorded if profiles[r.device] == "witmotion") == \
        links["wit"].delivered


def test_open_frame_reconnect_without_loss_is_not_a_gap() -> None:
    drv = OpenFrameDriver(DeviceSpec("A", "footfall", "tibia", "left"))
    drv.handle("", ffo_emu.encode(7, 0, 200, 16, [(1, 2, 3)] * 10), T0)
    drv.on_reconnect()
    [frame] = drv.handle("", ffo_emu.encode(8, 50_000, 200, 16, [(1, 2, 3)] * 10), T0 + 10**8)
    assert isinstance(frame, wire.ImuFrame) and not frame.flags & wire.FLAG_GAP_BEFORE
    assert drv.stats.gaps == 0


def test_witmotion_publishes_the_rate_it_really_delivers() -> None:
    drv = WitMotionDriver(DeviceSpec("A", "witmotion", "tibia", "left", sample_rate_hz=200))
    rates = []
    for i in range(180 * 30):  # 30 s of a module that manages only 180 Hz
        recv = T0 + round(i * 1e9 / 180) + (3 + (i * 13) % 17) * 1_000_000
        rates += [f.sample_rate_hz
                  for f in _imu(drv.handle(witmotion.NOTIFY_UUID, _wit_notification(i), recv))]
    assert rates[0] == 200
    assert rates[-1] == pytest.approx(180, rel=0.01)
    assert len(set(rates)) <= 3  # changed rarely: consumers restart filters on a change
    assert drv.stats.gaps == 0


def test_polar_publishes_a_steady_rate() -> None:
    from footfall.devices import polar_pmd
    from footfall.ingest.drivers import PolarPmdDriver
    from footfall.simulators.devices import polar_pmd as pmd_emu

    drv = PolarPmdDriver(DeviceSpec("A", "polar-pmd", "chest", "none"))
    true_period_ns = 1e9 / 201.3  # a strap whose "200 Hz" is 201.3 Hz
    rates = set()
    for k in range(400):
        last_ns = round((k * 36 + 35) * true_period_ns) + (k * 7919 % 500)  # timestamp jitter
        data = pmd_emu.encode_raw(last_ns, [(0, 0, 1000)] * 36)
        [frame] = _imu(drv.handle(polar_pmd.DATA_UUID, data, T0 + k * 180_000_000))
        rates.add(frame.sample_rate_hz)
    assert min(rates) == 200.0 and len(rates) <= 3
    assert max(rates) == pytest.approx(201.3, rel=0.003)


def test_witmotion_batches_and_flags_the_batch_after_a_reconnect() -> None:
    drv = WitMotionDriver(DeviceSpec("A", "witmotion", "tibia", "left", sample_rate_hz=200))
    assert drv.batch_samples == 10  # 50 ms per published frame
    out: list[wire.ImuFrame] = []
    for i in range(15):
        out += _imu(drv.handle(witmotion.NOTIFY_UUID, _wit_notification(i), T0 + i * 5_000_000))
    assert [f.n_samples for f in out] == [10]
    drv.on_reconnect()
    for i in range(15, 25):  # the link was down for 2 s
        out += _imu(drv.handle(witmotion.NOTIFY_UUID, _wit_notification(i),
                               T0 + 2 * 10**9 + i * 5_000_000))
    assert [(f.n_samples, bool(f.flags & wire.FLAG_GAP_BEFORE)) for f in out] == [
        (10, False), (5, False), (10, True)]
    assert drv.stats.lost_samples == pytest.approx(400, abs=5)  # 2 s at 200 Hz
    assert out[2].sensor_time_us - out[1].sensor_time_us == pytest.approx(
        (5 + 400) * 5000, abs=5 * 5000)


def test_meta_follows_what_the_frames_say() -> None:
    drv = OpenFrameDriver(DeviceSpec("A", "footfall", "tibia", "left"))
    assert (drv.meta().sample_rate_hz, drv.meta().accel_range_g) == (200.0, 16)
    drv.handle("", ffo_emu.encode(0, 0, 200, 16, [(1, 2, 3)] * 10), T0)
    assert not drv.meta_dirty  # the board says what the meta already said
    drv.handle("", ffo_emu.encode(1, 50_000, 400, 32, [(1, 2, 3, 4, 5, 6)] * 10, 2000),
               T0 + 10**8)
    assert drv.meta_dirty
    meta = drv.meta()
    assert (meta.sample_rate_hz, meta.accel_range_g, meta.gyro_range_dps) == \
        (400.0, 32, 2000)


async def test_unreachable_device_and_failed_connects_are_retried(tmp_path: Path) -> None:
    hub = EmulatorHub()
    imu = ffo_emu.OpenImu()
    link = hub.add("EE:00:00:00:02:01", imu)
    link.available = False  # out of range at first
    link.fail_connects = 2  # then two link-layer failures, retried by establish_connection
    config = SessionConfig("a", "s", BrokerConfig("127.0.0.1", 9), tmp_path,  # no broker
                           ble_backoff=Backoff(initial_s=0.05, max_s=0.1))
    gateway = Gateway([DeviceSpec("EE:00:00:00:02:01", "footfall", "tibia", "left")], config,
                      BleakConnector(client_class=hub.client_class(), find_device=hub.find_device))
    [session] = gateway.sessions
    task = asyncio.create_task(gateway.run())
    try:
        await until(lambda: b"ble-unreachable" in (
            session.publisher.state(session.topics[Stream.STATUS]) or b""),
            "the device reported unreachable")
        link.available = True
        await until(lambda: imu.streaming, "streaming after retries")
        assert link.connect_attempts >= 3 and link.connects == 1
        link.notify([(ffo.DATA_UUID, imu.frame([(1, 2, 3)] * 10))])
        await until(lambda: session.stats.frames == 1, "a frame")
        assert session.publisher.spool.pending == 1  # no broker: it waits on disk
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        session.publisher.spool.close()


def test_repeated_notification_is_dropped_with_a_log_line(
        caplog: pytest.LogCaptureFixture) -> None:
    drv = OpenFrameDriver(DeviceSpec("A", "footfall", "tibia", "left"))
    frames = [drv.handle("", ffo_emu.encode(s, s * 50_000, 200, 16, [(1, 2, 3)] * 10),
                         T0 + i * 50_000_000) for i, s in enumerate([5, 6, 6, 4, 7])]
    assert [len(f) for f in frames] == [1, 1, 0, 0, 1]
    assert drv.stats.duplicates == 2 and drv.stats.gaps == 0
    assert "dropped late or repeated notification seq 6" in caplog.text
    assert "dropped late or repeated notification seq 4" in caplog.text


def test_a_restarted_gateway_continues_the_frame_numbering(tmp_path: Path) -> None:
    from footfall.ingest.gateway import DeviceSession

    spec = DeviceSpec("EE:00:00:00:03:01", "footfall", "tibia", "left")
    config = SessionConfig("a", "s", BrokerConfig("127.0.0.1", 9), tmp_path)
    first = DeviceSession(spec, config, BleakConnector())
    for s in range(5):
        first.handle(ffo.DATA_UUID, ffo_emu.encode(s, s * 50_000, 200, 16, [(1, 2, 3)] * 10),
                     T0 + s * 50_000_000)
    first.publisher.spool.close()  # the process dies here: nothing saved but the spool
    second = DeviceSession(spec, config, BleakConnector())
    assert second.driver.seq == 5
    [frame] = _imu(second.driver.handle(ffo.DATA_UUID, ffo_emu.encode(9, 450_000, 200, 16,
                                                                     [(1, 2, 3)] * 10), T0))
    assert frame.seq == 5 and frame.flags & wire.FLAG_GAP_BEFORE
    second._save_seq(7)  # as stop() does
    second.publisher.spool.close()
    assert DeviceSession(spec, config, BleakConnector()).driver.seq == 7
    assert DeviceSession(DeviceSpec("EE:9", "footfall", "tibia", "right"), config,
                         BleakConnector()).driver.seq == 0  # another device starts at 0


def test_polar_clock_reset_keeps_sensor_time_increasing() -> None:
    from footfall.devices import polar_pmd
    from footfall.ingest.drivers import PolarPmdDriver
    from footfall.simulators.devices import polar_pmd as pmd_emu

    drv = PolarPmdDriver(DeviceSpec("A", "polar-pmd", "chest", "none"))
    frames = []
    for k, last_ns in enumerate([10**15 + 45_000_000, 10**15 + 95_000_000, 95_000_000]):
        frames += _imu(drv.handle(polar_pmd.DATA_UUID,
                                  pmd_emu.encode_raw(last_ns, [(0, 0, 1000)] * 10),
                                  T0 + k * 50_000_000))
    times = [f.sensor_time_us for f in frames]
    assert times == sorted(times) and times[2] >= times[1] + 10 * 5000
    assert frames[2].flags & wire.FLAG_GAP_BEFORE and drv.stats.clock_resets == 1
