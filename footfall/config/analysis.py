"""The analysis settings: what a user may change, each with its one default.

``AnalysisConfig()`` is the clinical default that every command uses (``footfall process``,
``analyze``, ``demo``, ``monitor``, the Grafana rules); a ``footfall.toml`` changes it for every
athlete or one (:func:`analysis_config`). docs/metrics.md and docs/alerts.md explain each value.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

from footfall.core.errors import FootfallError
from footfall.core.vocab import Placement, Side

#: below this step rate a runner is walking (docs/metrics.md, "Running, walking, pauses"):
#: walking cadence is ~100–130 spm and running rarely goes below ~150 spm even at a slow jog
#: (Garmin's own walking/running labels in the Ironman file split there too)
WALKING_BELOW_SPM = 140.0


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

    The baseline is taken over ``baseline_s`` of *running* time starting after ``warmup_s`` of
    running (a no-feedback warm-up, gait.md; pauses and walking do not count), unless it is
    set live with :meth:`footfall.processing.session.SessionProcessor.mark_baseline`.
    """

    detector: DetectorConfig = field(default_factory=DetectorConfig)
    alerts: AlertConfig = field(default_factory=AlertConfig)
    default_placement: Placement = Placement.TIBIA
    default_side: Side = Side.NONE
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
    #: a cadence below this is walking: left out of the baseline, the end of the run and drift
    walking_below_spm: float = WALKING_BELOW_SPM
    #: live drift is judged only while the speed is within this of the baseline's (when speed
    #: is known): a cadence change while speed changed is not drift (gait.md), and 5.6 spm per
    #: m/s is a population slope that a runner's own misses by a few spm per m/s
    drift_speed_tolerance_mps: float = 0.5


# -- from footfall.toml: the [analysis] and [alerts] tables, per athlete ------------------------


class AnalysisConfigError(FootfallError, ValueError):
    """An ``[analysis]`` or ``[alerts]`` table has an unknown key or a value of the wrong
    type; ``reason`` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


#: the [analysis] keys a file may set (the nested detector/alerts have their own tables)
ANALYSIS_KEYS = ("warmup_s", "baseline_s", "treadmill_speed_mps", "walking_below_spm",
                 "drift_speed_tolerance_mps")


def _merged(table: dict[str, Any] | None, athlete: str | None, name: str) -> dict[str, Any]:
    values = dict(table or {})
    athletes = values.pop("athletes", {})
    if not isinstance(athletes, dict):
        raise AnalysisConfigError(f"[{name}.athletes] must be a table of athlete ids")
    own = athletes.get(athlete, {}) if athlete else {}
    if not isinstance(own, dict):
        raise AnalysisConfigError(f"[{name}.athletes.{athlete}] must be a table")
    return {**values, **own}


def _numbers(cls: type[Any], values: dict[str, Any], name: str,
             known: tuple[str, ...] | None = None) -> dict[str, Any]:
    types = {f.name: str(f.type) for f in fields(cls)}
    allowed = known if known is not None else tuple(types)
    clean: dict[str, Any] = {}
    for key, value in values.items():
        if key not in allowed:
            raise AnalysisConfigError(f"unknown {name} setting {key!r}; known: "
                                      f"{', '.join(sorted(allowed))}")
        is_int = types[key] == "int"
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)
                                  or (is_int and not isinstance(value, int))):
            raise AnalysisConfigError(f"{name} setting {key!r} must be a number, got {value!r}")
        clean[key] = value if is_int or value is None else float(value)
    return clean


def alert_config(table: dict[str, Any] | None, athlete: str | None = None) -> AlertConfig:
    """:class:`AlertConfig` from a TOML ``[alerts]`` table: its keys are the defaults for
    every athlete, ``[alerts.athletes.<id>]`` overrides them for one athlete::

        [alerts]
        impact_rise_pct = 15
        [alerts.athletes.ann]
        target_increase_pct = 7.5
        impact_limit_g = 12.0
    """
    return AlertConfig(**_numbers(AlertConfig, _merged(table, athlete, "alerts"), "alert"))


def analysis_config(analysis: dict[str, Any] | None = None,
                    alerts: dict[str, Any] | None = None, athlete: str | None = None,
                    **overrides: Any) -> AnalysisConfig:
    """The :class:`AnalysisConfig` of ``athlete``: the defaults, then the ``[analysis]`` table
    (and ``[analysis.athletes.<id>]``), then ``overrides`` (command-line flags; ``None``
    means not given), with that athlete's alert thresholds::

        [analysis]
        warmup_s = 60
        baseline_s = 60
        [analysis.athletes.ann]
        treadmill_speed_mps = 2.9
    """
    values = _numbers(AnalysisConfig, _merged(analysis, athlete, "analysis"), "analysis",
                      ANALYSIS_KEYS)
    values.update({k: v for k, v in overrides.items() if v is not None})
    config = replace(AnalysisConfig(), alerts=alert_config(alerts, athlete), **values)
    if config.warmup_s < 0 or config.baseline_s <= 0:
        raise AnalysisConfigError(f"the warm-up must be ≥ 0 s and the baseline > 0 s, got "
                                  f"{config.warmup_s:g} s and {config.baseline_s:g} s")
    return config
