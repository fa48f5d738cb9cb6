"""The synthetic runner through the real BLE gateway: ``footfall simulate --device PROFILE``
and ``footfall ingest --emulate``.

The pre-decoded path (:mod:`footfall.simulators.publish`) hands the broker finished wire
frames. This one goes the long way, as a live session would:

1. one runner (:func:`~footfall.simulators.runner.simulate_gait`) is rendered for each device
   it wears, at a rate and range that device really offers
   (:func:`~footfall.simulators.devices.play.resolve_sensor`), or for a foot pod reduced to
   ~1 Hz speed and cadence (:func:`~footfall.simulators.devices.play.pod_readings`):
   :func:`plan_run` (``simulate --device``: one IMU per leg, or one pod) or
   :func:`plan_devices` (``ingest --emulate``: the user's own device specs);
2. :class:`EmulatedRadios` puts each device's byte-exact emulator behind a fake Bluetooth
   stack (:class:`~footfall.simulators.devices.ble.EmulatorHub`), to be reached by a real
   :class:`~footfall.ingest.gateway.Gateway` through its own
   :class:`~footfall.ingest.ble.BleakConnector`: connect, enable notifications, the device's
   start commands (PMD start, GSP subscribe, WitMotion unlock/rate/save), then parse, map clocks,
   detect gaps, spool and publish ``imu``/``rsc`` with retained ``meta`` and ``status`` —
   exactly what ``footfall ingest`` does with real hardware;
3. once every device streams, :func:`~footfall.simulators.devices.play.play` sends the
   notifications.

Time: notification ``k`` is *due* when its last sample exists plus the link latency (20 ms) and
jitter; deliveries go out at ``speed`` × real time, or as fast as the gateway and broker take
them (``speed=None``, with backpressure on the gateway's queue and spool). The gateway's host
clock is injected (:class:`~footfall.ingest.clock.ManualClock`, :attr:`EmulatedRadios.clock`)
and set to each notification's simulated receive time, so UTC mapping, drift fit and gap
detection see a real-time session whatever the pace.

:func:`run_through_gateway` runs a whole plan (the plan holds the truth for tests).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from footfall.config.settings import Settings
from footfall.core.clock import ManualClock
from footfall.core.errors import FootfallError
from footfall.core.pacing import check_speed
from footfall.core.vocab import Placement, Side
from footfall.devices import rsc
from footfall.devices.capabilities import (
    SensorSetup,
    SettingNames,
    check_chunk_ms,
    device_model,
    resolve_sensor,
    samples_per_notification,
)
from footfall.ingest.ble import BleakConnector
from footfall.ingest.drivers import DeviceSpec
from footfall.ingest.gateway import DeviceSession, Gateway, Recorder, SessionConfig
from footfall.recordings.framing import DEFAULT_LATENCY_MS
from footfall.simulators.devices.ble import EmulatorHub
from footfall.simulators.devices.play import (
    Feed,
    PlayStats,
    check_convention,
    imu_feed,
    pod_feed,
    pod_readings,
    until_streaming,
)
from footfall.simulators.devices.play import play as play_feeds
from footfall.simulators.devices.rsc import CadenceConvention
from footfall.simulators.runner import (
    Gait,
    RunnerParams,
    SyntheticRun,
    render,
    simulate_gait,
)
from footfall.wire.events import RscSample
from footfall.wire.mqtt import BrokerConfig

log = logging.getLogger(__name__)

#: fast mode: wait for the gateway when this many notifications are queued or frames spooled
QUEUE_HIGH_WATER = 500
SPOOL_HIGH_WATER = 200
#: after a failure or Ctrl-C: how long to keep publishing what is already spooled
ABORT_DRAIN_S = 3.0


class SimulationError(FootfallError):
    """The simulated session could not run (broker unreachable, a device never started)."""


@dataclass(frozen=True, slots=True)
class PlannedDevice:
    """One emulated device: its gateway spec and what it will send (with the truth)."""

    spec: DeviceSpec
    run: SyntheticRun | None = None  # IMU: the rendered signal; truth in ``run.truth``
    rsc: tuple[RscSample, ...] = ()  # foot pod: the measurements (time_ns from t = 0)
    samples_per_notification: int = 1


@dataclass(frozen=True, slots=True)
class GatewayPlan:
    """Everything :class:`EmulatedRadios` will play, rendered up front."""

    gait: Gait
    devices: tuple[PlannedDevice, ...]
    notes: tuple[str, ...] = ()  # what the user should know about the devices' settings
    rsc_convention: CadenceConvention = "per-leg"
    packet_loss_pct: float = 0.0
    latency_ms: float = DEFAULT_LATENCY_MS
    jitter_ms: float = 0.0
    seed: int = 0

    @property
    def duration_s(self) -> float:
        return self.gait.duration_s


def _address(i: int) -> str:
    return f"EE:F0:0F:A1:00:{i + 1:02X}"


def _planned(spec: DeviceSpec, sensor: SensorSetup, gait: Gait, params: RunnerParams,
             placement: Placement, side: Side, chunk_ms: float) -> PlannedDevice:
    if spec.profile == rsc.PROFILE:
        return PlannedDevice(spec, rsc=pod_readings(gait, seed=params.seed))
    run = render(gait, replace(params, placement=placement, side=side,
                               sample_rate_hz=float(sensor.rate_hz),
                               accel_range_g=sensor.range_g))
    return PlannedDevice(spec, run=run, samples_per_notification=samples_per_notification(
        spec.profile, sensor.rate_hz, chunk_ms))


def _plan(params: RunnerParams, duration_s: float, chunk_ms: float,
          rsc_convention: CadenceConvention, latency_ms: float,
          devices: Sequence[tuple[DeviceSpec, SensorSetup, Placement, Side]]) -> GatewayPlan:
    check_chunk_ms(chunk_ms)
    check_convention(rsc_convention)
    gait = simulate_gait(params, duration_s)
    planned = tuple(_planned(spec, sensor, gait, params, placement, side, chunk_ms)
                    for spec, sensor, placement, side in devices)
    notes = tuple(dict.fromkeys(n for _, sensor, _, _ in devices for n in sensor.notes))
    return GatewayPlan(gait, planned, notes, rsc_convention, params.packet_loss_pct, latency_ms,
                       params.jitter_ms, params.seed)


def plan_run(profile: str, params: RunnerParams, duration_s: float, *,
             sides: Sequence[Side], rate_hz: float | None = None, range_g: int | None = None,
             chunk_ms: float = 25.0, rsc_convention: CadenceConvention = "per-leg",
             latency_ms: float = DEFAULT_LATENCY_MS) -> GatewayPlan:
    """``simulate --device``: ``profile``'s devices on the runner, one IMU per side or one pod.

    ``params`` gives the gait and placement; its rate and range are replaced by the device's
    (:func:`resolve_sensor`). ``chunk_ms`` is the signal per notification, capped by what fits
    in one (WitMotion: always one sample). Raises :class:`SettingError`.
    """
    sensor = resolve_sensor(profile, rate_hz=rate_hz, range_g=range_g)
    dev = device_model(profile)
    if dev.profile == "rsc":
        pod_side = sides[0] if len(sides) == 1 and sides[0] != "none" else "none"
        spec = DeviceSpec(_address(0), rsc.PROFILE, "foot", pod_side, device_id="footpod",
                          name="footfall foot pod")
        devices = [(spec, sensor, params.placement, params.side)]
    else:
        devices = [(DeviceSpec(_address(i), dev.profile, params.placement, side,
                               sample_rate_hz=sensor.rate_hz, accel_range_g=sensor.range_g,
                               name=f"{dev.model} (emulated)"), sensor, params.placement, side)
                   for i, side in enumerate(sides)]
    return _plan(params, duration_s, chunk_ms, rsc_convention, latency_ms, devices)


def _worn(placement: str, side: str) -> tuple[Placement, Side]:
    """Where the runner model puts a sensor worn at ``placement``/``side`` (chest/wrist ≈
    sacrum; a leg sensor with no side is on the left)."""
    where = Placement.TIBIA if placement == "tibia" else Placement.FOOT \
        if placement == "foot" else Placement.SACRUM
    if where is Placement.SACRUM:
        return where, Side.NONE
    return where, Side.RIGHT if side == "right" else Side.LEFT


def plan_devices(specs: Sequence[DeviceSpec], params: RunnerParams, duration_s: float, *,
                 chunk_ms: float = 25.0, rsc_convention: CadenceConvention = "per-leg",
                 latency_ms: float = DEFAULT_LATENCY_MS) -> GatewayPlan:
    """``ingest --emulate``: the user's devices, all worn by one runner.

    Each runs at its spec's rate and range, or the device's usual ones (the one table the
    gateway starts devices with, :mod:`footfall.devices.capabilities`); a setting the real
    device does not have raises :class:`SettingError`.
    """
    devices = []
    for spec in specs:
        sensor = resolve_sensor(
            spec.profile, rate_hz=spec.sample_rate_hz, range_g=spec.accel_range_g,
            names=SettingNames(f"{spec.id} ({spec.profile})", "rate={}", "range={}"))
        devices.append((spec, sensor, *_worn(spec.placement, spec.side)))
    return _plan(params, duration_s, chunk_ms, rsc_convention, latency_ms, devices)


class EmulatedRadios:
    """A plan's devices on a fake Bluetooth stack, played into a gateway.

    Give the gateway :meth:`connector` and :attr:`clock`, run it, then :meth:`play`.
    """

    def __init__(self, plan: GatewayPlan, *, now_ns: int | None = None) -> None:
        self.plan = plan
        self.hub = EmulatorHub()
        self.clock = ManualClock(now_ns=time.time_ns() if now_ns is None else now_ns)
        self.feeds = [self._feed(i, d) for i, d in enumerate(plan.devices)]

    def _feed(self, index: int, planned: PlannedDevice) -> Feed:
        plan = self.plan
        if planned.run is None:
            feed = pod_feed(planned.rsc, convention=plan.rsc_convention, name=planned.spec.name)
        else:
            feed = imu_feed(planned.spec.profile, planned.run, tail=True,
                            samples_per_notification=planned.samples_per_notification,
                            name=planned.spec.name)
        feed.over_the_air(latency_ms=plan.latency_ms, jitter_ms=plan.jitter_ms,
                          loss_pct=plan.packet_loss_pct, seed=plan.seed, index=index)
        feed.attach(self.hub, planned.spec.address)
        return feed

    def connector(self) -> BleakConnector:
        return BleakConnector(client_class=self.hub.client_class(),
                              find_device=self.hub.find_device)

    async def play(self, gateway: Gateway, *, speed: float | None = 1.0,
                   start_utc_ns: int | None = None, timeout_s: float | None = None,
                   stats: PlayStats | None = None,
                   progress: Callable[[float], None] | None = None) -> PlayStats:
        """Wait until the gateway streams every device, then play the plan into it.

        ``start_utc_ns``: the UTC of the first sample (default: now). Raises
        :class:`SimulationError` if a device does not stream within ``timeout_s``.
        """
        sessions = gateway.sessions
        if not await until_streaming(self.feeds, timeout_s,
                                     also=lambda: all(s.streaming.is_set() for s in sessions)):
            waiting = [d.spec.id for d, f in zip(self.plan.devices, self.feeds, strict=True)
                       if not f.ready()]
            raise SimulationError(f"the emulated device(s) {', '.join(waiting) or '?'} did not "
                                  f"start streaming within {timeout_s:.0f} s")
        t0 = time.time_ns() if start_utc_ns is None else start_utc_ns
        for feed in self.feeds:
            feed.start(t0)

        async def let_gateway_run(index: int) -> None:
            await _let_gateway_run(sessions[index], wait_for_broker=speed is None)

        return await play_feeds(self.feeds, t0_utc_ns=t0, speed=speed, clock=self.clock,
                                stats=stats, after_delivery=let_gateway_run, progress=progress)


@dataclass
class GatewayRunStats(PlayStats):
    """What went over the emulated air and what the gateway made of it."""

    sessions: list[DeviceSession] = field(default_factory=list, repr=False)
    drained: bool = False  # everything spooled reached the broker

    @property
    def published(self) -> int:
        """Data messages (IMU frames, RSC samples) the broker acknowledged so far."""
        return sum(s.publisher.stats.published for s in self.sessions)

    @property
    def still_spooled(self) -> int:
        return sum(s.publisher.spool.pending for s in self.sessions)

    def device_lines(self) -> list[str]:
        """One line per device, as ``footfall ingest`` prints them."""
        out = []
        for s in self.sessions:
            st = s.stats
            out.append(f"{s.spec.id} ({s.spec.profile}): {st.notifications} notifications → "
                       f"{st.frames} frames / {st.samples} samples"
                       f"{f' / {st.rsc_samples} rsc' if st.rsc_samples else ''}, "
                       f"{st.gaps} gaps ({st.lost_samples} samples lost), {st.rejected} rejected,"
                       f" {st.duplicates} duplicates, {s.publisher.spool.pending} still spooled")
        return out


async def _until(cond: Callable[[], bool], timeout_s: float) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not cond():
        if loop.time() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


async def run_through_gateway(
    settings: Settings,
    plan: GatewayPlan,
    *,
    speed: float | None = 1.0,
    start_utc_ns: int | None = None,
    progress: Callable[[float, GatewayRunStats], None] | None = None,
    connect_timeout_s: float = 15.0,
    drain_timeout_s: float = 60.0,
    recorder: Recorder | None = None,
) -> GatewayRunStats:
    """Play ``plan`` through emulators → fake BLE → the real gateway → the broker.

    ``speed=None``: as fast as the gateway and broker take it. ``start_utc_ns``: the UTC of the
    first sample (default: when every device is streaming). Returns when everything is
    published (``stats.drained``) or ``drain_timeout_s`` passed; raises
    :class:`SimulationError` when the broker or a device cannot be reached. ``recorder``
    (``--record``) gets every notification and every message the gateway published, as with
    ``footfall ingest --record``; the caller closes it.
    """
    speed = check_speed(speed)
    radios = EmulatedRadios(plan, now_ns=start_utc_ns)
    config = SessionConfig(settings.athlete, settings.session,
                           BrokerConfig.from_settings(settings), settings.state_dir)
    gateway = Gateway([d.spec for d in plan.devices], config, radios.connector(),
                      clock=radios.clock, recorder=recorder)
    stats = GatewayRunStats(sessions=list(gateway.sessions))
    gw_task = asyncio.create_task(gateway.run(), name="simulated-gateway")
    stopped = False
    try:
        if not await _until(lambda: all(s.publisher.connected for s in gateway.sessions),
                            connect_timeout_s):
            raise SimulationError(f"cannot reach the MQTT broker at {settings.mqtt_url} within "
                                  f"{connect_timeout_s:.0f} s: is it running? (`footfall stack "
                                  "up` starts one)")
        await radios.play(gateway, speed=speed, start_utc_ns=start_utc_ns,
                          timeout_s=connect_timeout_s, stats=stats,
                          progress=None if progress is None else lambda f: progress(f, stats))
        stopped = True
        stats.drained = await gateway.stop(drain_timeout_s)
    finally:
        if not stopped:  # failed or interrupted: publish what is spooled, briefly
            await gateway.stop(ABORT_DRAIN_S)
        gw_task.cancel()
        await asyncio.gather(gw_task, return_exceptions=True)
    if progress is not None:
        progress(1.0, stats)
    return stats


async def _let_gateway_run(session: DeviceSession, *, wait_for_broker: bool) -> None:
    """Yield to the gateway's tasks after a delivery.

    Live, the BLE stack and the gateway run concurrently; here they share one event loop, so
    a player that falls behind its schedule must still let the parser run (or the gateway's
    queue would overflow, which no real radio causes). In fast mode it also waits for the
    spool to drain to the broker, so "as fast as possible" is the broker's pace.
    """
    await asyncio.sleep(0)
    if session.queue.qsize() > QUEUE_HIGH_WATER:
        await session.queue.join()
    while (wait_for_broker and session.publisher.connected
           and session.publisher.spool.pending > SPOOL_HIGH_WATER):
        await asyncio.sleep(0.002)
