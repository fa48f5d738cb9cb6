"""Rolling per-stream metrics: cadence, baseline, drift, trend, impact — from observations.

The tracker does not know where its observations come from: an IMU stream adds one cadence
observation per stride and one impact per strike, a foot pod adds its own cadence samples;
each also reports the spans of its timeline (:mod:`.activity`). Observations made while
running are kept with the running clock, on which the baseline window and the end-of-run
window are taken (docs/metrics.md). Times are UTC ns; nothing here reads a clock.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np

from footfall.config.analysis import AnalysisConfig
from footfall.core.units import NS
from footfall.processing import activity as _activity
from footfall.processing.activity import ActivityTracker, SpanKind
from footfall.processing.stats import median
from footfall.processing.tuning import CADENCE_SPEED_SLOPE_SPM_PER_MPS
from footfall.wire.events import Activity, PauseEvent

#: trend needs this much per-second history before it is reported
MIN_TREND_POINTS: Final = 30


#: the end-of-run window: the last 10 % of the running time, at least the baseline's length
#: (both medians equally robust), at most 10 minutes (late-race fatigue is not averaged away)
FINAL_FRACTION: Final = 0.10
FINAL_MAX_S: Final = 600.0
#: how far back in data time a stream's observations are kept: every window a figure is taken
#: over reaches back less (the longest, the trend, is 2 min), and a baseline mark dated earlier
#: than this is taken from here. Older observations are dropped, so an hour of running costs
#: the memory of the last 15 minutes, not of every strike (docs/reliability.md, the soak)
HISTORY_S = 900.0


def weighted_median(values: list[float], weights: list[float]) -> float | None:
    """The value below and above which half the weight lies (a time-weighted median when the
    weights are the time each value stands for); the plain median when no weight is > 0."""
    if not values:
        return None
    v = np.asarray(values, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    if not (w > 0).any():
        return median(values)
    order = np.argsort(v, kind="stable")
    cum = np.cumsum(w[order])
    return float(v[order][int(np.searchsorted(cum, 0.5 * cum[-1]))])


def pct_change(value: float | None, ref: float | None) -> float | None:
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

    def trim_before(self, time_ns: int) -> None:
        """Drop values older than ``time_ns`` except the last of them (``last_before`` any
        time from ``time_ns`` on stays right); in batches, so it costs O(1) per value."""
        i = bisect_left(self.times, time_ns) - 1
        if i >= _activity.TRIM_BATCH:
            del self.times[:i]
            del self.values[:i]

    def trims(self) -> bool:
        """Whether :meth:`trim_before` could drop anything yet (it drops in batches): a
        caller can skip working out where to trim."""
        return len(self.times) > _activity.TRIM_BATCH

    def __len__(self) -> int:
        return len(self.times)


@dataclass(slots=True)
class Observation:
    """A cadence or impact observation made while running, with the running clock at its
    end and the running time it stands for (``weight_s``)."""

    time_ns: int
    value: float
    weight_s: float
    clock_s: float
    speed_mps: float | None = None
    clipped: bool = False
    axial: float | None = None

    @property
    def mid_clock_s(self) -> float:
        return self.clock_s - 0.5 * self.weight_s


@dataclass(slots=True)
class Baseline:
    """The reference window: ``duration_s`` of running time from ``start_clock_s`` (a live
    mark at UTC ``start_ns`` resolves to the running clock then); values are fixed once the
    window has passed."""

    duration_s: float
    start_clock_s: float | None = None
    start_ns: int | None = None
    cadence_spm: float | None = None
    impact_g: float | None = None
    impact_axial_g: float | None = None
    speed_mps: float | None = None
    complete: bool = False

    @property
    def end_clock_s(self) -> float | None:
        return None if self.start_clock_s is None else self.start_clock_s + self.duration_s


@dataclass(frozen=True, slots=True)
class RunFigures:
    """The end of the run against the baseline (summary): medians over the last
    ``final_window_s`` of running, and the running, walking and stopped times."""

    final_window_s: float | None
    cadence_spm: float | None
    speed_mps: float | None
    impact_g: float | None
    impact_axial_g: float | None
    seconds: dict[str, float]
    breaks: dict[str, int]


@dataclass(slots=True)
class TrackerState:
    cadence: TimeSeries = field(default_factory=TimeSeries)  # per-stride observations
    running_cadence: TimeSeries = field(default_factory=TimeSeries)  # those while running
    impact: TimeSeries = field(default_factory=TimeSeries)  # unclipped strikes only
    impact_axial: TimeSeries = field(default_factory=TimeSeries)  # unclipped strikes only
    clipped: TimeSeries = field(default_factory=TimeSeries)  # every strike: 1.0 if clipped
    rolling_cadence: TimeSeries = field(default_factory=TimeSeries)  # one per snapshot
    #: observations while running, in running-clock order: the baseline and end windows
    run_cadence: list[Observation] = field(default_factory=list)
    run_impact: list[Observation] = field(default_factory=list)
    baseline: Baseline = field(default_factory=lambda: Baseline(duration_s=0.0))
    first_ns: int | None = None
    #: baseline marks not yet reached by the data: (start, duration), in time order
    pending: list[tuple[int, float]] = field(default_factory=list)


class MetricsTracker:
    """Turns observations into the figures of a metrics event."""

    def __init__(self, config: AnalysisConfig | None = None) -> None:
        self.config = config or AnalysisConfig()
        self.state = TrackerState()
        self.state.baseline = Baseline(duration_s=self.config.baseline_s,
                                       start_clock_s=self.config.warmup_s)
        self.activity = ActivityTracker(self.config.walking_below_spm,
                                        self.config.cadence_window_s)

    def start(self, time_ns: int) -> None:
        """The stream's first sample."""
        if self.state.first_ns is None:
            self.state.first_ns = time_ns

    def mark_baseline(self, start_ns: int, duration_s: float | None = None, *,
                      data_ns: int | None = None) -> None:
        """Take the baseline over ``duration_s`` (default ``baseline_s``) of running from UTC
        ``start_ns``.

        ``data_ns`` is the stream's latest sample: a mark the data has not reached yet takes
        effect when it does (in data time), so the metrics before it are the same whether the
        mark arrived early or late in the stream."""
        dur = self.config.baseline_s if duration_s is None else duration_s
        st = self.state
        if data_ns is not None and start_ns <= data_ns:
            # older observations may be gone (HISTORY_S): a mark from before then starts there
            self._set_baseline(max(start_ns, data_ns - round(HISTORY_S * NS)), dur)
        else:
            st.pending = sorted([*st.pending, (start_ns, dur)])

    def _set_baseline(self, start_ns: int, duration_s: float) -> None:
        self.state.baseline = Baseline(duration_s=duration_s, start_ns=start_ns)
        self._resolve_start()

    # -- observations ----------------------------------------------------------------------

    def span(self, start_ns: int, end_ns: int, kind: SpanKind,
             cadence_spm: float | None = None) -> list[PauseEvent]:
        """A span of the stream's timeline (:meth:`ActivityTracker.span`)."""
        out = self.activity.span(start_ns, end_ns, kind, cadence_spm)
        self._resolve_start()
        return out

    def add_cadence(self, time_ns: int, cadence_spm: float, *, weight_s: float = 0.0,
                    speed_mps: float | None = None) -> None:
        """A cadence observation at ``time_ns`` standing for ``weight_s`` of the timeline."""
        st = self.state
        st.cadence.add(time_ns, cadence_spm)
        if self._running(time_ns):
            st.running_cadence.add(time_ns, cadence_spm)
            st.run_cadence.append(Observation(time_ns, cadence_spm, weight_s,
                                              self.activity.running_s, speed_mps))

    def add_impact(self, time_ns: int, impact_g: float, clipped: bool = False,
                   impact_axial_g: float | None = None) -> None:
        """A strike's impact; a clipped one only counts towards the clipped share."""
        st = self.state
        st.clipped.add(time_ns, float(clipped))
        if not clipped:
            st.impact.add(time_ns, impact_g)
            if impact_axial_g is not None:
                st.impact_axial.add(time_ns, impact_axial_g)
        if self._running(time_ns):
            st.run_impact.append(Observation(time_ns, impact_g, 0.0, self.activity.running_s,
                                             clipped=clipped, axial=impact_axial_g))

    def _running(self, time_ns: int) -> bool:
        return self.activity.current(time_ns) == "running"

    # -- figures ---------------------------------------------------------------------------

    def impact_median(self, start_ns: int, end_ns: int, axial: bool = False) -> float | None:
        """Median unclipped impact, or None when too many peaks clipped to trust it."""
        flags = self.state.clipped.window(start_ns, end_ns)
        if flags and 100.0 * sum(flags) / len(flags) > self.config.max_clipped_for_impact_pct:
            return None
        series = self.state.impact_axial if axial else self.state.impact
        return median(series.window(start_ns, end_ns))

    def rolling_cadence(self, now_ns: int, running_only: bool = False) -> float | None:
        window = round(self.config.cadence_window_s * NS)
        series = self.state.running_cadence if running_only else self.state.cadence
        return median(series.window(now_ns - window, now_ns))

    def snapshot(self, now_ns: int, speed: TimeSeries | None = None) -> dict[str, Any]:
        """Metrics at ``now_ns`` from the observations so far; records the rolling cadence.
        Drift is judged only while running, on the cadence of running strides."""
        cfg, st = self.config, self.state
        while st.pending and st.pending[0][0] <= now_ns:
            self._set_baseline(*st.pending.pop(0))
        cadence = self.rolling_cadence(now_ns)
        if cadence is not None:
            st.rolling_cadence.add(now_ns, cadence)
        activity: Activity | None = self.activity.current(now_ns)
        running = activity == "running"
        impact_from = now_ns - round(cfg.impact_window_s * NS)
        impact = self.impact_median(impact_from, now_ns)
        axial = self.impact_median(impact_from, now_ns, axial=True)
        base = self._update_baseline(speed)
        speed_now = speed.last_before(now_ns) if speed is not None else None
        change = pct_change(self.rolling_cadence(now_ns, running_only=True), base.cadence_spm) \
            if running else None
        explained, drift = self._speed_corrected(change, base, speed_now)
        if speed_now is not None and base.speed_mps is not None and \
                abs(speed_now - base.speed_mps) > cfg.drift_speed_tolerance_mps:
            drift = None  # another pace: the population slope cannot say what is drift
        self._trim(now_ns)
        return {
            "cadence_spm": cadence,
            "cadence_baseline_spm": base.cadence_spm,
            "cadence_change_pct": change,
            "cadence_speed_explained_pct": explained,
            "cadence_drift_pct": drift,
            "cadence_trend_spm_per_min": self._trend(now_ns),
            "impact_g": impact,
            "impact_baseline_g": base.impact_g,
            "impact_drift_pct": pct_change(impact, base.impact_g) if running else None,
            "impact_axial_g": axial,
            "impact_axial_baseline_g": base.impact_axial_g,
            "impact_axial_drift_pct": pct_change(axial, base.impact_axial_g) if running else None,
            "speed_mps": speed_now,
            "speed_baseline_mps": base.speed_mps,
            "baseline_state": ("set" if base.complete else
                               "collecting" if base.start_clock_s is not None
                               and self.activity.running_s >= base.start_clock_s else "warmup"),
            "activity": activity,
            "running_s": self.activity.running_s,
        }

    def keep_from_ns(self, now_ns: int) -> int:
        """The oldest data time this stream's figures can still ask about: the history, or
        the start of a baseline that is still being collected."""
        keep = now_ns - round(HISTORY_S * NS)
        base = self.state.baseline
        if not base.complete:
            start = base.start_ns if base.start_ns is not None else (
                self.activity.time_at(base.start_clock_s)
                if base.start_clock_s is not None else None)
            if start is None:  # not reached yet: it lies ahead of everything kept
                return keep
            keep = min(keep, start)
        return keep

    def _trim(self, now_ns: int) -> None:
        """Drop the observations no figure can ask about any more (see :data:`HISTORY_S`)."""
        st = self.state
        keep_ns = self.keep_from_ns(now_ns)
        for series in (st.cadence, st.running_cadence, st.impact, st.impact_axial, st.clipped,
                       st.rolling_cadence):
            series.trim_before(keep_ns)
        # the running clock: the end-of-run window reaches back at most this far on it, a
        # baseline being collected to its start
        base = st.baseline
        reach_s = max(FINAL_MAX_S, base.duration_s, *(d for _, d in st.pending))
        keep_clock = self.activity.running_s - reach_s
        if not base.complete and base.start_clock_s is not None:
            keep_clock = min(keep_clock, base.start_clock_s)
        keep_clock = min(keep_clock, self.activity.clock_at(keep_ns))
        for obs in (st.run_cadence, st.run_impact):
            # in running-clock order; an observation's middle lies before its clock_s, so
            # one with clock_s < keep_clock is never inside a window that starts there
            batch = _activity.TRIM_BATCH
            if len(obs) > batch and obs[batch - 1].clock_s < keep_clock:  # a batch to drop
                del obs[:bisect_left([o.clock_s for o in obs[:batch * 2]], keep_clock)]
        self.activity.trim_before(keep_ns, keep_clock)

    @staticmethod
    def _speed_corrected(change: float | None, base: Baseline,
                         speed_now: float | None) -> tuple[float | None, float | None]:
        """(the change speed explains, the drift it does not): 5.6 spm per m/s, Burns 2019."""
        if change is None or base.cadence_spm is None or speed_now is None \
                or base.speed_mps is None:
            return None, change
        explained = pct_change(base.cadence_spm + CADENCE_SPEED_SLOPE_SPM_PER_MPS
                         * (speed_now - base.speed_mps), base.cadence_spm)
        return explained, change - (explained or 0.0)

    def run_figures(self) -> RunFigures:
        """The end of the run (called at the end of the stream): medians over the last
        ``FINAL_FRACTION`` of the running time (at least the baseline's length, at most
        ``FINAL_MAX_S``, at most all of it); none when that window would reach back into the
        baseline (end and baseline never share a stride)."""
        base = self._update_baseline()
        total = self.activity.running_s
        window: float | None = min(max(FINAL_FRACTION * total, base.duration_s),
                                   max(FINAL_MAX_S, base.duration_s), total)
        if base.complete and base.end_clock_s is not None and total - (window or 0.0) \
                < base.end_clock_s:
            window = None
        cadence = speed = impact = axial = None
        if window:
            cadence, speed = self._cadence_over(total - window, total)
            impact, axial = self._impact_over(total - window, total)
        return RunFigures(window or None, cadence, speed, impact, axial,
                          self.activity.seconds(), self.activity.breaks())

    def _cadence_over(self, from_s: float, to_s: float) -> tuple[float | None, float | None]:
        """(weighted median cadence, weighted median speed) of running observations whose
        middle lies in (from_s, to_s] of the running clock."""
        obs = [o for o in self.state.run_cadence if from_s < o.mid_clock_s <= to_s]
        cadence = weighted_median([o.value for o in obs], [o.weight_s for o in obs])
        with_speed = [o for o in obs if o.speed_mps is not None]
        speed = weighted_median([o.speed_mps for o in with_speed if o.speed_mps is not None],
                                [o.weight_s for o in with_speed])
        return cadence, speed

    def _impact_over(self, from_s: float, to_s: float) -> tuple[float | None, float | None]:
        obs = [o for o in self.state.run_impact if from_s < o.clock_s <= to_s]
        if not obs or 100.0 * sum(o.clipped for o in obs) / len(obs) \
                > self.config.max_clipped_for_impact_pct:
            return None, None
        clean = [o for o in obs if not o.clipped]
        axial = [o.axial for o in clean if o.axial is not None]
        return median(o.value for o in clean), median(axial)

    def _resolve_start(self) -> None:
        """A live mark becomes a running-clock position once the data has reached it."""
        base = self.state.baseline
        if base.start_clock_s is None and base.start_ns is not None \
                and self.activity.state.bout_end_ns >= base.start_ns:
            base.start_clock_s = self.activity.clock_at(base.start_ns)

    def _update_baseline(self, speed: TimeSeries | None = None) -> Baseline:
        base = self.state.baseline
        end = base.end_clock_s
        if base.complete or end is None or base.start_clock_s is None \
                or self.activity.running_s < end:
            return base
        base.cadence_spm, base.speed_mps = self._cadence_over(base.start_clock_s, end)
        base.impact_g, base.impact_axial_g = self._impact_over(base.start_clock_s, end)
        if base.start_ns is None:
            base.start_ns = self.activity.time_at(base.start_clock_s)
        if base.speed_mps is None and speed is not None and base.start_ns is not None:
            # observations carry no speed (set after them): the speed series over the window
            end_ns = self.activity.time_at(end) or base.start_ns
            base.speed_mps = median(speed.window(base.start_ns, end_ns))
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
