"""A synthetic runner: realistic tibia, foot or sacrum accelerations with their ground truth.

The model has two layers, so several sensors on one runner agree with each other:

1. the *gait timeline* (:func:`simulate_gait`): every foot strike of both legs, its impact and
   contact time, from the cadence/speed schedule, asymmetry, fatigue and step-to-step
   variability. It depends only on the gait parameters and ``seed`` — not on placement/side —
   so a left and a right tibia sensor built with the same parameters see the same strikes;
2. the *sensor rendering* (:func:`render`): what one sensor at one placement measures —
   gravity projected through the segment's angle over the stride, the impact transient
   (~10 ms wide), its soft-tissue rebound, the active (loading) phase, push-off, swing,
   the other leg's strikes arriving weakly, noise, and finally int16 quantisation with
   saturation at ±``accel_range_g`` (:func:`footfall.wire.frame.g_to_counts`).

Sensor axes (named constants below, also in docs/simulators.md), specific force in g, so a
sensor standing still upright reads (+1, 0, 0):

- tibia: x = axial along the shank, + towards the knee; y = anterior (+ forward);
  z = medio-lateral (+ lateral).
- foot (instep): x = normal to the dorsum, + up; y = along the foot, + towards the toes;
  z = medio-lateral (+ lateral).
- sacrum: x = vertical, + up; y = anterior-posterior (+ forward); z = medio-lateral.

Numbers the model is built on (see docs/simulators.md for sources): tibial PTA 8–14 g on a
treadmill at 2.7–3.7 m/s, ≈ +3.8 g per m/s (Sheerin 2020); cadence ≈ +5.6 spm per m/s
(Burns 2019); stance 95–270 ms; fatigue lowers cadence and raises PTA and contact time late in
a run (Apte 2021).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, TypeAlias

import numpy as np
import numpy.typing as npt

from footfall.core.vocab import Placement, Side
from footfall.wire.frame import INT16_FULL_SCALE, g_to_counts

#: a value over time: a constant, or (time_s, value) points linearly interpolated and held
#: constant before the first and after the last point
Schedule: TypeAlias = float | tuple[tuple[float, float], ...]
FloatArray: TypeAlias = npt.NDArray[np.float64]
BoolArray: TypeAlias = npt.NDArray[np.bool_]

AXIS_AXIAL = 0  # x: tibia long axis / foot dorsum normal / sacrum vertical
AXIS_ANTERIOR = 1  # y: forward
AXIS_LATERAL = 2  # z: medio-lateral
AXIS_NAMES: dict[str, tuple[str, str, str]] = {
    "tibia": ("axial (+ towards knee)", "anterior", "lateral"),
    "foot": ("dorsum normal (+ up)", "towards toes", "lateral"),
    "sacrum": ("vertical (+ up)", "anterior", "lateral"),
}

REFERENCE_SPEED_MPS = 3.0
#: Burns 2019: cadence rises ≈ 5.6 spm per m/s
CADENCE_SPEED_SLOPE_SPM_PER_MPS = 5.6
CADENCE_AT_REFERENCE_SPM = 170.0
#: impact rise per m/s: tibia +3.8 g from 2.7 to 3.7 m/s (Sheerin 2020); foot scaled with
#: the tibia; sacrum fitted to the Alcantara 2022 trials (peaks ~3 g at 2.5, ~3.5 g at 4.17 m/s)
PTA_SPEED_SLOPE_G_PER_MPS: dict[str, float] = {"tibia": 3.8, "foot": 4.9, "sacrum": 0.5}
#: impact peak at each placement at the reference speed (tibia: mid of the 8–14 g range)
IMPACT_AT_REFERENCE_G: dict[str, float] = {"tibia": 10.0, "foot": 13.0, "sacrum": 3.0}
#: how strongly a leg sensor sees the other leg's strike (gait.md: "weakly")
CONTRALATERAL_RATIO: dict[str, float] = {"tibia": 0.12, "foot": 0.10, "sacrum": 1.0}
#: truth peak search half-window around the nominal impact instant
PEAK_SEARCH_S = 0.010


@dataclass(frozen=True, slots=True)
class RunnerParams:
    """Everything the synthetic runner needs; every parameter has a realistic default.

    ``cadence_spm=None`` derives the cadence from the speed (170 spm at 3 m/s, +5.6 spm per
    m/s); ``pta_g=None`` derives the impact from placement and speed (tibia 10 g at 3 m/s,
    +3.8 g per m/s). ``pta_g`` is the impact peak on the sensor's axial axis at that placement.
    ``asymmetry_pct`` is the symmetry index of impact, (R − L) / max(R, L) × 100, with the
    mean of both legs kept at ``pta_g``. Fatigue ramps linearly from
    ``fatigue_start_fraction`` of the run to its end, reaching the given percentages.
    """

    cadence_spm: Schedule | None = None
    speed_mps: Schedule = REFERENCE_SPEED_MPS
    pta_g: Schedule | None = None
    asymmetry_pct: float = 0.0
    duty_factor: float = 0.36  # contact / stride time at 3 m/s (≈ 0.25 s at 170 spm)
    fatigue_start_fraction: float = 0.6
    fatigue_cadence_drop_pct: float = 0.0
    fatigue_pta_rise_pct: float = 0.0
    fatigue_contact_rise_pct: float = 0.0
    step_time_cv_pct: float = 1.5  # step-to-step interval variability
    impact_cv_pct: float = 8.0  # step-to-step PTA variability
    noise_g: float = 0.03  # white sensor noise, 1 sigma per axis
    sample_rate_hz: float = 1000.0
    accel_range_g: int = 16
    placement: Placement = Placement.TIBIA
    side: Side = Side.LEFT
    first_strike_side: Literal["left", "right"] = "left"
    start_delay_s: float = 0.2  # time of the first strike
    seed: int = 0
    #: BLE transport defects applied by :mod:`footfall.simulators.framing`
    packet_loss_pct: float = 0.0
    jitter_ms: float = 0.0

    def __post_init__(self) -> None:
        if self.placement not in IMPACT_AT_REFERENCE_G:
            raise ValueError(f"placement must be tibia, foot or sacrum, got {self.placement!r}")
        if self.placement == "sacrum" and self.side not in ("none", "left", "right"):
            raise ValueError(f"invalid side {self.side!r}")
        if self.placement != "sacrum" and self.side not in ("left", "right"):
            raise ValueError(f"a {self.placement} sensor is on the left or right leg")
        if not 0.15 <= self.duty_factor <= 0.5:
            raise ValueError(f"duty_factor {self.duty_factor} outside running range 0.15-0.5")
        if self.sample_rate_hz <= 0 or self.accel_range_g <= 0:
            raise ValueError("sample_rate_hz and accel_range_g must be positive")
        if not 0 <= self.packet_loss_pct < 100:
            raise ValueError(f"packet_loss_pct must be in [0, 100), got {self.packet_loss_pct}")


@dataclass(frozen=True, slots=True)
class Gait:
    """Every foot strike of both legs (the runner, independent of any sensor)."""

    time_s: FloatArray  # impact peak instant of each strike
    side: npt.NDArray[np.str_]  # "left" | "right"
    impact_g: FloatArray  # the striking leg's own impact peak (axial, true)
    contact_s: FloatArray  # stance duration of that strike
    duration_s: float
    profile: ProfileTruth


@dataclass(frozen=True, slots=True)
class ProfileTruth:
    """The model's smooth targets over time (10 Hz), incl. schedule and fatigue."""

    time_s: FloatArray
    cadence_spm: FloatArray
    speed_mps: FloatArray
    pta_g: FloatArray  # mean of both legs at the placement
    contact_s: FloatArray

    def cadence_at(self, time_s: npt.ArrayLike) -> FloatArray:
        return np.interp(np.asarray(time_s, dtype=np.float64), self.time_s, self.cadence_spm)


@dataclass(frozen=True, slots=True)
class StepTruth:
    """Strikes as seen by one sensor: what a perfect detector on this stream should report.

    ``own_leg`` is True for strikes of the leg the sensor is on (always True on the sacrum,
    which sees every step). A tibia/foot detector should report the ``own_leg`` strikes; the
    others are in the signal only weakly (``impact_g`` ≈ 12 % of the other leg's own impact).
    ``time_s`` is the resultant's peak (noise-free, before clipping) within ±10 ms of the
    modelled impact; ``impact_g`` that peak value; ``impact_axial_g`` the axial peak;
    ``clipped`` whether any axis sat at the rail within ±10 ms of it.
    """

    time_s: FloatArray
    impact_g: FloatArray
    impact_axial_g: FloatArray
    side: npt.NDArray[np.str_]
    own_leg: BoolArray
    clipped: BoolArray
    leg_impact_g: FloatArray  # the striking leg's own impact (what its own sensor sees)
    contact_s: FloatArray

    def own(self) -> StepTruth:
        """Only the strikes this sensor should detect."""
        m = self.own_leg
        return StepTruth(self.time_s[m], self.impact_g[m], self.impact_axial_g[m],
                         self.side[m], self.own_leg[m], self.clipped[m], self.leg_impact_g[m],
                         self.contact_s[m])

    def __len__(self) -> int:
        return int(self.time_s.shape[0])


@dataclass(frozen=True, slots=True)
class SyntheticRun:
    """One sensor's recording and its truth.

    ``accel_g`` is what the sensor reports: noise, int16 quantisation and saturation at
    ±``accel_range_g`` included (exactly ``counts * range / 32768``). ``true_accel_g`` is the
    same motion unclipped and unquantised (with noise). Sample ``i`` is at ``i / rate`` s.
    """

    accel_g: FloatArray  # shape (n, 3): x axial, y anterior, z lateral (see module doc)
    counts: npt.NDArray[np.int16]  # shape (n, 3), as the sensor would send them
    true_accel_g: FloatArray
    sample_rate_hz: float
    accel_range_g: int
    placement: Placement
    side: Side
    truth: StepTruth
    profile: ProfileTruth
    params: RunnerParams = field(repr=False)

    @property
    def n_samples(self) -> int:
        return int(self.accel_g.shape[0])

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.sample_rate_hz

    @property
    def time_s(self) -> FloatArray:
        return np.arange(self.n_samples, dtype=np.float64) / self.sample_rate_hz

    @property
    def cadence_spm(self) -> FloatArray:
        """True cadence (steps/min, both legs) at the profile's 10 Hz time base."""
        return self.profile.cadence_spm


def schedule_values(schedule: Schedule, time_s: FloatArray) -> FloatArray:
    """Evaluate a :data:`Schedule` at ``time_s``."""
    if isinstance(schedule, int | float):
        return np.full(time_s.shape, float(schedule))
    points = np.asarray(schedule, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2 or points.shape[0] == 0:
        raise ValueError("a schedule is a number or ((time_s, value), ...) pairs")
    if np.any(np.diff(points[:, 0]) < 0):
        raise ValueError("schedule times must not decrease")
    return np.interp(time_s, points[:, 0], points[:, 1])


def treadmill_protocol(
    stages: Sequence[tuple[float, float]], ramp_s: float = 5.0
) -> tuple[tuple[float, float], ...]:
    """A speed schedule from (duration_s, speed_mps) stages, belt ramping ``ramp_s`` between."""
    points: list[tuple[float, float]] = []
    t = 0.0
    for duration_s, speed in stages:
        start = t if not points else t + min(ramp_s, duration_s / 2)
        points += [(start, speed), (t + duration_s, speed)]
        t += duration_s
    return tuple(points)


def _fatigue(params: RunnerParams, t: FloatArray, duration_s: float) -> FloatArray:
    start = params.fatigue_start_fraction * duration_s
    span = max(duration_s - start, 1e-9)
    return np.clip((t - start) / span, 0.0, 1.0)


def _profile(params: RunnerParams, duration_s: float) -> ProfileTruth:
    t = np.arange(0.0, duration_s + 0.1, 0.1)
    speed = schedule_values(params.speed_mps, t)
    fatigue = _fatigue(params, t, duration_s)
    if params.cadence_spm is None:
        cadence = CADENCE_AT_REFERENCE_SPM + CADENCE_SPEED_SLOPE_SPM_PER_MPS * (
            speed - REFERENCE_SPEED_MPS)
    else:
        cadence = schedule_values(params.cadence_spm, t)
    cadence = cadence * (1 - fatigue * params.fatigue_cadence_drop_pct / 100)
    if params.pta_g is None:
        pta = IMPACT_AT_REFERENCE_G[params.placement] + PTA_SPEED_SLOPE_G_PER_MPS[
            params.placement] * (speed - REFERENCE_SPEED_MPS)
    else:
        pta = schedule_values(params.pta_g, t)
    pta = np.maximum(pta, 0.5) * (1 + fatigue * params.fatigue_pta_rise_pct / 100)
    # faster running shortens contact more than the stride (≈ speed^-0.45 on the duty factor
    # matches the Alcantara 2022 runner: ~250 ms at 2.5 m/s, ~190 ms at 4.17 m/s)
    duty = params.duty_factor * (REFERENCE_SPEED_MPS / np.maximum(speed, 0.5)) ** 0.45
    contact = (2 * 60.0 / cadence) * np.clip(duty, 0.15, 0.5)
    contact = contact * (1 + fatigue * params.fatigue_contact_rise_pct / 100)
    return ProfileTruth(t, cadence, speed, pta, contact)


def _leg_scale(asymmetry_pct: float) -> tuple[float, float]:
    """(left, right) factors with mean 1 and (R − L) / max(R, L) = asymmetry."""
    a = min(abs(asymmetry_pct), 99.0) / 100
    high, low = 2 / (2 - a), 2 * (1 - a) / (2 - a)
    return (low, high) if asymmetry_pct >= 0 else (high, low)


def simulate_gait(params: RunnerParams, duration_s: float) -> Gait:
    """Strike times, impacts and contact times of both legs; depends only on gait params."""
    if duration_s <= 0:
        raise ValueError(f"duration_s must be positive, got {duration_s}")
    profile = _profile(params, duration_s)
    rng = np.random.default_rng(np.random.SeedSequence(params.seed, spawn_key=(1,)))
    times: list[float] = []
    t = params.start_delay_s
    while t < duration_s:
        times.append(t)
        interval = 60.0 / float(np.interp(t, profile.time_s, profile.cadence_spm))
        t += interval * (1 + params.step_time_cv_pct / 100 * float(rng.standard_normal()))
    time_s = np.asarray(times, dtype=np.float64)
    first_left = params.first_strike_side == "left"
    is_left = (np.arange(time_s.size) % 2 == 0) == first_left
    side = np.where(is_left, "left", "right")
    left, right = _leg_scale(params.asymmetry_pct)
    variability = 1 + params.impact_cv_pct / 100 * rng.standard_normal(time_s.size)
    impact = (np.interp(time_s, profile.time_s, profile.pta_g) * np.where(is_left, left, right)
              * np.clip(variability, 0.5, 1.5))
    contact = np.interp(time_s, profile.time_s, profile.contact_s)
    return Gait(time_s, side, impact, contact, duration_s, profile)


# --- sensor rendering -------------------------------------------------------------------------


def _smooth_interp(x: FloatArray, xp: Sequence[float], fp: Sequence[float]) -> FloatArray:
    """Like np.interp, but with smoothstep easing so the curve has no corners."""
    xp_a, fp_a = np.asarray(xp), np.asarray(fp)
    i = np.clip(np.searchsorted(xp_a, x, side="right") - 1, 0, len(xp_a) - 2)
    u = np.clip((x - xp_a[i]) / (xp_a[i + 1] - xp_a[i]), 0.0, 1.0)
    u = u * u * (3 - 2 * u)
    return np.asarray(fp_a[i] + (fp_a[i + 1] - fp_a[i]) * u, dtype=np.float64)


def _bump(x: FloatArray, centre: float, width: float) -> FloatArray:
    return np.exp(-0.5 * ((x - centre) / width) ** 2)


def _impact_pulse(dt_s: FloatArray, width_scale: float = 1.0) -> FloatArray:
    """Unit impact transient peaking at dt = 0: fast rise, slightly slower decay
    (FWHM ≈ 10 ms), then the soft-tissue rebound below zero and a small second swing."""
    rise, decay = 0.0035 * width_scale, 0.0050 * width_scale
    sigma = np.where(dt_s < 0, rise, decay)
    pulse = np.exp(-0.5 * (dt_s / sigma) ** 2)
    pulse -= 0.30 * _bump(dt_s, 0.016 * width_scale, 0.006 * width_scale)
    pulse += 0.10 * _bump(dt_s, 0.034 * width_scale, 0.008 * width_scale)
    return np.asarray(pulse, dtype=np.float64)


def _leg_kinematics(
    t: FloatArray, strikes: FloatArray, contact: FloatArray, speed: FloatArray,
    placement: Placement,
) -> FloatArray:
    """Gravity projection + active phase + push-off + swing of one leg segment, (n, 3)."""
    out = np.zeros((t.size, 3))
    if strikes.size == 0:
        return out
    # stride boundaries: extrapolate one stride before the first and after the last strike
    stride = float(np.median(np.diff(strikes))) if strikes.size > 1 else 0.7
    edges = np.concatenate(([strikes[0] - stride], strikes, [strikes[-1] + stride]))
    tcs = np.concatenate(([contact[0]], contact, [contact[-1]]))
    k = np.clip(np.searchsorted(edges, t, side="right") - 1, 0, edges.size - 2)
    start, length, tc = edges[k], edges[k + 1] - edges[k], tcs[k]
    since = t - start
    duty = np.clip(tc / length, 0.15, 0.6)
    phase = since / length
    swing_u = np.clip((phase - duty) / (1 - duty), 0.0, 1.0)  # 0 at toe-off, 1 at strike
    in_stance = since < tc
    vigour = speed / REFERENCE_SPEED_MPS
    if placement == "tibia":
        # shank inclination (deg, + = ankle in front of knee) over the stride
        angle = np.where(in_stance, _smooth_interp(since / tc, [0, 1], [8, -40]),
                         _smooth_interp(swing_u, [0, 0.3, 0.8, 1.0], [-40, -70, 22, 8]))
        active = np.where(in_stance, np.sin(np.pi * np.clip(since / tc, 0, 1)) ** 2, 0.0) * 1.3
        axial_swing = vigour * (1.6 * _bump(swing_u, 0.22, 0.10) - 1.3 * _bump(swing_u, 0.88, 0.06))
        ap_swing = vigour * (2.4 * _bump(swing_u, 0.45, 0.14) - 2.2 * _bump(swing_u, 0.86, 0.06))
        push = vigour * 1.8 * _bump(since - tc, -0.02, 0.02)
        lat = vigour * 0.5 * np.sin(2 * np.pi * phase)
    elif placement == "foot":
        # foot pitch (deg, + = toes up): heel strike, foot flat, heel rise, toe-off, swing
        angle = np.where(in_stance, _smooth_interp(since / tc, [0, 0.2, 0.55, 1], [15, 0, 0, -55]),
                         _smooth_interp(swing_u, [0, 0.25, 0.8, 1.0], [-55, -40, 20, 15]))
        active = np.zeros(t.size)
        axial_swing = vigour * (3.0 * _bump(swing_u, 0.15, 0.08) - 1.5 * _bump(swing_u, 0.9, 0.05))
        ap_swing = vigour * (5.5 * _bump(swing_u, 0.45, 0.15) - 4.5 * _bump(swing_u, 0.87, 0.06))
        push = vigour * 3.0 * _bump(since - tc, -0.015, 0.015)
        lat = vigour * 0.8 * np.sin(2 * np.pi * phase)
    else:
        raise ValueError(f"no leg kinematics for placement {placement!r}")
    theta = np.radians(angle)
    out[:, AXIS_AXIAL] = np.cos(theta) + active + axial_swing + push
    out[:, AXIS_ANTERIOR] = np.sin(theta) + ap_swing + 0.5 * push
    out[:, AXIS_LATERAL] = lat
    return out


def _sacrum_motion(t: FloatArray, gait: Gait, speed: FloatArray) -> FloatArray:
    """Trunk: a loading hump per step of either leg (≈ 0 g in flight), braking then
    propulsion fore-aft, sway towards the stance leg."""
    out = np.zeros((t.size, 3))
    out[:, AXIS_AXIAL] = 0.0
    vigour = speed / REFERENCE_SPEED_MPS
    for i, (strike, tc) in enumerate(zip(gait.time_s, gait.contact_s, strict=True)):
        step = float(gait.time_s[i + 1] - strike) if i + 1 < gait.time_s.size else 60 / 170
        # the hump's amplitude keeps the mean vertical specific force at 1 g
        peak = math.pi * step / (2 * tc)
        # contact starts ~30 ms before the transient's peak (Alcantara 2022 sacral traces);
        # the loading hump peaks early in stance and decays towards toe-off
        lo, hi = np.searchsorted(t, [strike - 0.03, strike - 0.03 + tc])
        u = (t[lo:hi] - strike + 0.03) / tc
        hump = np.sin(np.pi * np.clip(u, 0, 1) ** 0.8)
        out[lo:hi, AXIS_AXIAL] += peak * hump
        out[lo:hi, AXIS_ANTERIOR] += -0.5 * vigour[lo:hi] * np.sin(2 * np.pi * np.clip(u, 0, 1))
        sway = 0.25 if gait.side[i] == "left" else -0.25
        out[lo:hi, AXIS_LATERAL] += sway * hump
    return out


def render(gait: Gait, params: RunnerParams) -> SyntheticRun:
    """What one sensor (``params.placement``/``params.side``) measures for this gait."""
    rate = params.sample_rate_hz
    n = round(gait.duration_s * rate)
    t = np.arange(n, dtype=np.float64) / rate
    speed = np.interp(t, gait.profile.time_s, gait.profile.speed_mps)
    placement = params.placement
    if placement == "sacrum":
        own = np.ones(gait.time_s.size, dtype=bool)
        clean = _sacrum_motion(t, gait, speed)
    else:
        own = gait.side == params.side
        clean = _leg_kinematics(t, gait.time_s[own], gait.contact_s[own], speed, placement)

    # impact transients: own leg sharp, the other leg's (for leg sensors) weak and smeared
    ratio = CONTRALATERAL_RATIO[placement]
    half = round(0.08 * rate)
    for i, strike in enumerate(gait.time_s):
        centre = round(strike * rate)
        lo, hi = max(centre - half, 0), min(centre + half, n)
        if lo >= hi:
            continue
        dt = t[lo:hi] - strike
        if own[i] and placement != "sacrum":
            baseline = float(clean[min(centre, n - 1), AXIS_AXIAL])
            amp = max(float(gait.impact_g[i]) - baseline, 0.0)
            pulse = _impact_pulse(dt)
            clean[lo:hi, AXIS_AXIAL] += amp * pulse
            clean[lo:hi, AXIS_ANTERIOR] -= 0.35 * amp * _impact_pulse(dt + 0.002)
            clean[lo:hi, AXIS_LATERAL] += 0.12 * amp * pulse
        else:
            # the body low-passes the transient on its way to the trunk / other leg
            sacrum = placement == "sacrum"
            pulse = _impact_pulse(dt, width_scale=2.0 if sacrum else 2.5)
            amp = ratio * float(gait.impact_g[i])
            if sacrum:
                amp = max(amp - float(clean[min(centre, n - 1), AXIS_AXIAL]), 0.0)
            clean[lo:hi, AXIS_AXIAL] += amp * pulse
            clean[lo:hi, AXIS_ANTERIOR] -= (0.45 if sacrum else 0.2) * amp * pulse

    side_key = {"left": 1, "right": 2, "none": 3}[params.side]
    place_key = {"tibia": 1, "foot": 2, "sacrum": 3}[placement]
    rng = np.random.default_rng(np.random.SeedSequence(params.seed, spawn_key=(2, place_key,
                                                                                 side_key)))
    noisy = clean + params.noise_g * rng.standard_normal(clean.shape)
    counts = g_to_counts(noisy, params.accel_range_g)
    reported = counts.astype(np.float64) * (params.accel_range_g / INT16_FULL_SCALE)
    truth = _truth(t, clean, counts, gait, own, rate)
    return SyntheticRun(reported, counts, noisy, rate, params.accel_range_g, placement,
                        params.side, truth, gait.profile, params)


def _truth(t: FloatArray, clean: FloatArray, counts: npt.NDArray[np.int16], gait: Gait,
           own: BoolArray, rate: float) -> StepTruth:
    resultant = np.linalg.norm(clean, axis=1)
    rail = (counts >= INT16_FULL_SCALE - 1) | (counts <= -INT16_FULL_SCALE)
    w = max(round(PEAK_SEARCH_S * rate), 1)
    n = t.size
    peak_t, peak_g, peak_axial, clipped = [], [], [], []
    keep = np.zeros(gait.time_s.size, dtype=bool)
    for i, strike in enumerate(gait.time_s):
        centre = round(strike * rate)
        lo, hi = centre - w, centre + w + 1
        if lo < 0 or hi > n:
            continue  # a strike cut by the start or end of the recording has no truth
        j = lo + int(np.argmax(resultant[lo:hi]))
        keep[i] = True
        peak_t.append(t[j])
        peak_g.append(resultant[j])
        peak_axial.append(float(np.max(clean[lo:hi, AXIS_AXIAL])))
        clipped.append(bool(rail[max(j - w, 0):j + w + 1].any()))
    return StepTruth(
        time_s=np.asarray(peak_t, dtype=np.float64),
        impact_g=np.asarray(peak_g, dtype=np.float64),
        impact_axial_g=np.asarray(peak_axial, dtype=np.float64),
        side=gait.side[keep],
        own_leg=own[keep],
        clipped=np.asarray(clipped, dtype=bool),
        leg_impact_g=gait.impact_g[keep],
        contact_s=gait.contact_s[keep],
    )


def synthesize(params: RunnerParams, duration_s: float) -> SyntheticRun:
    """Simulate ``duration_s`` of running and render it for the sensor in ``params``."""
    return render(simulate_gait(params, duration_s), params)
