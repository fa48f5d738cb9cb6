"""What the runner is doing — running, walking or stopped — and the running clock.

A stream's timeline is reported as *spans* (the session processor decides them from its data,
docs/metrics.md "Running, walking, pauses"):

- an IMU stream: the time between two strikes is locomotion when it is at most one slowest
  stride (:data:`MAX_STRIDE_S`), a stop when longer, and not recorded when a data gap lies in
  it;
- a foot pod or watch: a sample covers the time since the previous one; it is a stop when its
  cadence is 0 or its speed below :data:`STOPPED_BELOW_MPS`; a silence longer than
  :data:`RECORD_GAP_S` is a stop unless the distance grew at least at a walking pace over it
  (then the runner moved and nothing was recorded: a dropout, not a pause).

Locomotion is *running* while the median cadence of the last ``window_s`` of spans is at least
``walking_below_spm``, else *walking*. The **running clock** counts only running time: the
baseline and the end-of-run window are taken on it, so warm-up, baseline and drift are never
diluted by an aid station, a traffic light or a walking break. Consecutive spans of one kind
make a bout; a stop or a walk of at least :data:`MIN_BREAK_S` is a break, reported as a
:class:`~footfall.wire.events.PauseEvent` when it ends.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import deque
from dataclasses import dataclass, field
from typing import Final, Literal

from footfall.core.units import NS
from footfall.processing.stats import median
from footfall.processing.tuning import MAX_STRIDE_S
from footfall.wire.events import Activity, PauseEvent

#: a watch's speed below this is standing: walking is ≥ ~0.8 m/s, a GPS at rest drifts below
STOPPED_BELOW_MPS: Final = 0.5
#: a watch's "smart recording" leaves up to ~10 s between records while the runner moves; a
#: silence longer than this is a stop (or a dropout, if the distance grew)
RECORD_GAP_S: Final = 15.0
#: breaks at least this long are reported one by one: a traffic light, an aid station, a timer
#: pause; shorter ones (a missed strike or two, a slow record) only count towards the times
MIN_BREAK_S: Final = 10.0
#: old history is dropped in batches of at least this many entries (amortised O(1) each)
TRIM_BATCH = 1024

SpanKind = Literal["locomotion", "stopped", "unrecorded"]
BoutKind = Literal["running", "walking", "stopped", "unrecorded"]


@dataclass(slots=True)
class ActivityState:
    kind: BoutKind | None = None  # of the current bout
    bout_start_ns: int = 0
    bout_end_ns: int = 0
    bout_clock_s: float = 0.0  # the running clock when the bout began
    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(
        ("running", "walking", "stopped", "unrecorded"), 0.0))
    breaks: dict[str, int] = field(default_factory=lambda: {"stop": 0, "walk": 0})
    #: the running clock's course: (UTC, clock) at the edges of running spans, in time order
    clock_ns: list[int] = field(default_factory=list)
    clock_s: list[float] = field(default_factory=list)
    #: recent locomotion (end UTC, implied cadence) for the running/walking decision
    recent: deque[tuple[int, float]] = field(default_factory=deque)

    @property
    def running_s(self) -> float:
        return self.seconds["running"]


class ActivityTracker:
    """Spans in, bouts and the running clock out; breaks as :class:`PauseEvent`."""

    def __init__(self, walking_below_spm: float, window_s: float = 10.0) -> None:
        self.walking_below_spm = walking_below_spm
        self.window_ns = round(window_s * NS)
        self.state = ActivityState()

    def span(self, start_ns: int, end_ns: int, kind: SpanKind,
             cadence_spm: float | None = None) -> list[PauseEvent]:
        """The timeline from ``start_ns`` to ``end_ns`` was ``kind``; locomotion is classified
        by ``cadence_spm`` (the span's own step rate) and the recent spans'."""
        if end_ns <= start_ns:
            return []
        st = self.state
        bout: BoutKind = "stopped" if kind == "stopped" else \
            "unrecorded" if kind == "unrecorded" else self._classify(end_ns, cadence_spm)
        out: list[PauseEvent] = []
        if st.kind != bout:
            out += self._close()
            st.kind, st.bout_start_ns, st.bout_clock_s = bout, start_ns, st.running_s
        st.bout_end_ns = end_ns
        seconds = (end_ns - start_ns) / NS
        if bout == "running":
            if not st.clock_ns or st.clock_ns[-1] != start_ns:
                st.clock_ns.append(start_ns)
                st.clock_s.append(st.running_s)
            st.seconds["running"] += seconds
            st.clock_ns.append(end_ns)
            st.clock_s.append(st.running_s)
        else:
            st.seconds[bout] += seconds
        return out

    def finish(self) -> list[PauseEvent]:
        """The end of the stream: the current bout ends (a break may be reported)."""
        out = self._close()
        self.state.kind = None
        return out

    # -- queries ---------------------------------------------------------------------------

    def current(self, now_ns: int) -> Activity | None:
        """What the runner does at ``now_ns``: stopped once nothing moved for a slowest
        stride, else the current bout's kind (None before any span)."""
        st = self.state
        if st.kind is None:
            return None
        if st.kind == "unrecorded" or now_ns - st.bout_end_ns > round(MAX_STRIDE_S * NS):
            return "stopped"
        return st.kind

    @property
    def running_s(self) -> float:
        return self.state.running_s

    def clock_at(self, time_ns: int) -> float:
        """The running clock at ``time_ns`` (it stands still outside running spans)."""
        st = self.state
        i = bisect_right(st.clock_ns, time_ns)
        if i == 0:
            return 0.0
        if i == len(st.clock_ns):
            return st.running_s
        t0, t1, c0, c1 = st.clock_ns[i - 1], st.clock_ns[i], st.clock_s[i - 1], st.clock_s[i]
        return c0 + (c1 - c0) * (time_ns - t0) / (t1 - t0) if t1 > t0 else c1

    def time_at(self, clock_s: float) -> int | None:
        """The first UTC at which the running clock reached ``clock_s`` (None: not yet)."""
        st = self.state
        i = bisect_left(st.clock_s, clock_s)
        if i == len(st.clock_s):
            return None
        if i == 0:
            return st.clock_ns[0]
        t0, t1, c0, c1 = st.clock_ns[i - 1], st.clock_ns[i], st.clock_s[i - 1], st.clock_s[i]
        return t0 + round((t1 - t0) * (clock_s - c0) / (c1 - c0)) if c1 > c0 else t1

    def trim_before(self, time_ns: int, clock_s: float) -> None:
        """Forget the running clock's course before UTC ``time_ns`` and clock ``clock_s``
        (whichever is earlier), keeping the edge before them, so ``clock_at``/``time_at``
        from there on stay exact; in batches (O(1) per span)."""
        st = self.state
        i = min(bisect_left(st.clock_ns, time_ns), bisect_left(st.clock_s, clock_s)) - 1
        if i >= TRIM_BATCH:
            del st.clock_ns[:i]
            del st.clock_s[:i]

    def seconds(self) -> dict[str, float]:
        return dict(self.state.seconds)

    def breaks(self) -> dict[str, int]:
        return dict(self.state.breaks)

    # -- internals -------------------------------------------------------------------------

    def _classify(self, end_ns: int, cadence_spm: float | None) -> BoutKind:
        recent = self.state.recent
        if cadence_spm is not None and cadence_spm > 0:
            recent.append((end_ns, cadence_spm))
        while recent and recent[0][0] < end_ns - self.window_ns:
            recent.popleft()
        if not recent:  # nothing to judge by: keep what the runner was doing
            kind = self.state.kind
            return kind if kind in ("running", "walking") else "running"
        middle = median(c for _, c in recent)
        return "running" if middle is not None and middle >= self.walking_below_spm \
            else "walking"

    def _close(self) -> list[PauseEvent]:
        st = self.state
        if st.kind not in ("stopped", "walking"):
            return []
        duration_s = (st.bout_end_ns - st.bout_start_ns) / NS
        if duration_s < MIN_BREAK_S:
            return []
        kind: Literal["stop", "walk"] = "stop" if st.kind == "stopped" else "walk"
        st.breaks[kind] += 1
        return [PauseEvent.derived(time_ns=st.bout_end_ns, kind=kind, start_ns=st.bout_start_ns,
                                   duration_s=duration_s, running_s=st.bout_clock_s)]
