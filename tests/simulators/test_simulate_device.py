"""``footfall simulate --device``: emulated devices → the real gateway → Mosquitto → processor.

Each IMU profile is rendered at a rate/range its device offers, encoded by its byte-exact
emulator, parsed by the gateway (through the real BleakConnector) and analysed by the real
processor: the steps and cadence must be the runner's. The foot pod's cadence (either
convention) must come out in steps/min. The gateway's host clock is simulated, so results do
not depend on how fast the machine is (no timing flakiness in ``--fast``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from dataclasses import dataclass
from typing import TypeVar

import aiomqtt
import numpy as np
import pytest

from footfall.cli import main
from footfall.config.settings import Settings
from footfall.core.errors import SettingError
from footfall.devices.capabilities import DEVICE_MODELS, MAX_NOTIFICATION_BYTES, resolve_sensor
from footfall.harness.emulated_gateway import (
    GatewayPlan,
    GatewayRunStats,
    plan_run,
    run_through_gateway,
)
from footfall.ingest.drivers import RscDriver
from footfall.service.processor import ProcessorService
from footfall.simulators.devices import footfall_open, movesense, polar_pmd
from footfall.simulators.runner import RunnerParams
from footfall.storage.influx import InfluxClient, SpooledWriter, influx_target, rows
from footfall.wire import frame as wire
from footfall.wire.events import DeviceMeta, DeviceStatus, MetricsEvent, StepEvent
from footfall.wire.topics import Stream, Topic, subscription

CADENCE_SPM = 172.0
E = TypeVar("E")


# --- no broker needed -------------------------------------------------------------------------


def test_impossible_settings_name_what_the_device_supports() -> None:
    with pytest.raises(SettingError, match=r"25, 50, 100 or 200 Hz, not 1000 Hz: use --rate 200"):
        resolve_sensor("polar-pmd", rate_hz=1000)
    with pytest.raises(SettingError, match=r"±2, ±4 or ±8 g, not ±16 g: use --range-g 8"):
        resolve_sensor("polar-pmd", range_g=16)
    with pytest.raises(SettingError, match=r"1666 Hz, not 1000 Hz: use --rate 833"):
        resolve_sensor("movesense", rate_hz=1000)
    with pytest.raises(SettingError, match=r"±16 g, not ±8 g"):
        resolve_sensor("witmotion", range_g=8)
    with pytest.raises(SettingError, match="whole number of Hz"):
        resolve_sensor("footfall", rate_hz=99.5)
    with pytest.raises(SettingError, match="do not apply"):
        resolve_sensor("rsc", rate_hz=100)
    with pytest.raises(SettingError, match="unknown device profile"):
        resolve_sensor("garmin")
    for setup, expected in [(resolve_sensor("polar-pmd"), (200, 8)),
                            (resolve_sensor("witmotion"), (200, 16)),
                            (resolve_sensor("movesense", rate_hz=1666), (1666, 16)),
                            (resolve_sensor("footfall", rate_hz=400, range_g=64), (400, 64))]:
        assert (setup.rate_hz, setup.range_g) == expected


def test_the_largest_notification_of_each_profile_fits_one_att_payload() -> None:
    worst = 32767
    n = DEVICE_MODELS["footfall"].max_samples_per_notification
    assert len(footfall_open.encode(0, 0, 1000, 16, [(worst, -worst - 1, worst)] * n)) \
        <= MAX_NOTIFICATION_BYTES
    n = DEVICE_MODELS["polar-pmd"].max_samples_per_notification
    zigzag = [(worst, -worst - 1, worst) if i % 2 else (-worst - 1, worst, -worst - 1)
              for i in range(n)]
    assert len(polar_pmd.encode_delta(0, zigzag)) <= MAX_NOTIFICATION_BYTES
    n = DEVICE_MODELS["movesense"].max_samples_per_notification
    parts = movesense.encode_data(1, 0, [(156.9, -156.9, 9.8)] * n)
    assert len(parts) == 2 and all(len(p) <= MAX_NOTIFICATION_BYTES for p in parts)


def test_plan_renders_at_the_device_rate_and_caps_notifications() -> None:
    plan = plan_run("movesense", RunnerParams(), 2.0, sides=["left"], rate_hz=1666,
                    chunk_ms=100)
    (device,) = plan.devices
    assert device.run is not None and device.run.sample_rate_hz == 1666
    assert device.samples_per_notification == DEVICE_MODELS["movesense"] \
        .max_samples_per_notification
    assert (device.spec.profile, device.spec.id, device.spec.sample_rate_hz) == \
        ("movesense", "tibia-left", 1666)
    pod = plan_run("rsc", RunnerParams(), 10.0, sides=["left", "right"]).devices[0]
    assert (pod.spec.id, pod.spec.placement, pod.spec.side, pod.run) == \
        ("footpod", "foot", "none", None)


# --- through a real broker and the real processor ---------------------------------------------


@dataclass
class Result:
    stats: GatewayRunStats
    service: ProcessorService
    events: list[tuple[str, object]]

    def of(self, device: str, kind: type[E]) -> list[E]:
        return [e for d, e in self.events if d == device and isinstance(e, kind)]


async def through_processor(settings: Settings, plan: GatewayPlan) -> Result:
    """Play ``plan`` through the gateway while a live processor (writing to InfluxDB) listens."""
    events: list[tuple[str, object]] = []
    async with InfluxClient(influx_target(settings)) as influx, SpooledWriter(
        influx, settings.spool_dir
    ) as writer:
        service = ProcessorService(settings, writer=writer, athlete=settings.athlete,
                                   session=settings.session,
                                   client_id=f"test-processor-{settings.session}",
                                   on_event=lambda topic, e: events.append((topic.device, e)))
        stop = asyncio.Event()
        processor = asyncio.create_task(service.run(stop))
        await asyncio.wait_for(service.connected.wait(), 30)
        stats = await run_through_gateway(settings, plan, speed=None, drain_timeout_s=30)
        assert stats.drained, "the gateway did not publish everything"
        deadline = time.monotonic() + 30
        while sum(service.stats.frames.values()) + service.stats.rsc_samples < stats.published:
            assert time.monotonic() < deadline, "the processor did not receive every message"
            await asyncio.sleep(0.05)
        stop.set()
        await processor
        assert await writer.flush(30), "InfluxDB did not take every point"
    return Result(stats, service, events)


@pytest.mark.servers
@pytest.mark.parametrize("profile", ["footfall", "polar-pmd", "witmotion", "movesense"])
async def test_imu_profile_through_the_gateway_finds_the_runners_steps(
        settings: Settings, profile: str) -> None:
    plan = plan_run(profile, RunnerParams(cadence_spm=CADENCE_SPM, seed=7), 14.0,
                    sides=["left", "right"])
    result = await through_processor(settings, plan)

    assert result.service.stats.malformed == 0
    for session in result.stats.sessions:
        assert (session.stats.rejected, session.stats.gaps, session.stats.duplicates) == (0, 0, 0)
    for device in plan.devices:
        run = device.run
        assert run is not None
        assert run.sample_rate_hz == DEVICE_MODELS[profile].default_rate_hz
        name = device.spec.id
        steps = result.of(name, StepEvent)
        truth = run.truth.own()
        assert abs(len(steps) - len(truth)) <= 1, (name, len(steps), len(truth))
        cadence = float(np.median([s.cadence_spm for s in steps if s.cadence_spm]))
        true_cadence = float(np.median(run.profile.cadence_spm))
        assert abs(cadence - true_cadence) <= 2.0, (name, cadence, true_cadence)
        assert {s.side for s in steps} == {device.spec.side}
    # the steps were stored, tagged with what the gateway's retained meta said
    async with InfluxClient(influx_target(settings)) as influx:
        stored = rows(await influx.query(
            f"SELECT count(\"impact_g\") FROM \"step\" WHERE \"session\" = '{settings.session}' "
            "GROUP BY \"device\", \"placement\""))
    assert {(r["device"], r["placement"]) for r in stored} == {("tibia-left", "tibia"),
                                                               ("tibia-right", "tibia")}


@pytest.mark.servers
@pytest.mark.parametrize("convention", ["per-leg", "steps"])
async def test_foot_pod_cadence_reaches_the_processor_in_steps_per_minute(
        settings: Settings, convention: str) -> None:
    plan = plan_run("rsc", RunnerParams(cadence_spm=CADENCE_SPM, seed=7), 40.0,
                    sides=["left", "right"], rsc_convention=convention)  # type: ignore[arg-type]
    result = await through_processor(settings, plan)

    (session,) = result.stats.sessions
    assert session.stats.rsc_samples == len(plan.devices[0].rsc) > 30
    # the gateway's auto mode worked out the pod's convention
    assert isinstance(session.driver, RscDriver)
    assert session.driver.multiplier == (2 if convention == "per-leg" else 1)
    cadence = np.array([m.cadence_spm for m in result.of("footpod", MetricsEvent)
                        if m.cadence_spm])
    assert cadence.size > 30
    true_cadence = float(np.mean(plan.gait.profile.cadence_spm))
    assert abs(float(np.mean(cadence)) - true_cadence) <= 1.0, (cadence, true_cadence)
    # each one within the protocol's resolution: whole strides/min per leg = 2 steps/min
    assert np.max(np.abs(cadence - true_cadence)) <= 2.0, cadence


@pytest.mark.servers
async def test_cli_simulate_device_footfall_publishes_through_the_gateway(
        broker_settings: Settings) -> None:
    """``footfall simulate --device footfall --fast --duration 5`` exits 0, frames arrive."""
    settings = broker_settings
    athlete, session = settings.athlete, f"cli{uuid.uuid4().hex[:8]}"
    received: list[tuple[str, bytes]] = []
    subscribed = asyncio.Event()

    async def listen() -> None:
        async with aiomqtt.Client(settings.mqtt_host, settings.mqtt_port) as client:
            await client.subscribe(subscription(athlete, session), qos=1)
            subscribed.set()
            async for msg in client.messages:
                if isinstance(msg.payload, bytes | bytearray):
                    received.append((str(msg.topic), bytes(msg.payload)))

    listener = asyncio.create_task(listen())
    await asyncio.wait_for(subscribed.wait(), 10)
    code = await asyncio.to_thread(main, [
        "simulate", "--device", "footfall", "--fast", "--duration", "5", "--rate", "500",
        "--legs", "left", "--mqtt-url", settings.mqtt_url, "--athlete", athlete,
        "--session", session, "--state-dir", str(settings.state_dir)])
    assert code == 0
    topic = Topic(athlete, session, "tibia-left", Stream.IMU)

    def samples() -> int:
        return sum(wire.decode(p).n_samples for t, p in received if t == str(topic))

    deadline = time.monotonic() + 10
    while samples() < 2500:  # 5 s at 500 Hz
        assert time.monotonic() < deadline, f"only {samples()} samples arrived"
        await asyncio.sleep(0.05)
    listener.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await listener

    frames = [wire.decode(p) for t, p in received if t == str(topic)]
    assert [f.seq for f in frames] == list(range(len(frames)))  # in order, none lost
    assert {(f.sample_rate_hz, f.accel_range_g, f.channels) for f in frames} == {(500.0, 16, 3)}
    assert sum(f.n_samples for f in frames) == 2500
    metas = [p for t, p in received if t.endswith("/tibia-left/meta")]
    meta = DeviceMeta.from_json(metas[-1])
    assert (meta.profile, meta.placement, meta.side, meta.sample_rate_hz) == \
        ("footfall", "tibia", "left", 500.0)
    statuses = [p for t, p in received if t.endswith("/tibia-left/status")]
    assert DeviceStatus.from_json(statuses[-1]) == DeviceStatus(online=False, reason="stopped")


@pytest.mark.servers
@pytest.mark.parametrize("profile", ["footfall", "polar-pmd", "movesense"])
async def test_notifications_lost_on_air_become_exactly_counted_gaps(
        broker_settings: Settings, profile: str) -> None:
    """--packet-loss drops notifications after the device counted them: the gateway must find
    every lost sample from the open frame's seq or the Polar/Movesense timestamps."""
    # 10 s: every notification holds the same number of samples at each profile's rate
    plan = plan_run(profile, RunnerParams(packet_loss_pct=8.0, seed=5), 10.0, sides=["left"])
    stats = await run_through_gateway(broker_settings, plan, speed=None, drain_timeout_s=30)

    assert stats.drained and stats.notifications_lost > 5
    (session,) = stats.sessions
    (device,) = plan.devices
    assert device.run is not None
    per = device.samples_per_notification
    assert device.run.n_samples % per == 0  # every notification full: losses are exact
    parts = 2 if profile == "movesense" and 4 + 12 * per > 242 else 1
    lost_samples = stats.notifications_lost // parts * per
    # (with this seed the last notification arrives: a loss at the very end has nothing after
    # it to reveal it)
    assert session.stats.lost_samples + session.stats.samples == device.run.n_samples
    assert session.stats.lost_samples == lost_samples
    assert 0 < session.stats.gaps <= stats.notifications_lost // parts


@pytest.mark.servers
async def test_paced_run_takes_its_time_and_reports_progress(broker_settings: Settings) -> None:
    plan = plan_run("footfall", RunnerParams(), 3.0, sides=["left"], rate_hz=200)
    seen: list[float] = []
    started = time.monotonic()
    stats = await run_through_gateway(broker_settings, plan, speed=10.0,
                                      progress=lambda fraction, _stats: seen.append(fraction))
    elapsed = time.monotonic() - started
    assert elapsed >= 0.9 * 3.0 / 10.0  # a lower bound only: a slow machine must not fail it
    assert stats.drained and stats.notifications == 3.0 * 200 / 5  # 25 ms = 5 samples each
    assert seen == sorted(seen) and seen[-1] == 1.0
