"""Play a synthetic run as the exact notifications a given BLE device would send.

:func:`notifications` turns one sensor's :class:`~footfall.simulators.runner.SyntheticRun` into
``(delivery time offset in s, [(characteristic, bytes), …])`` for a profile, through that
profile's emulator, so the gateway's whole BLE path (parser, clocks, gap rules, spool) can be
driven by realistic motion with known ground truth. The run must be rendered at a rate the
device supports (Polar 25/50/100/200 Hz, Movesense 13…1666 Hz, WitMotion its rate codes);
values beyond the device's range saturate as on the device.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import numpy as np

from footfall.ingest.profiles import footfall_open, movesense, polar_pmd, rsc, witmotion
from footfall.simulators.devices.base import EmulatedDevice, Notification
from footfall.simulators.devices.ble import EmulatorLink
from footfall.simulators.devices.footfall_open import OpenImu
from footfall.simulators.devices.movesense import MovesenseImu
from footfall.simulators.devices.polar_pmd import PolarAcc
from footfall.simulators.devices.rsc import RscPod
from footfall.simulators.devices.witmotion import WitMotionImu
from footfall.simulators.runner import Placement, RunnerParams, Side, SyntheticRun, synthesize

#: sensor clock at the start of a played run: Polar's ns since 2000, Movesense ms
POLAR_T0_NS = 800_000_000 * 10**9  # 2025-05-09, a clock set by the phone app
MOVESENSE_T0_MS = 123_456

Timed = tuple[float, list[Notification]]


def ready_device(profile: str, run: SyntheticRun, *, polar_range_g: int = 8) -> object:
    """An emulator for ``profile`` already started (as the gateway's start command would)."""
    rate = round(run.sample_rate_hz)
    if profile == "footfall":
        return OpenImu(sample_rate_hz=rate, accel_range_g=run.accel_range_g, started=True,
                       notifying=True)
    if profile == "polar-pmd":
        dev = PolarAcc(streaming_acc=True, sample_rate_hz=rate, range_g=polar_range_g)
        dev.notifying.add(polar_pmd.DATA_UUID)
        return dev
    if profile == "movesense":
        return MovesenseImu(subscriptions={1: movesense.acc_path(rate)}, notifying=True)
    if profile == "witmotion":
        imu = WitMotionImu(rate_hz=rate)
        imu.on_notify_enabled(witmotion.NOTIFY_UUID)
        return imu
    if profile == "rsc":
        pod = RscPod()
        pod.on_notify_enabled(rsc.MEASUREMENT_UUID)
        return pod
    raise KeyError(profile)


def notifications(run: SyntheticRun, profile: str, *, samples_per_notification: int = 10,
                  device: object | None = None, polar_range_g: int = 8,
                  rsc_interval_s: float = 1.0) -> Iterator[Timed]:
    """The notifications in delivery order, each batch when its last sample exists."""
    dev = device or ready_device(profile, run, polar_range_g=polar_range_g)
    fs = run.sample_rate_hz
    if profile == "rsc":
        if not isinstance(dev, RscPod):
            raise TypeError("an RSC profile needs an RscPod")
        t = rsc_interval_s
        while t <= run.duration_s:
            cadence = float(np.interp(t, run.profile.time_s, run.profile.cadence_spm))
            speed = float(np.interp(t, run.profile.time_s, run.profile.speed_mps))
            data = dev.measurement(speed_mps=speed, cadence_spm=cadence, interval_s=rsc_interval_s)
            yield t, [(rsc.MEASUREMENT_UUID, data)]
            t += rsc_interval_s
        return
    n = samples_per_notification
    for start in range(0, run.n_samples - n + 1, n):
        stop = start + n
        due_s = stop / fs  # the last sample of the batch exists
        yield due_s, _batch(profile, dev, run, start, stop)


def _batch(profile: str, dev: object, run: SyntheticRun, start: int,
           stop: int) -> list[Notification]:
    fs = run.sample_rate_hz
    if isinstance(dev, OpenImu):
        return [(footfall_open.DATA_UUID, dev.frame(run.counts[start:stop].tolist()))]
    if isinstance(dev, PolarAcc):
        limit = dev.range_g * 1000
        mg = np.clip(np.rint(run.accel_g[start:stop] * 1000), -limit, limit - 1).astype(int)
        last_ns = POLAR_T0_NS + round((stop - 1) * 1e9 / fs)
        return dev.frame([(int(x), int(y), int(z)) for x, y, z in mg], last_ns)
    if isinstance(dev, MovesenseImu):
        mps2 = run.accel_g[start:stop] * movesense.STANDARD_GRAVITY
        ts_ms = MOVESENSE_T0_MS + round(start * 1000 / fs)
        return dev.acc(ts_ms, [(float(x), float(y), float(z)) for x, y, z in mps2])
    if isinstance(dev, WitMotionImu):
        scale = 32768 / 16  # WitMotion counts are always ±16 g
        raw = np.clip(np.rint(run.accel_g[start:stop] * scale), -32768, 32767).astype(int)
        return dev.frames([(int(x), int(y), int(z)) for x, y, z in raw])
    raise TypeError(f"no player for {type(dev).__name__}")


async def play_into(link: EmulatorLink, run: SyntheticRun, profile: str, *, speed: float = 1.0,
                    samples_per_notification: int = 10,
                    clock: Callable[[], float] | None = None) -> int:
    """Play ``run`` into a fake BLE link in real time (× ``speed``); returns batches played.

    The link's own device is used, so it streams only once the gateway has started it (a
    device not yet started drops its samples, like the real one).
    """
    loop = asyncio.get_running_loop()
    now = clock or loop.time
    start = now()
    played = 0
    for due_s, _ in _schedule(run, profile, samples_per_notification):
        wait = start + due_s / speed - now()
        if wait > 0:
            await asyncio.sleep(wait)
        link.notify(_batch_for(link.device, profile, run, due_s, samples_per_notification))
        played += 1
    return played


def _schedule(run: SyntheticRun, profile: str, n: int) -> Iterator[tuple[float, None]]:
    if profile == "rsc":
        t = 1.0
        while t <= run.duration_s:
            yield t, None
            t += 1.0
        return
    for start in range(0, run.n_samples - n + 1, n):
        yield (start + n) / run.sample_rate_hz, None


def _batch_for(device: object, profile: str, run: SyntheticRun, due_s: float,
               n: int) -> list[Notification]:
    if isinstance(device, RscPod):
        cadence = float(np.interp(due_s, run.profile.time_s, run.profile.cadence_spm))
        speed = float(np.interp(due_s, run.profile.time_s, run.profile.speed_mps))
        if not device.streaming:
            return []
        return [(rsc.MEASUREMENT_UUID, device.measurement(speed_mps=speed, cadence_spm=cadence))]
    stop = round(due_s * run.sample_rate_hz)
    return _batch(profile, device, run, stop - n, stop)


def emulator_for(profile: str, *, sample_rate_hz: int, accel_range_g: int = 16) -> EmulatedDevice:
    """A fresh (not yet started) emulator of ``profile``, for the fake BLE hub."""
    if profile == "footfall":
        return OpenImu(sample_rate_hz=sample_rate_hz, accel_range_g=accel_range_g)
    if profile == "polar-pmd":
        return PolarAcc()
    if profile == "movesense":
        return MovesenseImu()
    if profile == "witmotion":
        return WitMotionImu()
    if profile == "rsc":
        return RscPod()
    raise KeyError(profile)


def runner_for(placement: str, side: str, *, sample_rate_hz: float, duration_s: float,
               seed: int = 0, cadence_spm: float | None = None) -> SyntheticRun:
    """A synthetic run for a sensor worn at ``placement``/``side`` (chest/wrist ≈ sacrum)."""
    where: Placement = "tibia" if placement == "tibia" else "foot" if placement == "foot" \
        else "sacrum"
    leg: Side = "left" if side == "left" else "right" if side == "right" else (
        "left" if where != "sacrum" else "none")
    return synthesize(RunnerParams(sample_rate_hz=sample_rate_hz, placement=where, side=leg,
                                   seed=seed, cadence_spm=cadence_spm), duration_s)
