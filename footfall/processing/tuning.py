"""How each placement's signal looks to the step detector, and the physiological limits the
detector respects. Constants of the algorithm, not settings: every one says where it comes
from (docs/metrics.md). The settings a user may change are in :mod:`footfall.config.analysis`.

Axis convention (shared with :mod:`footfall.simulators.runner` and docs/metrics.md): channel 0
(x) is the *axial* axis — along the shank for a tibia sensor, normal to the dorsum for a foot
sensor, vertical for a sacrum sensor. Resultant values do not depend on orientation.
"""

from __future__ import annotations

from dataclasses import dataclass

AXIS_AXIAL = 0

#: Kiernan 2023: running never exceeds 4.75 steps/s, so two steps are ≥ 210 ms apart
MAX_STEP_RATE_HZ = 4.75
#: Kiernan 2023: stance lasts 95–270 ms in running
MAX_STANCE_MS = 270.0
#: the slowest gait counted as one: a stride at 60 steps/min (a very slow walk is ~80 spm).
#: No strike for longer is a stop, and an interval that long is no cadence
MAX_STRIDE_S = 2.0
#: Burns 2019: cadence rises ≈ 5.6 spm per m/s of running speed
CADENCE_SPEED_SLOPE_SPM_PER_MPS = 5.6


@dataclass(frozen=True, slots=True)
class PlacementTuning:
    """How a placement's signal looks to the detector.

    ``strikes_per_stride`` is 1 for a leg sensor (it sees its own leg's strides; the other
    leg's strike is weak, gait.md) and 2 for the sacrum (it sees every step).
    """

    strikes_per_stride: int
    lowpass_hz: float  # detection signal only; impact values come from the raw samples
    min_peak_g: float  # candidates: filtered resultant at least this (gravity included)
    min_impact_g: float  # strikes: raw resultant peak at least this, whatever the history
    peak_search_ms: float  # raw peak sought within ± this of the filtered peak
    #: a candidate must be the highest filtered value of the preceding ``lookback_ms``
    lookback_ms: float
    #: no two strikes closer than this; the adaptive refractory may lengthen it
    min_refractory_ms: float
    #: look-ahead that confirms a peak: ≤ 100 ms minus the low-pass lag
    lookahead_ms: float
    #: adaptive threshold: this fraction of the recent impacts (upper quartile) above 1 g
    threshold_fraction: float
    #: adaptive refractory as a fraction of the typical (lower-quartile) strike interval: on a
    #: leg it blocks swing and other-leg peaks (~0.5–0.65 of a stride); the sacrum has no such
    #: peaks, and a lower value lets it recover the true step rate after a missed step
    refractory_fraction: float


#: Van den Berghe 2021: a tibial impact peak is above 3 g (the other leg's strike is not)
PUBLISHED_MIN_IMPACT_G = 3.0
#: a leg sensor's own strikes are a stride (two steps) apart
LEG_REFRACTORY_MS = 2000.0 / MAX_STEP_RATE_HZ
LEG_LOOKBACK_MS = 1000.0 / MAX_STEP_RATE_HZ
#: the sacrum's peak can sit anywhere in a stance of 95–270 ms (Kiernan 2023), so two steps'
#: peaks can be closer than the 210-ms step limit: 0.7 of it still separates them from the
#: second hump of one stance (40–80 ms after the first)
SACRUM_REFRACTORY_MS = 0.7 * 1000.0 / MAX_STEP_RATE_HZ

PLACEMENT_TUNING: dict[str, PlacementTuning] = {
    # tibial impact transients are ~10 ms wide: 30 Hz keeps the stride peak, drops the ringing.
    # At ~100 Hz (Movesense, Polar) their *sampled* height varies by up to half with the
    # sampling phase, hence a 40 % threshold; the other leg's strike (~12 %) and swing (~3 g)
    # stay below it. A foot sensor's push-off/swing peaks are stronger: 50 %. The tibia's
    # look-ahead is 50 ms (75 ms before): a cue then reaches the runner within 100 ms of the
    # impact (median, docs/benchmarks.md "Step → cue"), and down to 40 ms nothing changed on
    # the real recordings (the look-ahead study there). The foot keeps 75 ms: at 50 ms its
    # synthetic 100-Hz precision fell from 100 to 98 % (docs/validation.md's grid)
    "tibia": PlacementTuning(strikes_per_stride=1, lowpass_hz=30.0, min_peak_g=2.0,
                              min_impact_g=PUBLISHED_MIN_IMPACT_G,
                              peak_search_ms=25.0, refractory_fraction=0.7,
                              lookback_ms=LEG_LOOKBACK_MS, min_refractory_ms=LEG_REFRACTORY_MS,
                              lookahead_ms=50.0, threshold_fraction=0.4),
    "foot": PlacementTuning(strikes_per_stride=1, lowpass_hz=30.0, min_peak_g=2.0,
                             min_impact_g=PUBLISHED_MIN_IMPACT_G,
                             peak_search_ms=25.0, refractory_fraction=0.7,
                             lookback_ms=LEG_LOOKBACK_MS, min_refractory_ms=LEG_REFRACTORY_MS,
                             lookahead_ms=75.0, threshold_fraction=0.5),
    # the sacrum sees a broad (~100 ms) loading peak per step, 1.5–6 g with gravity. Its only
    # other peak is the second hump of a stance, which the refractory removes, so the
    # threshold only has to keep small bumps out: 30 %. A trunk sensor off the midline (a belt
    # clip at the hip) sees the far leg's steps weaker and more variable, and 50 % missed one
    # in six of them on the real hip recording (docs/validation.md: tuned on its first half)
    "sacrum": PlacementTuning(strikes_per_stride=2, lowpass_hz=15.0, min_peak_g=1.4,
                               min_impact_g=1.4,
                               peak_search_ms=40.0, refractory_fraction=0.45,
                               lookback_ms=100.0, min_refractory_ms=SACRUM_REFRACTORY_MS,
                               lookahead_ms=60.0, threshold_fraction=0.3),
}
#: a chest strap (Polar H10) is a trunk sensor like the sacrum: it sees every step as a broad
#: loading peak. Not yet validated on chest recordings (docs/metrics.md).
PLACEMENT_TUNING["chest"] = PLACEMENT_TUNING["sacrum"]
