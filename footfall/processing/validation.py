"""Scoring the processor on recordings with ground truth (used by scripts/validate.py and tests).

Everything goes through :func:`footfall.processing.offline.analyze_accel`, i.e. the live
processor; the truth comes from a force plate (sacral data set) or from the synthetic runner.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from footfall.processing.offline import AnalysisResult, analyze_accel
from footfall.processing.reference import (
    fitted_rate_spm,
    match_contacts,
    mean_rate_spm,
    peaks_375ms,
)
from footfall.recordings.alcantara import SAMPLE_RATE_HZ, Trial, grf_contacts


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
