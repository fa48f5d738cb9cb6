"""``footfall simulate --device PROFILE``: the synthetic runner through the real BLE gateway.

The pre-decoded path (:mod:`footfall.simulators.publish`) hands the broker finished wire
frames. This one goes the long way, as a live session would:

1. the runner's signal is rendered at a rate and range the device really offers
   (:func:`resolve_sensor`: a Polar H10 at 25–200 Hz and ±2/4/8 g, a WitMotion at up to 200 Hz
   and ±16 g, a Movesense at 13–1666 Hz, the open frame at any whole rate), or for a foot pod
   (``rsc``) reduced to ~1 Hz speed and cadence (:func:`footfall.simulators.footpod.rsc_samples`);
2. the byte-exact emulator of that device (:mod:`footfall.simulators.devices`) encodes it into
   the notifications the device sends (mG int16 PMD delta frames, ``55 61`` frames, GSP float32
   m/s², the open frame, RSC measurements in either cadence convention);
3. they reach a real :class:`~footfall.ingest.gateway.Gateway` through
   :class:`~footfall.simulators.devices.ble.EmulatorHub` and the gateway's own
   :class:`~footfall.ingest.ble.BleakConnector`: connect, enable notifications, the device's
   start commands (PMD start, GSP subscribe, WitMotion unlock/rate/save), then parse, map clocks,
   detect gaps, spool and publish ``imu``/``rsc`` with retained ``meta`` and ``status`` —
   exactly what ``footfall ingest`` does with real hardware.

Time: notification ``k`` is *due* when its last sample exists plus the link latency (20 ms) and
jitter; deliveries go out at ``speed`` × real time, or as fast as the gateway and broker take
them (``speed=None``, with backpressure on the gateway's queue and spool). The gateway's host
clock is injected (:class:`~footfall.ingest.clock.ManualClock`) and set to each notification's
simulated receive time, so UTC mapping, drift fit and gap detection see a real-time session
whatever the pace.

Use :func:`plan_run` to render (the plan holds the truth for tests), then
:func:`run_through_gateway` to play it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal, TypeAlias

import numpy as np
import numpy.typing as npt

from footfall.config import Settings
from footfall.ingest.ble import BleakConnector
from footfall.ingest.clock import ManualClock
from footfall.ingest.drivers import DeviceSpec
from footfall.ingest.errors import SettingError
from footfall.ingest.gateway import DeviceSession, Gateway, SessionConfig
from footfall.ingest.profiles import footfall_open, movesense, polar_pmd, rsc, witmotion
from footfall.ingest.publisher import BrokerConfig
from footfall.simulators.devices.base import Notification
from footfall.simulators.devices.ble import EmulatorHub, EmulatorLink
from footfall.simulators.devices.footfall_open import OpenImu
from footfall.simulators.devices.movesense import MovesenseImu
from footfall.simulators.devices.polar_pmd import H10_RANGES_G, H10_RATES_HZ, PolarAcc
from footfall.simulators.devices.rsc import CadenceConvention, RscPod
from footfall.simulators.devices.witmotion import WitMotionImu
from footfall.simulators.footpod import rsc_samples
from footfall.simulators.framing import DEFAULT_LATENCY_MS
from footfall.simulators.runner import (
    Gait,
    RunnerParams,
    Side,
    SyntheticRun,
    render,
    simulate_gait,
)
from footfall.wire.events import RscSample

log = logging.getLogger(__name__)

DeviceProfile: TypeAlias = Literal["footfall", "polar-pmd", "witmotion", "movesense", "rsc"]
DEVICE_PROFILES: tuple[DeviceProfile, ...] = ("footfall", "polar-pmd", "witmotion", "movesense",
                                              "rsc")
FloatArray: TypeAlias = npt.NDArray[np.float64]

#: ATT payload of one notification once bleak/BlueZ negotiated the usual MTU of 247
MAX_NOTIFICATION_BYTES = 244
#: a foot pod reports about once a second (ble-protocols.md)
RSC_INTERVAL_S = 1.0
#: the range the open frame carries is a u8; the CLI offers these
OPEN_RANGES_G = (2, 4, 8, 16, 32, 64, 200)
MOVESENSE_RANGES_G = (2, 4, 8, 16)  # /Meas/Acc/Config GRange values
#: fast mode: wait for the gateway when this many notifications are queued or frames spooled
QUEUE_HIGH_WATER = 500
SPOOL_HIGH_WATER = 200
#: after a failure or Ctrl-C: how long to keep publishing what is already spooled
ABORT_DRAIN_S = 3.0


class SimulationError(Exception):
    """The simulated session could not run (broker unreachable, a device never started)."""


@dataclass(frozen=True, slots=True)
class DeviceModel:
    """What one profile's device offers: rates, ranges, how many samples fit a notification."""

    profile: DeviceProfile
    model: str
    rates_hz: tuple[int, ...] | None  # None: any whole number of Hz (the open frame's u16)
    ranges_g: tuple[int, ...]
    default_rate_hz: int
    default_range_g: int
    max_samples_per_notification: int


DEVICE_MODELS: dict[str, DeviceModel] = {
    # 14-byte header + 6 bytes per sample in 244 bytes
    "footfall": DeviceModel("footfall", "footfall open-frame IMU", None, OPEN_RANGES_G,
                            1000, 16, (MAX_NOTIFICATION_BYTES - footfall_open.HEADER_SIZE) // 6),
    # worst case of a delta frame: 10-byte header, 6-byte reference, 2-byte block header,
    # 17-bit deltas (the difference of two int16 needs 17 bits): 36 samples fit
    "polar-pmd": DeviceModel("polar-pmd", "Polar H10", H10_RATES_HZ, H10_RANGES_G, 200, 8, 36),
    # one 20-byte 55 61 frame per notification, as the WT901BLE sends them
    "witmotion": DeviceModel("witmotion", "WitMotion WT901BLE",
                             tuple(int(r) for r in witmotion.RATE_CODES if r >= 1),
                             (witmotion.ACC_RANGE_G,), 200, witmotion.ACC_RANGE_G, 1),
    # DATA + DATA_PART2: 2 × 242 bytes of payload = u32 timestamp + 40 × 12 bytes
    "movesense": DeviceModel("movesense", "Movesense", movesense.ACC_RATES_HZ,
                             MOVESENSE_RANGES_G, 208, 16,
                             (2 * (MAX_NOTIFICATION_BYTES - 2) - 4) // 12),
    "rsc": DeviceModel("rsc", "RSC foot pod", None, (), 0, 0, 1),
}


@dataclass(frozen=True, slots=True)
class SensorSetup:
    """The rate and range a profile will run at, and what the user should know about them."""

    rate_hz: int
    range_g: int
    notes: tuple[str, ...] = ()


def device_model(profile: str) -> DeviceModel:
    try:
        return DEVICE_MODELS[profile]
    except KeyError:
        raise SettingError(f"unknown device profile {profile!r}; choose from "
                           f"{', '.join(DEVICE_PROFILES)}") from None


def _listing(values: Sequence[int], unit: str, prefix: str = "") -> str:
    items = [f"{prefix}{v}" for v in values]
    text = items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]
    return f"{text} {unit}"


def _nearest(values: Sequence[int], x: float) -> int:
    return min(values, key=lambda v: (abs(v - x), -v))


def resolve_sensor(profile: str, *, rate_hz: float | None = None,
                   range_g: int | None = None) -> SensorSetup:
    """The device's rate/range for what the user asked (``None``: the device's usual setting).

    Raises :class:`SettingError` naming what the device supports when it cannot do what was
    asked (rates and ranges are never changed silently).
    """
    dev = device_model(profile)
    flag = f"--device {profile}"
    if dev.profile == "rsc":
        if rate_hz is not None or range_g is not None:
            raise SettingError(f"{flag}: a foot pod reports speed and cadence about once a second;"
                               " --rate and --range-g do not apply to it")
        return SensorSetup(0, 0, ("foot pod: one RSC measurement per second, speed and cadence "
                                  "from the runner",))
    notes: list[str] = []
    if rate_hz is None:
        rate = dev.default_rate_hz
    elif dev.rates_hz is None:
        if not 1 <= rate_hz <= 0xFFFF or rate_hz != int(rate_hz):
            raise SettingError(f"{flag}: the open frame carries the sample rate as a whole number "
                               f"of Hz (1-65535), not {rate_hz:g}")
        rate = int(rate_hz)
    elif rate_hz in dev.rates_hz:
        rate = int(rate_hz)
    else:
        raise SettingError(
            f"{flag}: the {dev.model} samples its accelerometer at "
            f"{_listing(dev.rates_hz, 'Hz')}, not {rate_hz:g} Hz: use --rate "
            f"{_nearest(dev.rates_hz, rate_hz)} (or leave --rate out for {dev.default_rate_hz} Hz)")
    if range_g is None:
        rng = dev.default_range_g
    elif range_g in dev.ranges_g:
        rng = range_g
    else:
        raise SettingError(
            f"{flag}: the {dev.model} measures {_listing(dev.ranges_g, 'g', '±')}, not ±{range_g} "
            f"g: use --range-g {_nearest(dev.ranges_g, range_g)} (peaks beyond it clip, as they "
            "do on the device)")
    if dev.profile == "polar-pmd" and rng <= 8:
        notes.append(f"Polar H10: ±{rng} g, so tibial and foot impacts above {rng} g clip "
                     "(the processor flags clipped steps)")
    if dev.profile == "witmotion":
        notes.append("WitMotion: one 20-byte notification per sample; whether a real WT901BLE "
                     f"delivers {rate} notifications/s over BLE is unconfirmed")
    if dev.profile == "movesense":
        notes.append("Movesense: the gateway does not set /Meas/Acc/Config; the emulated sensor "
                     f"clips at ±{rng} g")
    if rate < 100:
        notes.append(f"{rate} Hz is coarse for impact peaks (~10 ms wide): expect low PTA")
    return SensorSetup(rate, rng, tuple(notes))


@dataclass(frozen=True, slots=True)
class PlannedDevice:
    """One emulated device: its gateway spec and what it will send (with the truth)."""

    spec: DeviceSpec
    run: SyntheticRun | None = None  # IMU: the rendered signal; truth in ``run.truth``
    rsc: tuple[RscSample, ...] = ()  # foot pod: the measurements (time_ns from t = 0)
    samples_per_notification: int = 1


@dataclass(frozen=True, slots=True)
class GatewayPlan:
    """Everything :func:`run_through_gateway` will play, rendered up front."""

    profile: DeviceProfile
    sensor: SensorSetup
    gait: Gait
    devices: tuple[PlannedDevice, ...]
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


def plan_run(profile: str, params: RunnerParams, duration_s: float, *,
             sides: Sequence[Side], rate_hz: float | None = None, range_g: int | None = None,
             chunk_ms: float = 25.0, rsc_convention: CadenceConvention = "per-leg",
             latency_ms: float = DEFAULT_LATENCY_MS) -> GatewayPlan:
    """Render the runner for ``profile``'s devices: one IMU per side, or one foot pod.

    ``params`` gives the gait and placement; its rate and range are replaced by the device's
    (:func:`resolve_sensor`). ``chunk_ms`` is the signal per notification, capped by what fits
    in one (WitMotion: always one sample). Raises :class:`SettingError`.
    """
    sensor = resolve_sensor(profile, rate_hz=rate_hz, range_g=range_g)
    dev = device_model(profile)
    if chunk_ms <= 0:
        raise SettingError(f"--chunk-ms must be positive, got {chunk_ms:g}")
    if rsc_convention not in ("per-leg", "steps"):
        raise SettingError(f"RSC cadence convention must be per-leg or steps, "
                           f"not {rsc_convention!r}")
    gait = simulate_gait(params, duration_s)
    devices: list[PlannedDevice] = []
    if dev.profile == "rsc":
        pod_side = sides[0] if len(sides) == 1 and sides[0] != "none" else "none"
        samples = rsc_samples(gait, start_utc_ns=0, interval_s=RSC_INTERVAL_S, seed=params.seed)
        spec = DeviceSpec(_address(0), rsc.PROFILE, "foot", pod_side, device_id="footpod",
                          name="footfall foot pod")
        devices.append(PlannedDevice(spec, rsc=tuple(samples)))
    else:
        per = max(1, min(round(sensor.rate_hz * chunk_ms / 1000), dev.max_samples_per_notification))
        for i, side in enumerate(sides):
            run = render(gait, replace(params, side=side, sample_rate_hz=float(sensor.rate_hz),
                                       accel_range_g=sensor.range_g))
            spec = DeviceSpec(_address(i), dev.profile, params.placement, side,
                              sample_rate_hz=sensor.rate_hz, accel_range_g=sensor.range_g,
                              name=f"{dev.model} (emulated)")
            devices.append(PlannedDevice(spec, run=run, samples_per_notification=per))
    return GatewayPlan(dev.profile, sensor, gait, tuple(devices), rsc_convention,
                       params.packet_loss_pct, latency_ms, params.jitter_ms, params.seed)


# --- feeds: one emulated device and its notification schedule ---------------------------------


class _Feed:
    """Drives one emulator: notification batch ``k`` is due at ``due_s[k]`` (run time)."""

    def __init__(self, planned: PlannedDevice, link: EmulatorLink, due_s: FloatArray) -> None:
        self.planned, self.link, self.due_s = planned, link, due_s
        self.t0_utc_ns = 0

    def ready(self) -> bool:
        return self.link.device.streaming

    def start(self, t0_utc_ns: int) -> None:
        """Streaming begins: sample 0 is taken at ``t0_utc_ns``."""
        self.t0_utc_ns = t0_utc_ns

    def encode(self, k: int) -> list[Notification]:
        raise NotImplementedError


class _ImuFeed(_Feed):
    def __init__(self, planned: PlannedDevice, run: SyntheticRun, link: EmulatorLink,
                 latency_s: FloatArray) -> None:
        per = planned.samples_per_notification
        self.starts = np.arange(0, run.n_samples, per)
        ends = np.minimum(self.starts + per, run.n_samples)
        due = np.maximum.accumulate(ends / run.sample_rate_hz + latency_s[: self.starts.size])
        super().__init__(planned, link, due)
        self.run = run

    def chunk(self, k: int) -> tuple[int, int]:
        i0 = int(self.starts[k])
        return i0, min(i0 + self.planned.samples_per_notification, self.run.n_samples)


class _OpenFeed(_ImuFeed):
    def __init__(self, planned: PlannedDevice, run: SyntheticRun, hub: EmulatorHub,
                 latency_s: FloatArray) -> None:
        self.imu = OpenImu(name=planned.spec.name, sample_rate_hz=round(run.sample_rate_hz),
                           accel_range_g=run.accel_range_g)
        super().__init__(planned, run, hub.add(planned.spec.address, self.imu), latency_s)

    def encode(self, k: int) -> list[Notification]:
        i0, i1 = self.chunk(k)
        return [(footfall_open.DATA_UUID, self.imu.frame(self.run.counts[i0:i1].tolist()))]


class _PolarFeed(_ImuFeed):
    def __init__(self, planned: PlannedDevice, run: SyntheticRun, hub: EmulatorHub,
                 latency_s: FloatArray) -> None:
        # delta-compressed ACC frames (0x81); which frame type a given H10 firmware sends is
        # not confirmed here, and the gateway reads both
        self.strap = PolarAcc(compressed=True)
        super().__init__(planned, run, hub.add(planned.spec.address, self.strap), latency_s)

    def encode(self, k: int) -> list[Notification]:
        i0, i1 = self.chunk(k)
        mg = np.clip(np.rint(self.run.accel_g[i0:i1] * 1000.0), -32768, 32767).astype(int)
        # the strap's clock (set from the phone): ns since 2000-01-01, of the LAST sample
        last_ns = (self.t0_utc_ns - polar_pmd.EPOCH_2000_NS
                   + round((i1 - 1) * 1e9 / self.run.sample_rate_hz))
        return self.strap.frame([(int(a), int(b), int(c)) for a, b, c in mg], last_ns)


class _WitFeed(_ImuFeed):
    def __init__(self, planned: PlannedDevice, run: SyntheticRun, hub: EmulatorHub,
                 latency_s: FloatArray) -> None:
        self.wit = WitMotionImu()
        super().__init__(planned, run, hub.add(planned.spec.address, self.wit), latency_s)

    def ready(self) -> bool:
        # it streams at 10 Hz as soon as notifications are on: wait for the gateway's rate
        return self.wit.streaming and self.wit.rate_hz == self.run.sample_rate_hz

    def encode(self, k: int) -> list[Notification]:
        i0, i1 = self.chunk(k)
        # counts rendered at ±16 g are the WT901's raw values (acc = raw / 32768 · 16 g)
        return self.wit.frames([(int(a), int(b), int(c)) for a, b, c in self.run.counts[i0:i1]])


class _MovesenseFeed(_ImuFeed):
    #: the sensor's ms clock at the first sample (it counts from power-on)
    BOOT_MS = 73_000

    def __init__(self, planned: PlannedDevice, run: SyntheticRun, hub: EmulatorHub,
                 latency_s: FloatArray) -> None:
        self.imu = MovesenseImu()
        super().__init__(planned, run, hub.add(planned.spec.address, self.imu), latency_s)

    def encode(self, k: int) -> list[Notification]:
        i0, i1 = self.chunk(k)
        mps2 = (self.run.accel_g[i0:i1] * movesense.STANDARD_GRAVITY).astype(np.float32)
        t_ms = self.BOOT_MS + round(i0 * 1000 / self.run.sample_rate_hz)
        return self.imu.acc(t_ms, [(float(a), float(b), float(c)) for a, b, c in mps2])


class _RscFeed(_Feed):
    def __init__(self, planned: PlannedDevice, convention: CadenceConvention, hub: EmulatorHub,
                 latency_s: FloatArray) -> None:
        self.pod = RscPod(convention=convention)
        times = np.asarray([s.time_ns / 1e9 for s in planned.rsc], dtype=np.float64)
        due = np.maximum.accumulate(times + latency_s[: times.size]) if times.size else times
        super().__init__(planned, hub.add(planned.spec.address, self.pod), due)

    def encode(self, k: int) -> list[Notification]:
        s = self.planned.rsc[k]
        return [(rsc.MEASUREMENT_UUID, self.pod.measurement(
            speed_mps=s.speed_mps, cadence_spm=s.cadence_spm, running=s.running,
            interval_s=RSC_INTERVAL_S))]


_IMU_FEEDS: dict[str, type[_OpenFeed | _PolarFeed | _WitFeed | _MovesenseFeed]] = {
    "footfall": _OpenFeed, "polar-pmd": _PolarFeed, "witmotion": _WitFeed,
    "movesense": _MovesenseFeed}


def _make_feed(plan: GatewayPlan, index: int, planned: PlannedDevice,
               hub: EmulatorHub) -> _Feed:
    rng = np.random.default_rng(np.random.SeedSequence(plan.seed, spawn_key=(5, index)))
    run = planned.run
    n = len(planned.rsc) if run is None else -(-run.n_samples // planned.samples_per_notification)
    latency_s = (plan.latency_ms + (rng.exponential(plan.jitter_ms, n) if plan.jitter_ms > 0
                                    else np.zeros(n))) / 1000.0
    if run is None:
        return _RscFeed(planned, plan.rsc_convention, hub, latency_s)
    return _IMU_FEEDS[plan.profile](planned, run, hub, latency_s)


# --- the run ------------------------------------------------------------------------------


@dataclass
class GatewayRunStats:
    """What went over the emulated air and what the gateway made of it."""

    notifications: int = 0  # delivered to the gateway
    notifications_lost: int = 0  # dropped on the emulated link (--packet-loss)
    duration_s: float = 0.0  # run time covered so far
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
) -> GatewayRunStats:
    """Play ``plan`` through emulators → fake BLE → the real gateway → the broker.

    ``speed=None``: as fast as the gateway and broker take it. ``start_utc_ns``: the UTC of the
    first sample (default: when every device is streaming). Returns when everything is
    published (``stats.drained``) or ``drain_timeout_s`` passed; raises
    :class:`SimulationError` when the broker or a device cannot be reached.
    """
    if speed is not None and speed <= 0:
        raise SettingError(f"speed must be positive, got {speed}")
    hub = EmulatorHub()
    feeds = [_make_feed(plan, i, d, hub) for i, d in enumerate(plan.devices)]
    broker = BrokerConfig(settings.mqtt_host, settings.mqtt_port, settings.mqtt_username,
                          settings.mqtt_password.get_secret_value()
                          if settings.mqtt_password else None, settings.mqtt_tls)
    config = SessionConfig(settings.athlete, settings.session, broker, settings.state_dir)
    clock = ManualClock(now_ns=start_utc_ns if start_utc_ns is not None else time.time_ns())
    connector = BleakConnector(client_class=hub.client_class(), find_device=hub.find_device)
    gateway = Gateway([d.spec for d in plan.devices], config, connector, clock=clock)
    stats = GatewayRunStats(sessions=list(gateway.sessions))
    gw_task = asyncio.create_task(gateway.run(), name="simulated-gateway")
    stopped = False
    try:
        if not await _until(lambda: all(s.publisher.connected for s in gateway.sessions),
                            connect_timeout_s):
            raise SimulationError(f"cannot reach the MQTT broker at {settings.mqtt_url} within "
                                  f"{connect_timeout_s:.0f} s: is it running? (`footfall stack "
                                  "up` starts one)")
        if not await _until(lambda: all(s.streaming.is_set() for s in gateway.sessions)
                            and all(f.ready() for f in feeds), connect_timeout_s):
            waiting = [f.planned.spec.id for f in feeds if not f.ready()]
            raise SimulationError(f"the emulated device(s) {', '.join(waiting) or '?'} did not "
                                  f"start streaming within {connect_timeout_s:.0f} s")
        t0 = start_utc_ns if start_utc_ns is not None else time.time_ns()
        for f in feeds:
            f.start(t0)
        await _play(plan, feeds, gateway.sessions, clock, t0, speed, stats, progress)
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


async def _play(plan: GatewayPlan, feeds: list[_Feed], sessions: list[DeviceSession],
                clock: ManualClock, t0_utc_ns: int, speed: float | None,
                stats: GatewayRunStats,
                progress: Callable[[float, GatewayRunStats], None] | None) -> None:
    timeline = sorted((float(due), i, k) for i, f in enumerate(feeds)
                      for k, due in enumerate(f.due_s))
    total_s = timeline[-1][0] if timeline else 0.0
    loss = [np.random.default_rng(np.random.SeedSequence(plan.seed, spawn_key=(6, i)))
            .random(f.due_s.size) < plan.packet_loss_pct / 100 for i, f in enumerate(feeds)]
    wall_start = time.monotonic()
    last_report = wall_start
    for due_s, i, k in timeline:
        if speed is not None:
            delay = wall_start + due_s / speed - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        feed = feeds[i]
        notifications = feed.encode(k)  # the device sends, whether or not it arrives
        clock.now_ns = t0_utc_ns + round(due_s * 1e9)
        if loss[i][k]:
            log.debug("%s: simulated BLE loss of notification %d", feed.planned.spec.id, k)
            feed.link.lost += len(notifications)
            stats.notifications_lost += len(notifications)
        else:
            stats.notifications += feed.link.notify(notifications)
        stats.duration_s = due_s
        await _let_gateway_run(sessions[i], wait_for_broker=speed is None)
        now = time.monotonic()
        if progress is not None and now - last_report > 0.1:
            last_report = now
            progress(min(1.0, due_s / total_s) if total_s else 1.0, stats)


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
