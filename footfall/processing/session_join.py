"""What needs more than one device — session cadence and drift, left/right symmetry — computed
so that it never depends on the order in which devices' data arrived.

Each device's own events (its steps, its per-second metrics) depend only on its own data. A
figure that combines devices cannot be computed when the first of them reaches a moment: the
other may be a frame behind, or (a file, a burst after an outage) a minute. So the join keeps
each device's progress — the time of its latest metrics event — and emits a
:class:`~footfall.wire.events.SessionMetricsEvent` for UTC second ``G`` only once every
*active* device has passed ``G + 1 s`` (a strike is confirmed within its look-ahead, < 1 s). A
device is active from its ``meta`` on (its retained meta precedes its data, live and in a
file), so a second is not emitted while a known device has yet to send its first data: its
figures for that second would otherwise depend on whether its first frame came before or
after the other's. A device that ended (final status), went offline, or went silent
(``no_data``) stops holding the others back; at the end of the session everything still
pending is emitted.

- **Session cadence and drift**: the mean of the devices' latest per-second figures at ``G``.
- **Impact symmetry** (R − L) / max(R, L) × 100 (gait.md) of a leg pair of one placement: each
  leg's rolling impact at ``G``.
- **Step-time symmetry**: a leg strike ends a step that began with the other leg's last strike
  (their rising edges, both UTC); the median step time of each side over the last
  ``cadence_window_s``, a step longer than 0.75 of the stride (or 1 s) being a pause.
"""

from __future__ import annotations

import statistics
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from footfall.config.analysis import AnalysisConfig
from footfall.core.units import NS
from footfall.core.vocab import Placement, Side
from footfall.wire.events import (
    AlertEvent,
    DerivedEvent,
    MetricsEvent,
    SessionMetricsEvent,
    StepEvent,
)

#: a step (one leg's strike to the other's) longer than this is a pause, not a step
MAX_STEP_S: Final = 1.0
#: a device's latest metrics count towards the session figures while this fresh (data time)
FRESH_S: Final = 2.5
#: a grid second is complete once every active device is this far past it
MARGIN_NS: Final = NS
STATES: Final = ("warmup", "collecting", "set")


@dataclass(slots=True)
class _Device:
    placement: Placement | None = None
    side: Side | None = None
    progress_ns: int | None = None  # time of its latest metrics event
    metrics: list[MetricsEvent] = field(default_factory=list)  # recent, time order
    rises_ns: list[int] = field(default_factory=list)  # its strikes' rising edges, recent
    strides_s: list[float] = field(default_factory=list)  # the interval of each of them
    ended: bool = False
    absent: set[str] = field(default_factory=set)  # rules that say it is gone (offline, no data)
    expected: bool = False  # its meta said it is part of the session

    @property
    def active(self) -> bool:
        return (self.progress_ns is not None or self.expected) and not self.ended \
            and not self.absent


class SessionJoin:
    """Feed it every device event (:meth:`observe`); ask for what became complete
    (:meth:`ready`), and at the end for the rest (:meth:`flush`)."""

    def __init__(self, config: AnalysisConfig | None = None, *, skip_silences: bool = True
                 ) -> None:
        self.config = config or AnalysisConfig()
        #: ``skip_silences=False``: every grid second in turn (the tests' reference walk)
        self.skip_silences = skip_silences
        self._devices: dict[str, _Device] = {}
        self._next_ns: int | None = None  # the next grid second to emit
        self._changed = False  # an input since the last ready()

    # -- inputs ------------------------------------------------------------------------------

    def observe(self, device: str, event: DerivedEvent) -> None:
        if isinstance(event, SessionMetricsEvent):
            return
        self._changed = True
        dev = self._device(device)
        if isinstance(event, MetricsEvent):
            dev.placement, dev.side = event.placement, event.side
            dev.metrics.append(event)
            dev.progress_ns = max(dev.progress_ns or event.time_ns, event.time_ns)
            if self._next_ns is None:
                self._next_ns = -(-event.time_ns // NS) * NS  # the first whole second
        elif isinstance(event, StepEvent):
            if event.rise_sensor_time_s is not None:
                rise = event.time_ns + round((event.rise_sensor_time_s - event.sensor_time_s)
                                             * NS)
                dev.rises_ns.append(rise)
                dev.strides_s.append(event.interval_s or 0.0)
        elif isinstance(event, AlertEvent) and event.rule in ("sensor_offline", "no_data"):
            (dev.absent.add if event.state == "start" else dev.absent.discard)(event.rule)

    def _device(self, device: str) -> _Device:
        dev = self._devices.get(device)
        if dev is None:  # (not setdefault: this runs per event, and makes 3 lists and a set)
            dev = self._devices[device] = _Device()
        return dev

    def expect(self, device: str) -> None:
        """The device's meta: it belongs to the session and will send data."""
        self._changed = True
        self._device(device).expected = True

    def ended(self, device: str, ended: bool = True) -> None:
        """The device said its session ended (or, ``False``, that it is back)."""
        self._changed = True
        self._device(device).ended = ended

    # -- outputs -----------------------------------------------------------------------------

    @property
    def changed(self) -> bool:
        """An input came since the last :meth:`ready` (else it has nothing new)."""
        return self._changed

    def ready(self) -> list[SessionMetricsEvent]:
        """The grid seconds every active device has passed."""
        if not self._changed:
            return []  # (most frames) nothing came since the last call, which took all it could
        self._changed = False
        active = [d.progress_ns for d in self._devices.values() if d.active]
        if not active or None in active or self._next_ns is None:
            return []  # a known device has sent nothing yet: it may still have these seconds
        return self._emit_until(min(p for p in active if p is not None) - MARGIN_NS)

    def flush(self) -> list[SessionMetricsEvent]:
        """The end of the session: every second up to the last data."""
        known = [d.progress_ns for d in self._devices.values() if d.progress_ns is not None]
        return self._emit_until(max(known)) if known and self._next_ns is not None else []

    def _emit_until(self, until_ns: int) -> list[SessionMetricsEvent]:
        out: list[SessionMetricsEvent] = []
        if self._next_ns is None or self._next_ns > until_ns:
            return out  # (most frames): no second completed, nothing more to forget
        while self._next_ns <= until_ns:
            event = self._at(self._next_ns)
            if event is not None:
                out.append(event)
                self._next_ns += NS
            else:
                self._next_ns = (self._after_silence(self._next_ns, until_ns)
                                 if self.skip_silences else self._next_ns + NS)
        self._trim()
        return out

    def _after_silence(self, at_ns: int, until_ns: int) -> int:
        """The next grid second that may have a figure, when no device had a fresh one at
        ``at_ns``: none has until some device's next metrics event. One step, however long
        the silence: a hostile clock that puts one device's data decades after another's
        must not cost a loop per second in between (billions: the processor would stall)."""
        past_until = at_ns + ((until_ns - at_ns) // NS + 1) * NS  # the walk's next call
        following = min((m.time_ns for dev in self._devices.values() for m in dev.metrics
                         if m.time_ns > at_ns), default=None)
        if following is None:  # nothing after it: no second up to until_ns has a figure
            return past_until
        # its grid second (> at_ns: on the grid), but never past until_ns: a second after it
        # is not decided yet (data of a device not holding the join back may still come)
        return min(-(-following // NS) * NS, past_until)

    def _latest(self, dev: _Device, at_ns: int) -> MetricsEvent | None:
        times = [m.time_ns for m in dev.metrics]
        i = bisect_right(times, at_ns)
        if not i or dev.metrics[i - 1].time_ns < at_ns - round(FRESH_S * NS):
            return None
        return dev.metrics[i - 1]

    def _at(self, at_ns: int) -> SessionMetricsEvent | None:
        latest = {name: m for name, dev in self._devices.items()
                  if (m := self._latest(dev, at_ns)) is not None}
        if not latest:
            return None
        cadence = _mean(m.cadence_spm for m in latest.values())
        pair = self._pair(latest)
        figures: dict[str, object] = {}
        if pair is not None:
            placement, left, right = pair
            impact_l, impact_r = latest[left].impact_g, latest[right].impact_g
            step_l = self._step_time(left, right, at_ns)
            step_r = self._step_time(right, left, at_ns)
            figures = {"placement": placement, "impact_left_g": impact_l,
                       "impact_right_g": impact_r, "symmetry_pct": _symmetry(impact_l, impact_r),
                       "step_time_left_s": step_l, "step_time_right_s": step_r,
                       "step_time_symmetry_pct": _symmetry(step_l, step_r)}
        state = min((m.baseline_state for m in latest.values()), key=STATES.index)
        return SessionMetricsEvent.derived(
            time_ns=at_ns, devices=len(latest), baseline_state=state, cadence_spm=cadence,
            cadence_baseline_spm=_mean(m.cadence_baseline_spm for m in latest.values()),
            cadence_drift_pct=_mean(m.cadence_drift_pct for m in latest.values()), **figures)

    def _pair(self, latest: dict[str, MetricsEvent]) -> tuple[Placement, str, str] | None:
        """The first placement with a left and a right leg sensor reporting."""
        by: dict[tuple[Placement, Side], str] = {}
        for name, m in latest.items():
            if m.placement.is_leg and m.side is not Side.NONE:
                by.setdefault((m.placement, m.side), name)
        for placement in Placement:
            left, right = by.get((placement, Side.LEFT)), by.get((placement, Side.RIGHT))
            if left is not None and right is not None:
                return placement, left, right
        return None

    def _step_time(self, mine: str, other: str, at_ns: int) -> float | None:
        """Median step time ending with ``mine``'s strikes in the window up to ``at_ns``."""
        a, b = self._devices[mine], self._devices[other]
        start = at_ns - round(self.config.cadence_window_s * NS)
        steps = []
        for k in range(bisect_left(a.rises_ns, start), bisect_right(a.rises_ns, at_ns)):
            rise = a.rises_ns[k]
            j = bisect_left(b.rises_ns, rise) - 1
            if j < 0:
                continue
            stride = a.strides_s[k]
            limit_s = 0.75 * stride if stride else MAX_STEP_S
            step_ns = rise - b.rises_ns[j]
            if 0 < step_ns < limit_s * NS:
                steps.append(step_ns / NS)
        # (statistics.median: the same value as NumPy's, the middle one or the mean of the two
        # middle ones, without NumPy's ~15 µs a call on a few dozen values)
        return statistics.median(steps) if steps else None

    def _trim(self) -> None:
        """Forget what no future grid second can need."""
        if self._next_ns is None:
            return
        keep_from = self._next_ns - round((self.config.cadence_window_s + FRESH_S + 2) * NS)
        for dev in self._devices.values():
            i = bisect_left([m.time_ns for m in dev.metrics], keep_from)
            if i > 1:
                del dev.metrics[:i - 1]
            k = bisect_left(dev.rises_ns, keep_from)
            if k > 1:
                del dev.rises_ns[:k - 1]
                del dev.strides_s[:k - 1]


def _mean(values: Iterable[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None


def _symmetry(left: float | None, right: float | None) -> float | None:
    """(R − L) / max(R, L) × 100 (gait.md)."""
    if left is None or right is None or max(left, right) <= 0:
        return None
    return 100.0 * (right - left) / max(left, right)
