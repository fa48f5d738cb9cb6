"""Scoring the processor on recordings (used by scripts/validate.py and the tests).

Everything goes through the live processor (:mod:`footfall.processing.offline`: the same
router as ``footfall process``); the truth comes from a force plate (sacral data set), from the
synthetic runner, from a second sensor of the same run (the adeptdata ankle and hip), or from a
watch file's own records (:func:`records_figures`: the documented baseline and drift computed
in one batch from the records, not streamed). Strikes are matched to truth with the one matcher,
:func:`footfall.processing.reference.match_contacts`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from footfall.config.analysis import AnalysisConfig
from footfall.core.units import NS
from footfall.core.vocab import Placement, Side
from footfall.processing.activity import RECORD_GAP_S, STOPPED_BELOW_MPS
from footfall.processing.metrics import FINAL_FRACTION, FINAL_MAX_S, weighted_median
from footfall.processing.offline import AnalysisResult, analyze_accel, analyze_file
from footfall.processing.reference import (
    Score,
    fitted_rate_spm,
    match_contacts,
    mean_rate_spm,
    peaks_375ms,
)
from footfall.processing.tuning import CADENCE_SPEED_SLOPE_SPM_PER_MPS
from footfall.recordings.alcantara import SAMPLE_RATE_HZ, Contacts, Trial, grf_contacts
from footfall.recordings.sources import ImportOptions
from footfall.wire.events import RscSample


@dataclass(frozen=True, slots=True)
class TrialScore:
    trial: int
    speed_mps: float
    slope_deg: float
    contacts: int
    true_pos: int
    false_pos: int
    false_neg: int
    #: step rate fitted (least squares) through the matched contacts' onsets / our steps'
    #: rising edges; and the first-to-last mean rate of both
    cadence_truth_spm: float | None
    cadence_spm: float | None
    cadence_truth_mean_spm: float | None
    cadence_mean_spm: float | None
    cadence_median_spm: float | None  # ours: median per-step cadence over the whole trial
    max_delay_ms: float
    median_delay_ms: float

    @property
    def cadence_error_spm(self) -> float | None:
        if self.cadence_spm is None or self.cadence_truth_spm is None:
            return None
        return self.cadence_spm - self.cadence_truth_spm


def step_indices(result: AnalysisResult, sample_rate_hz: float) -> npt.NDArray[np.intp]:
    return np.asarray([round(s.sensor_time_s * sample_rate_hz) for s in result.steps],
                      dtype=np.intp)


def pta_agreement(result: AnalysisResult, signal_g: npt.NDArray[np.float64],
                  sample_rate_hz: float, threshold_g: float = 3.0,
                  axial: bool = False) -> tuple[int, int]:
    """(equal, compared): steps whose impact equals the 375-ms method's peak on ``signal_g``
    (the resultant the processor saw, or with ``axial`` its axial channel — the published
    method's own signal — against ``impact_axial_g``).

    A step is compared when the published method found a peak within ±375 ms of it (below its
    3 g threshold it finds nothing: no comparison is possible there)."""
    ref = peaks_375ms(signal_g, sample_rate_hz, threshold_g=threshold_g)
    if ref.size == 0:
        return 0, 0
    w = round(0.375 * sample_rate_hz)
    equal = compared = 0
    for i, step in zip(step_indices(result, sample_rate_hz).tolist(), result.steps, strict=True):
        k = int(np.argmin(np.abs(ref - i)))
        if abs(int(ref[k]) - i) > w:
            continue
        compared += 1
        ours = step.impact_axial_g if axial else step.impact_g
        equal += int(ours == float(signal_g[ref[k]]) and (axial or int(ref[k]) == i))
    return equal, compared


def quantised_axial(accel_g: npt.NDArray[np.float64], accel_range_g: int) -> npt.NDArray[
        np.float64]:
    """The axial channel as the processor saw it (int16 counts at ``accel_range_g``)."""
    from footfall.wire.frame import INT16_FULL_SCALE, g_to_counts

    counts = g_to_counts(accel_g[:, 0], accel_range_g).astype(np.float64)
    return np.asarray(counts * (accel_range_g / INT16_FULL_SCALE), dtype=np.float64)


def score_sacral(trial: Trial) -> TrialScore:
    result = analyze_accel(trial.accel_g, SAMPLE_RATE_HZ, placement="sacrum")
    contacts = grf_contacts(trial.grf_bw)
    score = match_contacts(step_indices(result, SAMPLE_RATE_HZ), contacts)
    steps = np.asarray([result.steps[n].rise_sensor_time_s for n, _ in score.pairs])
    onsets = np.asarray([contacts.on[k] / SAMPLE_RATE_HZ for _, k in score.pairs])
    delays = [s.confirm_delay_ms or 0.0 for s in result.steps]
    return TrialScore(trial.number, trial.speed_mps, trial.slope_deg,
                      int(contacts.complete.sum()), score.true_pos, score.false_pos,
                      score.false_neg, fitted_rate_spm(onsets), fitted_rate_spm(steps),
                      mean_rate_spm(onsets), mean_rate_spm(steps),
                      result.summary()["cadence_spm"], max(delays, default=0.0),
                      float(np.median(delays)) if delays else 0.0)


def quantised_resultant(accel_g: npt.NDArray[np.float64],
                         accel_range_g: int | None = None) -> npt.NDArray[np.float64]:
    from footfall.recordings.csv import choose_range_g
    from footfall.wire.frame import INT16_FULL_SCALE, g_to_counts

    rng = accel_range_g or choose_range_g(accel_g)
    g = g_to_counts(accel_g, rng).astype(np.float64) * (rng / INT16_FULL_SCALE)
    return np.asarray(np.sqrt(np.einsum("ij,ij->i", g, g)), dtype=np.float64)


# -- strikes against a list of true times (synthetic truth) ---------------------------------


def match_times(found_s: npt.NDArray[np.float64], truth_s: npt.NDArray[np.float64],
                sample_rate_hz: float, tolerance_s: float) -> Score:
    """Detected strikes against true ones within ±``tolerance_s``, each truth once: the one
    matcher (:func:`match_contacts`) with a window around each true strike as its contact."""
    half = max(1, round(tolerance_s * sample_rate_hz))
    centre = np.rint(np.asarray(truth_s) * sample_rate_hz).astype(np.intp)
    order = np.argsort(centre)
    windows = Contacts(on=centre[order] - half, off=centre[order] + half + 1,
                       complete=np.ones(centre.size, dtype=bool))
    found = np.rint(np.asarray(found_s) * sample_rate_hz).astype(np.intp)
    score = match_contacts(found, windows)
    # report truth indices in the caller's order
    return Score(score.true_pos, score.false_pos, score.false_neg,
                 tuple((n, int(order[k])) for n, k in score.pairs))


# -- the adeptdata ankle and hip: one run, two sensors --------------------------------------

ADEPT_ANKLE = "acc_running_left_ankle.csv.gz"
ADEPT_HIP = "acc_running_left_hip.csv.gz"
#: the held-out split (docs/validation.md): parameters were tuned on the run's first half
ADEPT_SPLIT_S = 745.0


@dataclass(frozen=True, slots=True)
class MinuteAgreement:
    """One whole running minute of the ankle and the hip."""

    minute: int
    ankle_spm: float
    hip_spm: float
    ankle_steps: int  # strikes × 2
    hip_steps: int


def analyze_adept(directory: Path, config: AnalysisConfig | None = None
                  ) -> tuple[AnalysisResult, AnalysisResult]:
    """(ankle, hip) as ``footfall analyze`` reads them: ``--placement foot --side left`` and
    ``--placement sacrum``."""
    ankle = analyze_file(directory / ADEPT_ANKLE, "csv",
                         ImportOptions(placement=Placement.FOOT, side=Side.LEFT), config=config)
    hip = analyze_file(directory / ADEPT_HIP, "csv", ImportOptions(placement=Placement.SACRUM),
                       config=config)
    return ankle.results["imu"], hip.results["imu"]


def steps_between(result: AnalysisResult, from_s: float, to_s: float) -> int:
    """Step events with from_s ≤ time < to_s (the input's timebase)."""
    return sum(from_s <= result.input_time_s(s.time_ns) < to_s for s in result.steps)


def running_minutes(ankle: AnalysisResult, hip: AnalysisResult) -> list[MinuteAgreement]:
    """Whole minutes of the recording in which both sensors report running every second (no
    stop, no walk): their median per-second cadence and their steps (ankle strikes × 2)."""
    def by_minute(r: AnalysisResult) -> dict[int, list[tuple[str | None, float | None]]]:
        out: dict[int, list[tuple[str | None, float | None]]] = {}
        for m in r.metrics:
            if not m.final:
                out.setdefault(int(r.input_time_s(m.time_ns) // 60), []).append(
                    (m.activity, m.cadence_spm))
        return out

    a, h = by_minute(ankle), by_minute(hip)
    rows = []
    for k in sorted(set(a) & set(h)):
        both = a[k] + h[k]
        if len(a[k]) < 60 or len(h[k]) < 60 or any(act != "running" for act, _ in both):
            continue
        ca = [c for _, c in a[k] if c is not None]
        ch = [c for _, c in h[k] if c is not None]
        if ca and ch:
            rows.append(MinuteAgreement(k, float(np.median(ca)), float(np.median(ch)),
                                        2 * steps_between(ankle, 60 * k, 60 * k + 60),
                                        steps_between(hip, 60 * k, 60 * k + 60)))
    return rows


# -- a watch file's own records: the documented definitions in one batch --------------------


@dataclass(frozen=True, slots=True)
class RecordFigures:
    """Baseline, end of the run and drift from a run's records (docs/metrics.md)."""

    running_s: float
    walking_s: float
    stopped_s: float
    baseline_spm: float | None
    baseline_mps: float | None
    final_spm: float | None
    final_mps: float | None

    @property
    def change_pct(self) -> float | None:
        if self.baseline_spm is None or self.final_spm is None:
            return None
        return 100.0 * (self.final_spm - self.baseline_spm) / self.baseline_spm

    @property
    def drift_pct(self) -> float | None:
        change = self.change_pct
        if change is None or self.baseline_spm is None:
            return None
        if self.baseline_mps is None or self.final_mps is None:
            return change
        return change - 100.0 * CADENCE_SPEED_SLOPE_SPM_PER_MPS * (
            self.final_mps - self.baseline_mps) / self.baseline_spm


def records_figures(samples: Sequence[RscSample],
                    config: AnalysisConfig | None = None) -> RecordFigures:
    """The run's figures from its records at once: each record stands for the time since the
    previous one (a silence of more than ``RECORD_GAP_S`` for none); it is stopped at cadence
    0 or a speed below ``STOPPED_BELOW_MPS``, else running when the median cadence of the last
    ``cadence_window_s`` of moving records is at least ``walking_below_spm``, else walking.
    Baseline: weighted median over running time [warm-up, warm-up + baseline]; end: the last
    10 % of the running time (at least the baseline's length, at most 10 min), after the
    baseline."""
    cfg = config or AnalysisConfig()
    t = np.asarray([s.time_ns for s in samples], dtype=np.int64)
    spm = np.asarray([s.cadence_spm for s in samples])
    v = np.asarray([s.speed_mps for s in samples])
    d = np.asarray([np.nan if s.total_distance_m is None else s.total_distance_m
                    for s in samples])
    dt = np.diff(t, prepend=t[0]).astype(np.float64) / NS
    has_speed = np.maximum.accumulate(v > 0)
    stopped = (spm <= 0) | (has_speed & (v < STOPPED_BELOW_MPS))
    gap = dt > RECORD_GAP_S
    moved = np.zeros(t.size, dtype=bool)
    moved[1:] = (d[1:] - d[:-1]) / np.where(dt[1:] > 0, dt[1:], 1.0) >= STOPPED_BELOW_MPS
    window = round(cfg.cadence_window_s * NS)
    moving = ~stopped & ~gap
    running = np.zeros(t.size, dtype=bool)
    moving_idx = np.flatnonzero(moving)
    for i in moving_idx:
        lo = np.searchsorted(t[moving_idx], t[i] - window, side="left")
        recent = spm[moving_idx[lo:np.searchsorted(moving_idx, i, side="right")]]
        running[i] = float(np.median(recent)) >= cfg.walking_below_spm
    running[0] = False  # the first record covers no time
    weight = np.where(gap, 0.0, dt)
    clock = np.cumsum(np.where(running, weight, 0.0))
    mid = clock - 0.5 * weight
    seconds_stopped = float(weight[stopped & ~gap].sum() + dt[gap & ~moved].sum())

    def over(lo: float, hi: float) -> tuple[float | None, float | None]:
        sel = running & (mid > lo) & (mid <= hi)
        w = weight[sel].tolist()
        return weighted_median(spm[sel].tolist(), w), weighted_median(v[sel].tolist(), w)

    total = float(clock[-1]) if t.size else 0.0
    base_end = cfg.warmup_s + cfg.baseline_s
    base: tuple[float | None, float | None] = (None, None)
    final: tuple[float | None, float | None] = (None, None)
    if total >= base_end:
        base = over(cfg.warmup_s, base_end)
        length = min(max(FINAL_FRACTION * total, cfg.baseline_s),
                     max(FINAL_MAX_S, cfg.baseline_s), total)
        if total - length >= base_end:
            final = over(total - length, total)
    return RecordFigures(total, float(weight[moving & ~running].sum()), seconds_stopped,
                         base[0], base[1], final[0], final[1])


# -- synthetic: the echo at the start, clipping at a rail below the nominal range -----------


@dataclass(frozen=True, slots=True)
class EchoScore:
    """A synthetic leg run: events that are no own strike, own strikes missed, and whether the
    first event is the other leg's echo."""

    spurious: int
    missed: int
    first_is_echo: bool


def echo_run(seed: int, sample_rate_hz: float, other_leg_first: bool,
             duration_s: float = 20.0) -> EchoScore:
    """A right-tibia run (±16 g) whose first strike is the other leg's (or its own)."""
    from footfall.simulators.runner import RunnerParams, synthesize

    params = RunnerParams(side=Side.RIGHT, first_strike_side="left" if other_leg_first else "right",
                          sample_rate_hz=sample_rate_hz, accel_range_g=16, seed=seed)
    run = synthesize(params, duration_s)
    result = analyze_accel(run.accel_g, sample_rate_hz, accel_range_g=16, placement="tibia",
                           side="right")
    found = np.asarray([s.sensor_time_s for s in result.steps])
    truth = run.truth.own().time_s
    tol = max(0.02, 2.0 / sample_rate_hz)
    score = match_times(found, truth, sample_rate_hz, tol)
    first_is_echo = bool(found.size) and float(np.min(np.abs(truth - found[0]))) > tol
    return EchoScore(score.false_pos, score.false_neg, first_is_echo)


#: the issue's real ±8 g shank sensor saturated at −7.969 g and +7.953 g, inside its range
RAIL_BELOW_NOMINAL_G = (-7.969, 7.953)


@dataclass(frozen=True, slots=True)
class ClipScore:
    strikes: int
    clipped_truth: int
    clipped_found: int  # of the truly clipped, flagged
    false_flags: int  # flagged, not clipped
    rules: dict[str, int]


def rail_below_nominal_run(seed: int = 3, sample_rate_hz: float = 200.0,
                           duration_s: float = 120.0) -> ClipScore:
    """A 12-bit ±8 g tibia sensor (1/256 g steps) whose rails sit inside its nominal range
    (:data:`RAIL_BELOW_NOMINAL_G`): the full-scale rule cannot see them, the observed rail
    must. Truth: a strike is clipped when its peak region holds a sample at a rail."""
    from footfall.simulators.runner import RunnerParams, synthesize

    params = RunnerParams(side=Side.LEFT, sample_rate_hz=sample_rate_hz, accel_range_g=32,
                          pta_g=8.5, seed=seed)
    run = synthesize(params, duration_s)
    lo, hi = RAIL_BELOW_NOMINAL_G
    accel = np.round(np.clip(run.true_accel_g, lo, hi) * 256.0) / 256.0
    railed = (accel <= lo + 1e-9) | (accel >= hi - 1e-9)
    result = analyze_accel(accel, sample_rate_hz, accel_range_g=8, placement="tibia",
                           side="left")
    truth = run.truth.own()
    found = np.asarray([s.sensor_time_s for s in result.steps])
    score = match_times(found, truth.time_s, sample_rate_hz, max(0.02, 2.0 / sample_rate_hz))
    w = max(1, round(0.025 * sample_rate_hz))  # the detector's peak region
    clipped_truth = found_true = false_flags = 0
    rules: dict[str, int] = {}
    for n, k in score.pairs:
        i = round(truth.time_s[k] * sample_rate_hz)
        really = bool(railed[max(i - w, 0):i + w + 1].any())
        flagged = result.steps[n].clipped
        clipped_truth += really
        found_true += really and flagged
        false_flags += flagged and not really
        rule = result.steps[n].clip_rule
        if flagged and rule is not None:
            rules[rule] = rules.get(rule, 0) + 1
    return ClipScore(len(truth), clipped_truth, found_true, false_flags, rules)
