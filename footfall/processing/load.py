"""Training load over weeks: the runner's own watch runs and the treadmill sessions together.

Pure computation on typed inputs (a decoded FIT file, the treadmill sessions' summaries);
docs/report.md explains the figures and their sources.

Per activity:

- ``time_s``: running time. A watch: the sum of the intervals between consecutive records of a
  running session that are at most :data:`MAX_RECORD_GAP_S` apart (a longer gap is a stop:
  the timer was paused or the watch stopped recording). A treadmill session: its duration.
- ``distance_m``: a watch's own odometer, the sum of the record-to-record increases of
  ``distance`` within each running session. A treadmill session: belt speed × time, when the
  belt speed is known; else unknown (never guessed).
- ``steps``, both legs: a watch, the record cadence (FIT: strides/min, so steps = 2 ×) times
  each interval, trapezoid rule, over the intervals counted in ``time_s``. A treadmill
  session: :func:`session_steps`.
- ``impact_load_g``: cumulative impact, the sum over tibia sensors of (that leg's steps × its
  median PTA) — an impact *marker* total, not bone load; only where PTA was measured (never
  on a watch run).

Per week (Monday to Sunday in the runner's local time), the sums, and:

- ``ramp_pct``: the change in distance from the week before. Flagged above
  :data:`RAMP_FLAG_PCT`: novice runners who progressed their weekly distance by more than 30 %
  had a higher rate of distance-related injuries than those under 10 % (Nielsen et al. 2014,
  JOSPT 44:739; HR 1.59, 95 % CI 0.96–2.66). A weak association in one cohort, not a rule.
- ``acwr``: the acute:chronic ratio of distance, this week / the mean of this and the three
  weeks before (the coupled rolling-average form behind Gabbett's 0.8–1.3 "sweet spot",
  BJSM 2016 50:273). Widely used and widely contested — mathematical coupling (Lolli et al.
  2019, BJSM 53:921), no predictive value beyond acute load (Impellizzeri et al. 2021,
  Sports Med 51:581): reported with that caveat, never as a verdict.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta, tzinfo
from datetime import datetime as dt
from typing import Literal

from footfall.core.units import NS
from footfall.core.vocab import Placement, Side
from footfall.recordings.fit import RUNNING_SPORTS, FitImport
from footfall.wire.events import DeviceSummary, RscSample

#: consecutive watch records further apart than this are a stop, not running time; smart
#: recording writes a record at least every ~10 s while moving (11 s at most in the shared
#: watch files, docs/report.md)
MAX_RECORD_GAP_S = 60.0
#: week-to-week distance increase flagged (Nielsen et al. 2014: > 30 %)
RAMP_FLAG_PCT = 30.0
#: weeks in the chronic average of the acute:chronic ratio (this one and three before)
CHRONIC_WEEKS = 4
#: the conventional "sweet spot" of the ratio (Gabbett 2016), shown for orientation only
ACWR_RANGE = (0.8, 1.3)
#: weeks a report or ``footfall load`` shows by default: the last quarter of a year
SHOWN_WEEKS = 12

Kind = Literal["watch", "treadmill"]


@dataclass(frozen=True, slots=True)
class Activity:
    """One run: a watch file's running session, or a treadmill session."""

    start_ns: int
    kind: Kind
    name: str
    time_s: float
    distance_m: float | None
    steps: int | None
    impact_load_g: float | None = None
    #: steps whose PTA was measured (the part of ``steps`` behind ``impact_load_g``)
    impact_steps: int = 0


@dataclass(frozen=True, slots=True)
class Week:
    start: date  # its Monday, local time
    activities: tuple[Activity, ...]
    time_s: float
    distance_m: float
    #: False when a treadmill session of the week has no known distance (not counted)
    distance_complete: bool
    steps: int
    impact_load_g: float | None
    ramp_pct: float | None
    acwr: float | None

    @property
    def ramp_flagged(self) -> bool:
        return self.ramp_pct is not None and self.ramp_pct > RAMP_FLAG_PCT

    @property
    def end(self) -> date:
        return self.start + timedelta(days=6)

    def count(self, kind: Kind) -> int:
        return sum(a.kind == kind for a in self.activities)


def _windows(fit: FitImport) -> list[tuple[int, int]]:
    running = [(w.start_ns, w.end_ns) for w in fit.windows if w.sport in RUNNING_SPORTS]
    if running:
        return sorted(running)
    if fit.samples:  # no session messages: the whole file is one run
        return [(fit.samples[0].time_ns, fit.samples[-1].time_ns)]
    return []


def _fit_leg(samples: Sequence[RscSample], start_ns: int, name: str) -> Activity:
    time_s = steps = distance = 0.0
    for a, b in itertools.pairwise(samples):
        if a.total_distance_m is not None and b.total_distance_m is not None:
            distance += max(0.0, b.total_distance_m - a.total_distance_m)
        dt_s = (b.time_ns - a.time_ns) / NS
        if dt_s <= MAX_RECORD_GAP_S:
            time_s += dt_s
            steps += (a.cadence_spm + b.cadence_spm) / 2 / 60 * dt_s
    known = any(s.total_distance_m is not None for s in samples)
    return Activity(start_ns, "watch", name, time_s, distance if known else None, round(steps))


def fit_activities(fit: FitImport, name: str) -> list[Activity]:
    """Each running session of a decoded FIT file (a multisport file's run legs each count)."""
    windows = _windows(fit)
    out = []
    for i, (start, end) in enumerate(windows):
        samples = [s for s in fit.samples if start <= s.time_ns <= end]
        if len(samples) < 2:
            continue
        leg = f"{name} (run {i + 1} of {len(windows)})" if len(windows) > 1 else name
        out.append(_fit_leg(samples, samples[0].time_ns, leg))
    return out


def _legs(summaries: Iterable[DeviceSummary]) -> dict[tuple[str, str], DeviceSummary]:
    return {(s.placement, s.side): s for s in summaries
            if s.placement is not None and s.placement.is_leg
            and s.side in (Side.LEFT, Side.RIGHT) and s.steps}


def session_steps(summaries: Iterable[DeviceSummary]) -> int | None:
    """Both legs' steps of one session: a left and a right sensor at the same placement
    count their own strikes; else a trunk sensor counts every step; else one leg sensor's
    estimate (2 × its strides); else a foot pod's integrated cadence."""
    found = [s for s in summaries if s.steps]
    legs = _legs(found)
    for placement in (Placement.TIBIA, Placement.FOOT):
        pair = [legs.get((placement, side)) for side in (Side.LEFT, Side.RIGHT)]
        if pair[0] is not None and pair[1] is not None:
            return pair[0].steps + pair[1].steps
    trunk = [s for s in found if s.placement is not None and not s.placement.is_leg]
    if trunk:
        return trunk[0].steps
    estimates = [s.steps_both_legs_estimate for s in found if s.steps_both_legs_estimate]
    if estimates:
        return estimates[0]
    pods = [s.steps for s in found if s.source == "rsc"]
    return pods[0] if pods else None


def session_impact_load(summaries: Iterable[DeviceSummary]) -> tuple[float, int] | None:
    """(Σ steps × median PTA, the steps counted) over the tibia sensors whose PTA was
    measured; None when none was."""
    legs = [s for (placement, _), s in _legs(summaries).items()
            if placement == Placement.TIBIA and s.impact_g is not None]
    if not legs:
        return None
    return sum(s.steps * (s.impact_g or 0.0) for s in legs), sum(s.steps for s in legs)


def treadmill_activity(session: str, summaries: Sequence[DeviceSummary],
                       belt_speed_mps: float | None) -> Activity:
    """A treadmill session from its device summaries; distance only with a known belt speed."""
    start = min(s.start_ns for s in summaries)
    time_s = max(s.duration_s for s in summaries)
    impact = session_impact_load(summaries)
    return Activity(start, "treadmill", session, time_s,
                    belt_speed_mps * time_s if belt_speed_mps else None,
                    session_steps(summaries),
                    impact[0] if impact else None, impact[1] if impact else 0)


def _monday(time_ns: int, tz: tzinfo) -> date:
    day = dt.fromtimestamp(time_ns / NS, tz=tz).date()
    return day - timedelta(days=day.weekday())


def weeks(activities: Iterable[Activity], tz: tzinfo) -> list[Week]:
    """Every week from the first activity's to the last's (empty weeks included: a week
    off is load information too), oldest first."""
    acts = sorted(activities, key=lambda a: a.start_ns)
    if not acts:
        return []
    by_week: dict[date, list[Activity]] = {}
    for a in acts:
        by_week.setdefault(_monday(a.start_ns, tz), []).append(a)
    first, last = min(by_week), max(by_week)
    out: list[Week] = []
    monday = first
    while monday <= last:
        these = by_week.get(monday, [])
        distance = sum(a.distance_m or 0.0 for a in these)
        loads = [a.impact_load_g for a in these if a.impact_load_g is not None]
        previous = out[-1].distance_m if out else None
        ramp = 100.0 * (distance - previous) / previous if previous else None
        chronic = [w.distance_m for w in out[-(CHRONIC_WEEKS - 1):]] + [distance]
        acwr = distance / (sum(chronic) / CHRONIC_WEEKS) \
            if len(chronic) == CHRONIC_WEEKS and sum(chronic) > 0 else None
        out.append(Week(monday, tuple(these), sum(a.time_s for a in these), distance,
                        all(a.distance_m is not None for a in these),
                        sum(a.steps or 0 for a in these), sum(loads) if loads else None,
                        ramp, acwr))
        monday += timedelta(days=7)
    return out


