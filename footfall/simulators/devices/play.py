"""A synthetic run as the exact notifications of a real BLE device, and the player that paces
them into fake links.

The one place that knows, per profile, what the real device offers and how it encodes motion;
``footfall simulate --device``, ``footfall ingest --emulate``
(both through :mod:`footfall.harness.emulated_gateway`) and the tests all go through it:

- :data:`DEVICE_MODELS` and :func:`resolve_sensor`: the rates and ranges each device really
  has (a Polar H10 at 25–200 Hz and ±2/4/8 g, a WitMotion at up to 200 Hz and ±16 g, a
  Movesense at 13–1666 Hz, the open frame at any whole rate); anything else is refused with
  what the device does offer, never changed silently.
- :func:`imu_feed` / :func:`pod_feed`: one sensor's share of the run through its byte-exact
  emulator (:mod:`footfall.simulators.devices`): mG int16 PMD delta frames, ``55 61`` frames,
  GSP float32 m/s², the open frame, RSC measurements in either cadence convention. Values
  beyond the device's range saturate as on the device. A foot pod reports
  :func:`pod_readings`: cadence measured over the last steps, speed with measurement noise.
- :func:`notifications`: the pure form, a run → ``(time, [notification, …])`` in order.
- :func:`play`: feeds into their :class:`~footfall.simulators.devices.ble.EmulatorLink` at
  ``speed`` × real time or as fast as the receiver takes them, setting a simulated host clock
  to each notification's receive time when given one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
import numpy.typing as npt

from footfall.core.clock import ManualClock
from footfall.core.errors import SettingError
from footfall.core.pacing import Pacer
from footfall.devices import footfall_open, movesense, polar_pmd, rsc, witmotion
from footfall.devices.capabilities import device_model, resolve_sensor
from footfall.recordings.framing import UNDATED_UTC_NS
from footfall.simulators.devices.base import EmulatedDevice, Notification
from footfall.simulators.devices.ble import EmulatorHub, EmulatorLink
from footfall.simulators.devices.footfall_open import OpenImu
from footfall.simulators.devices.movesense import MovesenseImu
from footfall.simulators.devices.polar_pmd import PolarAcc
from footfall.simulators.devices.rsc import CadenceConvention, RscPod
from footfall.simulators.devices.witmotion import WitMotionImu
from footfall.simulators.footpod import rsc_samples
from footfall.simulators.runner import Gait, SyntheticRun, simulate_gait
from footfall.wire.events import RscSample
from footfall.wire.frame import g_to_counts

log = logging.getLogger(__name__)

FloatArray: TypeAlias = npt.NDArray[np.float64]
BoolArray: TypeAlias = npt.NDArray[np.bool_]
#: (time in s from the start of the run, the notifications sent then)
Timed = tuple[float, list[Notification]]

#: a foot pod reports about once a second (ble-protocols.md)
RSC_INTERVAL_S = 1.0
#: UTC of the first sample in :func:`notifications` (sets the Polar strap's clock)
DEFAULT_START_UTC_NS = 1_795_000_000 * 10**9
#: a foot pod's readings are timed from this instant (a valid UTC, as every wire event is)
READINGS_T0_NS = UNDATED_UTC_NS


def pod_readings(gait: Gait, *, interval_s: float = RSC_INTERVAL_S,
                 seed: int = 0) -> tuple[RscSample, ...]:
    """What a foot pod on this runner reports every ``interval_s`` (``time_ns`` from
    :data:`READINGS_T0_NS`, the run's t = 0: the player sends them at their offset).

    Once it has seen enough steps, :func:`footfall.simulators.footpod.rsc_samples`: cadence
    over the last 6 steps, speed ± 0.03 m/s; before that "not running", speed and cadence 0.
    """
    measured = {s.time_ns: s for s in rsc_samples(gait, start_utc_ns=READINGS_T0_NS,
                                                  interval_s=interval_s,
                                                  seed=seed)}
    out: list[RscSample] = []
    t = interval_s
    while t <= gait.duration_s:  # the same ticks as rsc_samples
        ns = READINGS_T0_NS + round(t * 1e9)
        reading = measured.get(ns) or RscSample(time_ns=ns, speed_mps=0.0, cadence_spm=0.0,
                                                running=False)
        out.append(reading.model_copy(update={"seq": len(out)}))
        t += interval_s
    return tuple(out)


# --- feeds: one emulated device and what it sends when ---------------------------------------


class Feed(ABC):
    """One emulated device sending one sensor's share of a run.

    Notification batch ``k`` holds the data that exists at ``ends_s[k]`` (run time); the player
    delivers it at ``due_s[k]`` unless ``lost[k]`` (``ends_s`` and nothing lost until
    :meth:`over_the_air` adds the link's latency and losses).
    """

    def __init__(self, device: EmulatedDevice, ends_s: FloatArray) -> None:
        self.device = device
        self.ends_s = ends_s
        self.due_s = ends_s
        self.lost: BoolArray = np.zeros(ends_s.size, dtype=bool)
        self.link: EmulatorLink | None = None
        self.t0_utc_ns = 0

    def attach(self, hub: EmulatorHub, address: str) -> EmulatorLink:
        """Put the device "in range" of the fake Bluetooth stack at ``address``."""
        self.link = hub.add(address, self.device)
        return self.link

    def over_the_air(self, *, latency_ms: float, jitter_ms: float = 0.0, loss_pct: float = 0.0,
                     seed: int = 0, index: int = 0) -> None:
        """Delivery: data time + latency + exponential jitter, never reordered (BLE delivers in
        order); ``loss_pct`` of the batches lost on air (the device still counted them)."""
        n = self.ends_s.size
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(5, index)))
        jitter = rng.exponential(jitter_ms, n) if jitter_ms > 0 else np.zeros(n)
        self.due_s = np.maximum.accumulate(self.ends_s + (latency_ms + jitter) / 1000.0) \
            if n else self.ends_s
        self.lost = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(6, index))) \
            .random(n) < loss_pct / 100

    def ready(self) -> bool:
        """The device streams as the run needs it (the gateway started it)."""
        return self.device.streaming

    def start(self, t0_utc_ns: int) -> None:
        """Streaming begins: the run's t = 0 is at ``t0_utc_ns`` (where a device clock set from
        UTC, like the Polar strap's, starts)."""
        self.t0_utc_ns = t0_utc_ns

    @abstractmethod
    def encode(self, k: int) -> list[Notification]:
        """Batch ``k`` as the device sends it (whether or not it arrives)."""


class _ImuFeed(Feed):
    def __init__(self, device: EmulatedDevice, run: SyntheticRun, range_g: int, per: int,
                 tail: bool) -> None:
        last_start = run.n_samples if tail else run.n_samples - per + 1
        self.starts = np.arange(0, max(last_start, 0), per)
        self.stops = np.minimum(self.starts + per, run.n_samples)
        super().__init__(device, self.stops / run.sample_rate_hz)
        self.run, self.range_g = run, range_g

    def chunk(self, k: int) -> tuple[int, int]:
        return int(self.starts[k]), int(self.stops[k])


class _OpenFeed(_ImuFeed):
    def __init__(self, run: SyntheticRun, range_g: int, per: int, tail: bool,
                 started: bool) -> None:
        self.imu = OpenImu(sample_rate_hz=round(run.sample_rate_hz), accel_range_g=range_g,
                           started=started, notifying=started)
        super().__init__(self.imu, run, range_g, per, tail)
        self.counts = run.counts if range_g == run.accel_range_g else \
            g_to_counts(run.accel_g, range_g)

    def encode(self, k: int) -> list[Notification]:
        i0, i1 = self.chunk(k)
        return [(footfall_open.DATA_UUID, self.imu.frame(self.counts[i0:i1].tolist()))]


class _PolarFeed(_ImuFeed):
    def __init__(self, run: SyntheticRun, range_g: int, per: int, tail: bool,
                 started: bool) -> None:
        # delta-compressed ACC frames (0x81); which frame type a given H10 firmware sends is
        # not confirmed here, and the gateway reads both
        self.strap = PolarAcc(compressed=True)
        if started:
            self.strap.streaming_acc = True
            self.strap.sample_rate_hz, self.strap.range_g = round(run.sample_rate_hz), range_g
            self.strap.on_notify_enabled(polar_pmd.DATA_UUID)
        super().__init__(self.strap, run, range_g, per, tail)

    def ready(self) -> bool:
        return self.strap.streaming and self.strap.sample_rate_hz == self.run.sample_rate_hz

    def encode(self, k: int) -> list[Notification]:
        i0, i1 = self.chunk(k)
        limit = self.strap.range_g * 1000  # the range the gateway started it at
        mg = np.clip(np.rint(self.run.accel_g[i0:i1] * 1000), -limit, limit).astype(int)
        # the strap's clock (set from the phone): ns since 2000-01-01, of the LAST sample
        last_ns = (self.t0_utc_ns - polar_pmd.EPOCH_2000_NS
                   + round((i1 - 1) * 1e9 / self.run.sample_rate_hz))
        return self.strap.frame([(int(a), int(b), int(c)) for a, b, c in mg], last_ns)


class _WitFeed(_ImuFeed):
    def __init__(self, run: SyntheticRun, range_g: int, per: int, tail: bool,
                 started: bool) -> None:
        self.wit = WitMotionImu(rate_hz=run.sample_rate_hz) if started else WitMotionImu()
        if started:
            self.wit.on_notify_enabled(witmotion.NOTIFY_UUID)
        super().__init__(self.wit, run, range_g, per, tail)
        # the WT901's raw values: acc = raw / 32768 · 16 g, whatever else it was asked
        self.raw = g_to_counts(run.accel_g, witmotion.ACC_RANGE_G)

    def ready(self) -> bool:
        # it streams at 10 Hz as soon as notifications are on: wait for the gateway's rate
        return self.wit.streaming and self.wit.rate_hz == self.run.sample_rate_hz

    def encode(self, k: int) -> list[Notification]:
        i0, i1 = self.chunk(k)
        return self.wit.frames([(int(a), int(b), int(c)) for a, b, c in self.raw[i0:i1]])


class _MovesenseFeed(_ImuFeed):
    #: the sensor's ms clock at the first sample (it counts from power-on)
    BOOT_MS = 73_000

    def __init__(self, run: SyntheticRun, range_g: int, per: int, tail: bool,
                 started: bool) -> None:
        self.imu = MovesenseImu()
        if started:
            self.imu.subscriptions[1] = movesense.acc_path(round(run.sample_rate_hz))
            self.imu.notifying = True
        super().__init__(self.imu, run, range_g, per, tail)

    def encode(self, k: int) -> list[Notification]:
        i0, i1 = self.chunk(k)
        g = np.clip(self.run.accel_g[i0:i1], -self.range_g, self.range_g)
        mps2 = (g * movesense.STANDARD_GRAVITY).astype(np.float32)
        t_ms = self.BOOT_MS + round(i0 * 1000 / self.run.sample_rate_hz)
        return self.imu.acc(t_ms, [(float(a), float(b), float(c)) for a, b, c in mps2])


class _PodFeed(Feed):
    def __init__(self, readings: Sequence[RscSample], convention: CadenceConvention,
                 started: bool) -> None:
        self.pod = RscPod(convention=convention)
        if started:
            self.pod.on_notify_enabled(rsc.MEASUREMENT_UUID)
        self.readings = tuple(readings)
        super().__init__(self.pod, np.asarray([(s.time_ns - READINGS_T0_NS) / 1e9
                                               for s in self.readings],
                                              dtype=np.float64))

    def encode(self, k: int) -> list[Notification]:
        s = self.readings[k]
        return [(rsc.MEASUREMENT_UUID, self.pod.measurement(
            speed_mps=s.speed_mps, cadence_spm=s.cadence_spm, running=s.running,
            interval_s=RSC_INTERVAL_S))]


_IMU_FEEDS: dict[str, type[_OpenFeed | _PolarFeed | _WitFeed | _MovesenseFeed]] = {
    "footfall": _OpenFeed, "polar-pmd": _PolarFeed, "witmotion": _WitFeed,
    "movesense": _MovesenseFeed}


def imu_feed(profile: str, run: SyntheticRun, *, samples_per_notification: int,
             range_g: int | None = None, started: bool = False, tail: bool = False,
             name: str = "") -> Feed:
    """``run`` as ``profile``'s device sends it, ``samples_per_notification`` per batch.

    ``range_g``: the device's range (default the run's); values beyond it saturate.
    ``started``: the device is already streaming (else the gateway's start command starts it).
    ``tail``: the samples left after the last full batch go out as a shorter one (the end of a
    session), else they are not sent (the run is a window of an endless stream). Raises
    :class:`SettingError` when the device cannot sample at the run's rate or ``range_g``.
    """
    rng = run.accel_range_g if range_g is None else range_g
    resolve_sensor(profile, rate_hz=run.sample_rate_hz, range_g=rng)
    cap = device_model(profile).max_samples_per_notification
    if not 1 <= samples_per_notification <= cap:
        raise SettingError(f"a {profile} notification holds 1 to {cap} samples, not "
                           f"{samples_per_notification}")
    feed = _IMU_FEEDS[profile](run, rng, samples_per_notification, tail, started)
    if name:
        feed.device.name = name
    return feed


def check_convention(convention: str) -> None:
    if convention not in ("per-leg", "steps"):
        raise SettingError(f"RSC cadence convention must be per-leg or steps, "
                           f"not {convention!r}")


def pod_feed(readings: Sequence[RscSample], *, convention: CadenceConvention = "per-leg",
             started: bool = False, name: str = "") -> Feed:
    """A foot pod sending ``readings`` (see :func:`pod_readings`) in its cadence convention."""
    check_convention(convention)
    feed = _PodFeed(readings, convention, started)
    if name:
        feed.device.name = name
    return feed


def notifications(run: SyntheticRun, profile: str, *, samples_per_notification: int = 10,
                  range_g: int | None = None, rsc_convention: CadenceConvention = "per-leg",
                  start_utc_ns: int = DEFAULT_START_UTC_NS) -> Iterator[Timed]:
    """The notifications of ``run`` as ``profile``'s device (already started) sends them, in
    order, each batch with the time its last sample exists (no link latency, no loss).

    For ``rsc`` the pod is worn on the runner of ``run`` (its gait is drawn again from
    ``run.params``). Only whole batches are sent.
    """
    if profile == "rsc":
        gait = simulate_gait(run.params, run.duration_s)
        feed = pod_feed(pod_readings(gait, seed=run.params.seed), convention=rsc_convention,
                        started=True)
    else:
        feed = imu_feed(profile, run, samples_per_notification=samples_per_notification,
                        range_g=range_g, started=True)
    feed.start(start_utc_ns)
    for k, end_s in enumerate(feed.ends_s):
        yield float(end_s), feed.encode(k)


# --- the player --------------------------------------------------------------------------------


@dataclass
class PlayStats:
    """What went over the emulated air."""

    notifications: int = 0  # delivered to the link's receiver
    notifications_lost: int = 0  # dropped on the emulated link (``Feed.lost``)
    duration_s: float = 0.0  # run time covered so far


async def _yield(_index: int) -> None:
    await asyncio.sleep(0)


async def play(feeds: Sequence[Feed], *, t0_utc_ns: int, speed: float | None = 1.0,
               clock: ManualClock | None = None, stats: PlayStats | None = None,
               after_delivery: Callable[[int], Awaitable[None]] = _yield,
               progress: Callable[[float], None] | None = None) -> PlayStats:
    """Deliver every feed's batches into its link in the order they are due.

    ``speed``: × real time (``None`` or 0: no waiting, the pace is whatever ``after_delivery`` —
    called with the feed's index after each batch — lets through). ``clock``: set to each
    batch's receive time, ``t0_utc_ns`` + ``due_s``, before it is delivered, so a receiver
    stamping with it sees a real-time session at any pace. Feeds must be attached and started.
    """
    stats = stats if stats is not None else PlayStats()
    links: list[EmulatorLink] = []
    for i, feed in enumerate(feeds):
        if feed.link is None:
            raise LookupError(f"feed {i} ({feed.device.name}) is not attached to a link")
        links.append(feed.link)
    timeline = sorted((float(due), i, k) for i, f in enumerate(feeds)
                      for k, due in enumerate(f.due_s))
    total_s = timeline[-1][0] if timeline else 0.0
    pacer = Pacer(speed)
    pacer.start()
    last_report = time.monotonic()
    for due_s, i, k in timeline:
        await pacer.wait_until(due_s)
        batch = feeds[i].encode(k)  # the device sends, whether or not it arrives
        if clock is not None:
            clock.now_ns = t0_utc_ns + round(due_s * 1e9)
        if feeds[i].lost[k]:
            log.debug("%s: simulated BLE loss of notification batch %d", links[i].address, k)
            links[i].lost += len(batch)
            stats.notifications_lost += len(batch)
        else:
            stats.notifications += links[i].notify(batch)
        stats.duration_s = due_s
        await after_delivery(i)
        now = time.monotonic()
        if progress is not None and now - last_report > 0.1:
            last_report = now
            progress(min(1.0, due_s / total_s) if total_s else 1.0)
    return stats


async def until_streaming(feeds: Sequence[Feed], timeout_s: float | None,
                          also: Callable[[], bool] = lambda: True) -> bool:
    """Wait until every feed's device streams as its run needs (and ``also()``); False on
    timeout (``None``: wait for ever)."""
    loop = asyncio.get_running_loop()
    deadline = None if timeout_s is None else loop.time() + timeout_s
    while not (all(f.ready() for f in feeds) and also()):
        if deadline is not None and loop.time() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True
