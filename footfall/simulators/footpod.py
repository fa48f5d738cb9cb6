"""A foot pod on the synthetic runner: RSC samples (speed, cadence) like a BLE RSC sensor's.

A pod reports about once a second; its cadence is the step rate over the last few steps (both
legs, steps/min) and its speed the belt speed plus a little measurement noise. Feed these to
the device emulators for RSC bytes, or straight into a session with :func:`rsc_track`.
"""

from __future__ import annotations

import numpy as np

from footfall.core.vocab import Placement, Side
from footfall.recordings.tracks import DeviceTrack
from footfall.simulators.runner import Gait
from footfall.wire.events import DeviceMeta, RscSample
from footfall.wire.topics import Stream

#: steps averaged into one cadence value (pods smooth over a few seconds)
CADENCE_WINDOW_STEPS = 6
SPEED_NOISE_MPS = 0.03


def rsc_samples(gait: Gait, *, start_utc_ns: int, interval_s: float = 1.0,
                seed: int = 0) -> list[RscSample]:
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(4,)))
    out: list[RscSample] = []
    distance_m = 0.0
    t = interval_s
    while t <= gait.duration_s:
        done = gait.time_s[gait.time_s <= t]
        if done.size > CADENCE_WINDOW_STEPS:
            recent = done[-(CADENCE_WINDOW_STEPS + 1):]
            cadence = 60.0 * CADENCE_WINDOW_STEPS / float(recent[-1] - recent[0])
            speed = float(np.interp(t, gait.profile.time_s, gait.profile.speed_mps))
            distance_m += speed * interval_s
            out.append(RscSample(
                time_ns=start_utc_ns + round(t * 1e9),
                speed_mps=round(max(speed + SPEED_NOISE_MPS * float(rng.standard_normal()),
                                    0.0), 3),
                cadence_spm=round(cadence, 1), running=True,
                total_distance_m=round(distance_m, 2), seq=len(out)))
        t += interval_s
    return out


def rsc_track(gait: Gait, *, start_utc_ns: int, device: str = "footpod",
              interval_s: float = 1.0, seed: int = 0) -> DeviceTrack:
    meta = DeviceMeta(profile="rsc", placement=Placement.FOOT, side=Side.NONE,
                      sample_rate_hz=1.0 / interval_s, model="footfall synthetic foot pod")
    samples = rsc_samples(gait, start_utc_ns=start_utc_ns, interval_s=interval_s, seed=seed)
    return DeviceTrack(device, meta, [(s.time_ns, Stream.RSC, s.to_json()) for s in samples])
