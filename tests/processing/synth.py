"""A small, dependency-free synthetic leg/sacrum signal for the processing tests.

Deliberately simpler than :mod:`footfall.simulators.runner`: a known strike time list, a
Gaussian impact transient per own-leg strike (~10 ms wide), a weak contralateral strike, a swing
bump, gravity on the axial axis and white noise. Values in g, channel 0 axial.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Synthetic:
    accel_g: FloatArray  # (n, 3)
    sample_rate_hz: float
    strike_times_s: FloatArray  # strikes the sensor should report
    impact_g: FloatArray  # true axial peak of each of those strikes


def leg_run(duration_s: float = 30.0, cadence_spm: float | FloatArray = 170.0,
            sample_rate_hz: float = 1000.0, impact_g: float | FloatArray = 10.0,
            placement: str = "tibia", noise_g: float = 0.05, seed: int = 0,
            start_s: float = 0.3) -> Synthetic:
    """Strikes of both legs at ``cadence_spm`` (constant, or a function of time via an array
    sampled at 10 Hz); a leg placement reports every other strike, the sacrum every one."""
    rng = np.random.default_rng(seed)
    fs = sample_rate_hz
    n = round(duration_s * fs)
    t = np.arange(n) / fs
    grid = np.arange(0.0, duration_s + 0.1, 0.1)
    cad = np.broadcast_to(np.asarray(cadence_spm, dtype=np.float64), grid.shape)
    strikes: list[float] = []
    s = start_s
    while s < duration_s - 0.05:
        strikes.append(s)
        s += 60.0 / float(np.interp(s, grid, cad))
    times = np.asarray(strikes)
    imp = np.broadcast_to(np.asarray(impact_g, dtype=np.float64), grid.shape)
    peak = np.interp(times, grid, imp) * (1 + 0.05 * rng.standard_normal(times.size))
    accel = np.zeros((n, 3))
    accel[:, 0] = 1.0
    own = np.ones(times.size, dtype=bool) if placement == "sacrum" else \
        (np.arange(times.size) % 2 == 0)
    width = 0.05 if placement == "sacrum" else 0.006
    for k, (ts, pk) in enumerate(zip(times, peak, strict=True)):
        amp = (pk - 1.0) if own[k] else 0.12 * (pk - 1.0)
        lo, hi = max(0, int((ts - 0.2) * fs)), min(n, int((ts + 0.3) * fs))
        seg = t[lo:hi] - ts
        accel[lo:hi, 0] += amp * np.exp(-0.5 * (seg / width) ** 2)
        accel[lo:hi, 1] += 0.3 * amp * np.exp(-0.5 * ((seg - 0.004) / width) ** 2)
        if own[k] and placement != "sacrum":  # swing: a slow ~2 g bump mid-stride
            accel[lo:hi, 1] += 1.5 * np.exp(-0.5 * ((seg - 0.2) / 0.04) ** 2)
    accel += noise_g * rng.standard_normal(accel.shape)
    idx = np.clip(np.rint(times[own] * fs).astype(int), 0, n - 1)
    return Synthetic(accel, fs, idx / fs, accel[idx, 0])
