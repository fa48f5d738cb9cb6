"""Analysis parameters: every one has a default, and every limit says where it comes from.

Axis convention (shared with :mod:`footfall.simulators.runner` and docs/metrics.md): channel 0
(x) is the *axial* axis — along the shank for a tibia sensor, normal to the dorsum for a foot
sensor, vertical for a sacrum sensor. Resultant values do not depend on orientation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, TypeAlias

Placement: TypeAlias = Literal["tibia", "foot", "sacrum"]
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
    #: adaptive refractory as a fraction of the recent median strike interval: on a leg it
    #: blocks swing and other-leg peaks (~0.5–0.65 of a stride); the sacrum has no such peaks,
    #: and a lower value lets it recover the true step rate after a missed step
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
    # tibial impact transients are ~10 ms wide: 30 Hz keeps the stride peak, drops the ringing
    "tibia": PlacementProfile(strikes_per_stride=1, lowpass_hz=30.0, min_peak_g=2.0,
                              min_impact_g=PUBLISHED_MIN_IMPACT_G,
                              peak_search_ms=25.0, refractory_fraction=0.7,
                              lookback_ms=LEG_LOOKBACK_MS, min_refractory_ms=LEG_REFRACTORY_MS,
                              lookahead_ms=75.0),
    "foot": PlacementProfile(strikes_per_stride=1, lowpass_hz=30.0, min_peak_g=2.0,
                             min_impact_g=PUBLISHED_MIN_IMPACT_G,
                             peak_search_ms=25.0, refractory_fraction=0.7,
                             lookback_ms=LEG_LOOKBACK_MS, min_refractory_ms=LEG_REFRACTORY_MS,
                             lookahead_ms=75.0),
    # the sacrum sees a broad (~100 ms) loading peak per step, 1.5–6 g with gravity
    "sacrum": PlacementProfile(strikes_per_stride=2, lowpass_hz=15.0, min_peak_g=1.4,
                               min_impact_g=1.4,
                               peak_search_ms=40.0, refractory_fraction=0.45,
                               lookback_ms=100.0, min_refractory_ms=SACRUM_REFRACTORY_MS,
                               lookahead_ms=60.0),
}


@dataclass(frozen=True, slots=True)
class DetectorConfig:
    """Step detector parameters (see docs/metrics.md, "Step detection")."""

    #: a peak is confirmed when no higher filtered value follows within this look-ahead
    #: (None: the placement's default, 60–75 ms); the published live detector waits 375 ms
    #: (Van den Berghe 2021)
    lookahead_ms: float | None = None
    #: adaptive threshold: this fraction of the recent impacts (upper quartile) above 1 g
    threshold_fraction: float = 0.5
    history_peaks: int = 8
    loading_window_ms: float = 50.0
    filter_order: int = 2


@dataclass(frozen=True, slots=True)
class AlertConfig:
    clipping_start_pct: float = 10.0
    clipping_clear_pct: float = 2.0
    packet_loss_start_pct: float = 5.0
    packet_loss_clear_pct: float = 1.0
    cadence_drop_start_pct: float = -3.0  # fatigue: cadence below baseline (speed-corrected)
    cadence_drop_clear_pct: float = -1.5
    impact_rise_start_pct: float = 10.0
    impact_rise_clear_pct: float = 5.0
    quality_hold_s: float = 3.0
    drift_hold_s: float = 30.0


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
