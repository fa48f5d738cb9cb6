"""Rolling per-stream metrics: cadence, baseline, drift, trend, impact — from observations.

The tracker does not know where its observations come from: an IMU stream adds one cadence
observation per stride and one impact per unclipped strike, a foot pod adds its own cadence
samples. Times are UTC ns; nothing here reads a clock.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from footfall.config.analysis import AnalysisConfig
from footfall.core.units import NS
from footfall.processing.tuning import CADENCE_SPEED_SLOPE_SPM_PER_MPS

#: trend needs this much per-second history before it is reported
MIN_TREND_POINTS = 30


def _median(values: list[float]) -> float | None:
    return float(np.median(values)) if values else None


def _pct(value: float | None, ref: float | None) -> float | None:
    if value is None or ref is None or ref == 0:
        return None
    return 100.0 * (value - ref) / ref


@dataclass(slots=True)
class TimeSeries:
    """Append-only (time_ns, value) pairs in time order, with window queries."""

    times: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)

    def add(self, time_ns: int, value: float) -> None:
        self.times.append(time_ns)
        self.values.append(value)

    def window(self, start_ns: int, end_ns: int) -> list[float]:
        """Values with start_ns <= time <= end_ns."""
        return self.values[bisect_left(self.times, start_ns):bisect_right(self.times, end_ns)]

    def last_before(self, time_ns: int) -> float | None:
        i = bisect_right(self.times, time_ns)
        return self.values[i - 1] if i else None

    def __len__(self) -> int:
        return len(self.times)


@dataclass(slots=True)
class Baseline:
    """The reference window; values are fixed once the window has passed."""

    start_ns: int | None = None
    duration_ns: int = 0
    cadence_spm: float | None = None
    impact_g: float | None = None
    impact_axial_g: float | None = None
    speed_mps: float | None = None
    complete: bool = False

    @property
    def end_ns(self) -> int | None:
        return None if self.start_ns is None else self.start_ns + self.duration_ns


@dataclass(slots=True)
class TrackerState:
    cadence: TimeSeries = field(default_factory=TimeSeries)  # per-stride observations
    impact: TimeSeries = field(default_factory=TimeSeries)  # unclipped strikes only
    impact_axial: TimeSeries = field(default_factory=TimeSeries)  # unclipped strikes only
    clipped: TimeSeries = field(default_factory=TimeSeries)  # every strike: 1.0 if clipped
    rolling_cadence: TimeSeries = field(default_factory=TimeSeries)  # one per snapshot
    baseline: Baseline = field(default_factory=Baseline)
    first_ns: int | None = None
    #: baseline marks not yet reached by the data: (start, duration), in time order
    pending: list[tuple[int, int]] = field(default_factory=list)


class MetricsTracker:
    """Turns observations into the ``extra`` fields of a metrics event."""

    def __init__(self, config: AnalysisConfig | None = None) -> None:
        self.config = config or AnalysisConfig()
        self.state = TrackerState()
        self.state.baseline.duration_ns = round(self.config.baseline_s * NS)

    def start(self, time_ns: int) -> None:
        """The stream's first sample: schedules the automatic baseline after the warm-up."""
        st = self.state
        if st.first_ns is None:
            st.first_ns = time_ns
            if st.baseline.start_ns is None:
                st.baseline.start_ns = time_ns + round(self.config.warmup_s * NS)

    def mark_baseline(self, start_ns: int, duration_s: float | None = None, *,
                      data_ns: int | None = None) -> None:
        """Take the baseline over ``duration_s`` (default ``baseline_s``) from ``start_ns``.

        ``data_ns`` is the stream's latest sample: a mark the data has not reached yet takes
        effect when it does (in data time), so the metrics before it are the same whether the
        mark arrived early or late in the stream."""
        dur = round((self.config.baseline_s if duration_s is None else duration_s) * NS)
        st = self.state
        if data_ns is not None and start_ns <= data_ns:
            st.baseline = Baseline(start_ns=start_ns, duration_ns=dur)
        else:
            st.pending = sorted([*st.pending, (start_ns, dur)])

    def add_cadence(self, time_ns: int, cadence_spm: float) -> None:
        self.state.cadence.add(time_ns, cadence_spm)

    def add_impact(self, time_ns: int, impact_g: float, clipped: bool = False,
                   impact_axial_g: float | None = None) -> None:
        """A strike's impact; a clipped one only counts towards the clipped share."""
        self.state.clipped.add(time_ns, float(clipped))
        if not clipped:
            self.state.impact.add(time_ns, impact_g)
            if impact_axial_g is not None:
                self.state.impact_axial.add(time_ns, impact_axial_g)

    def impact_median(self, start_ns: int, end_ns: int, axial: bool = False) -> float | None:
        """Median unclipped impact, or None when too many peaks clipped to trust it."""
        flags = self.state.clipped.window(start_ns, end_ns)
        if flags and 100.0 * sum(flags) / len(flags) > self.config.max_clipped_for_impact_pct:
            return None
        series = self.state.impact_axial if axial else self.state.impact
        return _median(series.window(start_ns, end_ns))

    def rolling_cadence(self, now_ns: int) -> float | None:
        window = round(self.config.cadence_window_s * NS)
        return _median(self.state.cadence.window(now_ns - window, now_ns))

    def snapshot(self, now_ns: int, speed: TimeSeries | None = None) -> dict[str, Any]:
        """Metrics at ``now_ns`` from the observations so far; records the rolling cadence."""
        cfg, st = self.config, self.state
        while st.pending and st.pending[0][0] <= now_ns:
            start, duration = st.pending.pop(0)
            st.baseline = Baseline(start_ns=start, duration_ns=duration)
        cadence = self.rolling_cadence(now_ns)
        if cadence is not None:
            st.rolling_cadence.add(now_ns, cadence)
        impact_from = now_ns - round(cfg.impact_window_s * NS)
        impact = self.impact_median(impact_from, now_ns)
        axial = self.impact_median(impact_from, now_ns, axial=True)
        base = self._update_baseline(now_ns, speed)
        speed_now = speed.last_before(now_ns) if speed is not None else None
        change = _pct(cadence, base.cadence_spm)
        explained: float | None = None
        drift = change
        if (change is not None and base.cadence_spm is not None and speed_now is not None
                and base.speed_mps is not None):
            explained = _pct(base.cadence_spm + CADENCE_SPEED_SLOPE_SPM_PER_MPS
                             * (speed_now - base.speed_mps), base.cadence_spm)
            drift = change - (explained or 0.0)
        return {
            "cadence_spm": cadence,
            "cadence_baseline_spm": base.cadence_spm,
            "cadence_change_pct": change,
            "cadence_speed_explained_pct": explained,
            "cadence_drift_pct": drift,
            "cadence_trend_spm_per_min": self._trend(now_ns),
            "impact_g": impact,
            "impact_baseline_g": base.impact_g,
            "impact_drift_pct": _pct(impact, base.impact_g),
            "impact_axial_g": axial,
            "impact_axial_baseline_g": base.impact_axial_g,
            "impact_axial_drift_pct": _pct(axial, base.impact_axial_g),
            "speed_mps": speed_now,
            "speed_baseline_mps": base.speed_mps,
            "baseline_state": ("set" if base.complete else
                               "collecting" if base.start_ns is not None
                               and now_ns >= base.start_ns else "warmup"),
        }

    def _update_baseline(self, now_ns: int, speed: TimeSeries | None) -> Baseline:
        base, st = self.state.baseline, self.state
        end = base.end_ns
        if base.complete or end is None or base.start_ns is None or now_ns < end:
            return base
        base.cadence_spm = _median(st.cadence.window(base.start_ns, end))
        base.impact_g = self.impact_median(base.start_ns, end)
        base.impact_axial_g = self.impact_median(base.start_ns, end, axial=True)
        if speed is not None:
            base.speed_mps = _median(speed.window(base.start_ns, end))
            if base.speed_mps is None:
                base.speed_mps = speed.last_before(base.start_ns)
        base.complete = True
        return base

    def _trend(self, now_ns: int) -> float | None:
        """Least-squares slope of the rolling cadence over the trend window, spm/min."""
        rc = self.state.rolling_cadence
        start = now_ns - round(self.config.trend_window_s * NS)
        i = bisect_left(rc.times, start)
        if len(rc) - i < MIN_TREND_POINTS:
            return None
        # subtract in integers first: the result must not depend on where in time the run is
        t = (np.asarray(rc.times[i:], dtype=np.int64) - now_ns).astype(np.float64) / (60 * NS)
        v = np.asarray(rc.values[i:])
        t -= t.mean()
        denom = float(t @ t)
        return float(t @ (v - v.mean()) / denom) if denom > 0 else None
