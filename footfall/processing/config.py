"""Analysis parameters: every one has a default, and every limit says where it comes from.

Axis convention (shared with :mod:`footfall.simulators.runner` and docs/metrics.md): channel 0
(x) is the *axial* axis — along the shank for a tibia sensor, normal to the dorsum for a foot
sensor, vertical for a sacrum sensor. Resultant values do not depend on orientation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, TypeAlias

Placement: TypeAlias = Literal["tibia", "foot", "sacrum", "chest"]
PLACEMENTS: tuple[Placement, ...] = ("tibia", "foot", "sacrum")
AXIS_AXIAL = 0

#: Kiernan 2023: running never exceeds 4.75 steps/s, so two steps are ≥ 210 ms apart
MAX_STEP_RATE_HZ = 4.75
#: Kiernan 2023: stance lasts 95–270 ms in running
MAX_STANCE_MS = 270.0
#: Burns 2019: cadence rises ≈ 5.6 spm per m/s of running speed
CADENCE_SPEED_SLOPE_SPM_PER_MPS = 5.6


@dataclass(frozen=True, slots=True)
class PlacementProfile:
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

PROFILES: dict[str, PlacementProfile] = {
    # tibial impact transients are ~10 ms wide: 30 Hz keeps the stride peak, drops the ringing.
    # At ~100 Hz (Movesense, Polar) their *sampled* height varies by up to half with the
    # sampling phase, hence a 40 % threshold; the other leg's strike (~12 %) and swing (~3 g)
    # stay below it. A foot sensor's push-off/swing peaks are stronger: 50 %.
    "tibia": PlacementProfile(strikes_per_stride=1, lowpass_hz=30.0, min_peak_g=2.0,
                              min_impact_g=PUBLISHED_MIN_IMPACT_G,
                              peak_search_ms=25.0, refractory_fraction=0.7,
                              lookback_ms=LEG_LOOKBACK_MS, min_refractory_ms=LEG_REFRACTORY_MS,
                              lookahead_ms=75.0, threshold_fraction=0.4),
    "foot": PlacementProfile(strikes_per_stride=1, lowpass_hz=30.0, min_peak_g=2.0,
                             min_impact_g=PUBLISHED_MIN_IMPACT_G,
                             peak_search_ms=25.0, refractory_fraction=0.7,
                             lookback_ms=LEG_LOOKBACK_MS, min_refractory_ms=LEG_REFRACTORY_MS,
                             lookahead_ms=75.0, threshold_fraction=0.5),
    # the sacrum sees a broad (~100 ms) loading peak per step, 1.5–6 g with gravity
    "sacrum": PlacementProfile(strikes_per_stride=2, lowpass_hz=15.0, min_peak_g=1.4,
                               min_impact_g=1.4,
                               peak_search_ms=40.0, refractory_fraction=0.45,
                               lookback_ms=100.0, min_refractory_ms=SACRUM_REFRACTORY_MS,
                               lookahead_ms=60.0, threshold_fraction=0.5),
}
#: a chest strap (Polar H10) is a trunk sensor like the sacrum: it sees every step as a broad
#: loading peak. Not yet validated on chest recordings (docs/metrics.md).
PROFILES["chest"] = PROFILES["sacrum"]


@dataclass(frozen=True, slots=True)
class DetectorConfig:
    """Step detector parameters (see docs/metrics.md, "Step detection")."""

    #: a peak is confirmed when no higher filtered value follows within this look-ahead
    #: (None: the placement's default, 60–75 ms); the published live detector waits 375 ms
    #: (Van den Berghe 2021)
    lookahead_ms: float | None = None
    #: adaptive threshold as a fraction of the recent impacts above 1 g (None: placement's)
    threshold_fraction: float | None = None
    history_peaks: int = 8
    loading_window_ms: float = 50.0
    filter_order: int = 2  # Butterworth low-pass of the detection signal (lfilter: keep ≤ 4)


@dataclass(frozen=True, slots=True)
class AlertConfig:
    """Alert thresholds, per athlete (``[alerts]`` in footfall.toml; docs/alerts.md).

    Every rule has a start and a (less strict) clear threshold, and a hold: its condition must
    hold that long, without interruption, before the alert starts or clears — so an alert
    starts once, clears once and never flaps. Defaults come from ../shared/domain/gait.md.
    """

    #: impact (PTA marker), per leg sensor, over its own strikes: a strike is "high" above
    #: ``impact_limit_g`` (off by default: athlete-specific; typical treadmill PTA is 8–14 g,
    #: Sheerin 2020) or above the athlete's baseline by ``impact_rise_pct``. Feedback cuts PTA
    #: 27–50 % (Crowell & Davis 2011, Bowser 2018, Van den Berghe 2021), so a 15 % rise undoes
    #: a good part of what retraining gains; step-to-step variation is ~8 %, hence K of M.
    impact_limit_g: float | None = None
    impact_rise_pct: float = 15.0
    #: a strike counts as back to normal below the baseline + this (and below the limit − 1 g)
    impact_clear_rise_pct: float = 10.0
    impact_window_steps: int = 30  # M: ~20 s of strides at 170 spm
    impact_min_steps: int = 20  # K: start when K of the last M strikes are high
    impact_hold_s: float = 5.0
    #: the retraining target: an absolute cadence, or the baseline + N % (gait.md: +5 to +10 %
    #: lowers knee load; Willy 2016 cued +7.5 %). None and None: no target until one is set live
    target_cadence_spm: float | None = None
    target_increase_pct: float | None = None
    #: cadence more than this below the target starts the alert; within the clear margin ends it
    cadence_below_target_pct: float = 2.0
    cadence_below_target_clear_pct: float = 1.0
    cadence_hold_s: float = 10.0
    #: fatigue: cadence below baseline by this much (speed-corrected: ~5.6 spm per m/s, Burns
    #: 2019); fatigue lowers cadence late in a run (Apte 2021), an Ironman marathon lost ~3 %
    cadence_drift_pct: float = 3.0
    cadence_drift_clear_pct: float = 1.5
    #: drift is judged on the mean of the per-second rolling cadence over this window
    cadence_drift_window_s: float = 30.0
    drift_hold_s: float = 15.0
    #: impact symmetry index |(R − L) / max(R, L)| × 100 (gait.md) beyond this
    asymmetry_pct: float = 10.0
    asymmetry_clear_pct: float = 7.0
    asymmetry_hold_s: float = 30.0
    #: share of the last 20 strikes that hit the sensor's range (Mitschke 2018: ±16 g clips)
    clipping_start_pct: float = 10.0
    clipping_clear_pct: float = 2.0
    packet_loss_start_pct: float = 5.0
    packet_loss_clear_pct: float = 1.0
    quality_hold_s: float = 3.0
    #: a device that sent nothing for this long (sensor time, or wall time when live)
    no_data_s: float = 5.0


@dataclass(frozen=True, slots=True)
class AnalysisConfig:
    """Everything the session processor needs; ``AnalysisConfig()`` is the clinical default.

    The baseline is taken over ``baseline_s`` starting ``warmup_s`` after a stream's first
    sample (a no-feedback warm-up, gait.md), unless it is set live with
    :meth:`footfall.processing.session.SessionProcessor.mark_baseline`.
    """

    detector: DetectorConfig = field(default_factory=DetectorConfig)
    alerts: AlertConfig = field(default_factory=AlertConfig)
    default_placement: Placement = "tibia"
    default_side: str = "none"
    warmup_s: float = 60.0
    baseline_s: float = 60.0
    cadence_window_s: float = 10.0
    impact_window_s: float = 10.0
    trend_window_s: float = 120.0
    quality_window_s: float = 10.0
    metrics_period_s: float = 1.0
    #: impact figures are withheld when more than this share of the window's peaks clipped:
    #: the unclipped ones are the lower ones, so their median is biased low
    max_clipped_for_impact_pct: float = 10.0
    #: treadmill speed set by the operator, used when no foot pod reports speed
    treadmill_speed_mps: float | None = None
