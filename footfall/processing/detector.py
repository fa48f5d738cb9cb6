"""Streaming impact-peak detector; the streams of one detector advance together.

Per sample: the resultant acceleration is low-passed (a Butterworth biquad run by ``lfilter``
with its state carried from chunk to chunk; for detection only). A filtered sample ``t`` is a
*candidate* when it is the highest of the preceding ``lookback_ms`` and nothing higher follows
within ``lookahead_ms``; it is *accepted* as a strike when it clears an adaptive threshold (a
fraction of the recent impacts) and a refractory period (a fraction of the typical strike
interval, never shorter than the physiological minimum) — unless it is much stronger than the
last strike, which then was not one. The impact value, its time, the clipping flag and the
loading rate are read from the *raw* samples within ``peak_search_ms`` of ``t``; the interval
is timed on the rising edge. docs/metrics.md explains every rule and where it comes from.

Until a stream has seen a strike, a leg sensor's first peaks may be the *other* leg's strike,
which reaches it weakly 0.3–0.7 s before its own (later, the learnt threshold keeps it out):
the first strikes are *held* until they show a stride pattern (see :class:`Hold`), so an echo
can be dropped when the real strike proves stronger, instead of being sent as a step.

Every decision depends only on samples up to ``t + lookahead`` (a held strike's release on
a fixed later sample), so the result is the same however the stream is cut into chunks; the
sample-level work is a handful of NumPy calls per chunk — for all the streams of a detector
at once when they each bring a chunk (:meth:`StepDetector.append_rows`: the live processor's
frames of one batch) — and Python only loops over the few candidate peaks.
"""

from __future__ import annotations

import functools
import itertools
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final, TypeAlias

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import as_strided
from scipy import signal

from footfall.config.analysis import DetectorConfig
from footfall.processing import clipping
from footfall.processing.tuning import (
    LEG_REFRACTORY_MS,
    MAX_STANCE_MS,
    MAX_STRIDE_S,
    PLACEMENT_TUNING,
    PlacementTuning,
)
from footfall.wire.events import ClipRule

FloatArray: TypeAlias = npt.NDArray[np.float64]
Float32Array: TypeAlias = npt.NDArray[np.float32]
BoolArray: TypeAlias = npt.NDArray[np.bool_]


def _lfilter_checked(b: FloatArray, a: FloatArray, x: FloatArray,
                     zi: FloatArray) -> tuple[FloatArray, FloatArray]:
    y, zf = signal.lfilter(b, a, x, axis=-1, zi=zi)
    return y, zf


try:  # lfilter's own C routine: the same numbers, without ~2.5 µs of argument checks a call
    from scipy.signal._sigtools import _linear_filter as _c_linear_filter

    def _lfilter(b: FloatArray, a: FloatArray, x: FloatArray,
                 zi: FloatArray) -> tuple[FloatArray, FloatArray]:
        y, zf = _c_linear_filter(b, a, x, -1, zi)
        return y, zf
except ImportError:  # a SciPy that moved it: the public function
    _lfilter = _lfilter_checked

#: a peak this many times stronger than the last strike is taken even inside the refractory,
#: and restarts the strike history
OVERRIDE_RATIO: Final = 1.5
#: gait.md (Mitschke 2017): 200 Hz is enough to sample the impact peak itself
MIN_PTA_RATE_HZ: Final = 200.0
#: a strong candidate the refractory blocked this near the middle of a stride, on this many
#: strides in a row, means the refractory spans two strides (learnt at a walk, now running):
#: the interval history is dropped so the refractory falls back to its minimum
#: (two floats, not a tuple: mypyc cannot hold a Final tuple of floats, it reads as unset)
HALVED_MIDDLE_LO: Final = 0.4
HALVED_MIDDLE_HI: Final = 0.6
HALVED_STRIDES: Final = 6
#: a clipped peak was at least at the rail: the threshold's reference counts it this much
#: higher, or a sensor clipping every impact would let swing peaks pass as strikes
CLIPPED_HEADROOM: Final = 1.25
#: a rising edge spans at least this fraction of the peak's height above 1 g
MIN_RISE_FRACTION: Final = 0.5
#: across a data gap an interval counts only if it is below this × the typical interval
GAP_INTERVAL_RATIO: Final = 1.4
#: the shortest row of samples a stream keeps (more when the look-back is longer): filled by
#: frames until it is full, then shifted back to what decisions still read
ROW_MIN_SAMPLES: Final = 512
#: held strikes at a segment's start are released once three of them have two intervals
#: agreeing within this (running strides vary by a few percent from one to the next) …
HOLD_PATTERN_TOLERANCE: Final = 0.10
#: … or once the first held one is a slowest stride old: a stride pattern is overdue by then
HOLD_MAX_S: Final = MAX_STRIDE_S


@dataclass(frozen=True, slots=True)
class Peak:
    """One accepted strike. Indices are global sample indices of the stream."""

    index: int  # raw impact peak
    confirm_index: int  # the sample whose arrival confirmed it
    impact_g: float  # resultant at the raw peak
    impact_axial_g: float  # largest |axial| within the peak region
    loading_rate_gps: float
    clipped: bool
    #: the strike's rising edge: where the filtered signal last crossed half-way from the
    #: preceding minimum to the peak (fractional index) — steadier than the peak for timing
    rise_index: float
    interval_samples: float | None  # rise to rise since the previous strike, None if unknown
    confidence: float
    clip_rule: ClipRule | None = None  # which rule found it clipped (:mod:`.clipping`)


@dataclass(slots=True)
class PeakHistory:
    """Per-stream memory of recent strikes: drives the adaptive threshold and refractory."""

    heights_g: deque[float]
    intervals: deque[float]
    last_candidate: int | None = None  # filtered-peak index of the last strike
    last_rise: float | None = None  # rise index of the last strike
    after_gap: bool = False  # a data gap since the last strike: a strike may be hidden in it
    #: derived from the deques at each strike (not per candidate): see ``_remember``
    reference_g: float | None = None
    typical_interval: float | None = None
    last_impact_g: float | None = None
    #: a strong candidate the refractory blocked since the last strike (its index), and on
    #: how many strides in a row one lay in the middle: the refractory locked onto every
    #: other strike (see ``HALVED_STRIDES``)
    strong_blocked: int | None = None
    halved_strides: int = 0
    #: the extremes strike peaks reached, and the sensor's rail once they pile up against one
    rails: clipping.RailState = field(default_factory=clipping.RailState)


@dataclass(slots=True)
class Hold:
    """A leg stream's first strikes, not yet emitted (until it has a strike history).

    While *establishing*, accepted strikes are held, and candidates rejected only by the
    refractory are remembered as blocked. A strike accepted by the override (inside the
    refractory, ``OVERRIDE_RATIO`` × stronger than the last) drops every held strike weaker
    than 1 / ``OVERRIDE_RATIO`` of it (the other leg's echo, a swing peak) and re-admits the
    latest blocked candidate a plausible stride before it (it was blocked only by the echo).
    Held strikes are released with their own times — on a stride pattern, ``HOLD_MAX_S`` after
    the first, or at the segment's end — and the stream is established until its next gap.
    """

    establishing: bool = True
    held: list[tuple[Peak, float]] = field(default_factory=list)  # (strike, effective g)
    blocked: list[tuple[Peak, float]] = field(default_factory=list)

    def deadline(self, hold_samples: int) -> int | None:
        return self.held[0][0].index + hold_samples if self.held else None


class _Rows:
    """The samples of every stream of one detector, one row each: the filtered detection
    signal, the raw resultant, the axial axis, the full-scale flags and the axes (float32:
    exact for int16 counts, half the memory traffic). In rows, the frames of many streams are
    written, filtered and searched with one NumPy call each (:meth:`StepDetector.append_rows`);
    a row is handed out by :meth:`StepDetector.new_state` and comes back when its state goes."""

    def __init__(self, width: int, order: int) -> None:
        self.width, self.order = width, order
        self.free: list[int] = []
        self.used = 0
        self.filtered = np.zeros((0, width))
        self.resultant = np.zeros((0, width))
        self.axial = np.zeros((0, width))
        self.rail = np.zeros((0, width), dtype=bool)
        self.axes = np.zeros((0, width, 3), dtype=np.float32)
        self.zi = np.zeros((0, order))

    def take(self) -> int:
        if self.free:
            return self.free.pop()
        if self.used == self.filtered.shape[0]:
            self._resize(max(16, 2 * self.used), self.width)
        self.used += 1
        return self.used - 1

    def release(self, row: int) -> None:
        self.free.append(row)

    def widen(self, samples: int) -> None:
        """Room for ``samples`` in every row (a long chunk: a file read in one go)."""
        width = self.width
        while width < samples:
            width *= 2
        self._resize(self.filtered.shape[0], width)

    def _resize(self, rows: int, width: int) -> None:
        def grown(old: npt.NDArray[Any]) -> npt.NDArray[Any]:
            new = np.zeros((rows, width, *old.shape[2:]), dtype=old.dtype)
            new[:old.shape[0], :old.shape[1]] = old
            return new

        self.filtered, self.resultant, self.axial = (
            grown(self.filtered), grown(self.resultant), grown(self.axial))
        self.rail, self.axes = grown(self.rail), grown(self.axes)
        zi = np.zeros((rows, self.order))
        zi[:self.zi.shape[0]] = self.zi
        self.zi, self.width = zi, width

    def shift(self, row: int, by: int, filled: int) -> None:
        """Drop the first ``by`` columns of ``row`` (of which ``filled`` hold samples)."""
        for a in (self.filtered, self.resultant, self.axial, self.rail, self.axes):
            a[row, :filled - by] = a[row, by:filled]


def _max(a: npt.NDArray[Any], axis: int | None = None) -> Any:
    """``a.max(axis)``: the same reduction, called directly (``ndarray.max`` goes through a
    Python-level wrapper, a few µs for the few samples the detector's decisions read)."""
    return np.maximum.reduce(a, axis=axis)


def _runs(a: npt.NDArray[Any], m: int) -> npt.NDArray[Any]:
    """Rows ``a`` (rows, width[, 3]) as runs of ``m`` consecutive elements of its flat
    layout, one from each element on (a writeable view, no copy): ``_runs(a, m)[i]`` is
    ``a.reshape(-1, …)[i:i + m]``, so indexing it with many starts reads or writes a run per
    start in one NumPy call."""
    if not a.flags.c_contiguous:  # (reshape would copy it, and the writes would be lost)
        raise ValueError("_runs needs a C-contiguous array")
    flat = a.reshape(-1, *a.shape[2:])
    return as_strided(flat, shape=(flat.shape[0] - m + 1, m, *flat.shape[1:]),
                      strides=(flat.strides[0], *flat.strides), writeable=True)


@dataclass(slots=True, eq=False)
class DetectorState:
    """One stream's streaming state. Its samples are row ``row`` of its detector's rows:
    ``base`` is the global index of column 0 and ``n`` columns are filled; everything before
    ``decide_from`` has been decided. ``active``: a gap-free segment is under way (the
    filter's state, row ``row`` of ``rows.zi``, goes on from the last sample)."""

    rows: _Rows
    row: int
    history: PeakHistory
    hold: Hold = field(default_factory=Hold)
    active: bool = False
    base: int = 0
    n: int = 0
    decide_from: int = 0
    seg_start: int = 0

    def __del__(self) -> None:
        # the row goes back to the detector with its state (a finaliser, not weakref.finalize:
        # the compiled build's classes take no weak references, docs/architecture.md)
        self.rows.release(self.row)

    @property
    def holding(self) -> bool:
        """Strikes are held at the segment's start (:class:`Hold`)."""
        return bool(self.hold.held)

    @property
    def end(self) -> int:
        """Global index of the next sample expected."""
        return self.base + self.n

    @property
    def filtered(self) -> FloatArray:
        return self.rows.filtered[self.row, :self.n]

    @property
    def resultant(self) -> FloatArray:
        return self.rows.resultant[self.row, :self.n]

    @property
    def axial(self) -> FloatArray:
        return self.rows.axial[self.row, :self.n]

    @property
    def rail(self) -> BoolArray:
        return self.rows.rail[self.row, :self.n]

    @property
    def axes(self) -> Float32Array:
        return self.rows.axes[self.row, :self.n]

    def pending_from(self) -> int:
        """The oldest sample an emitted strike may still come from (held strikes included)."""
        if not self.hold.held:
            return self.base
        return min(self.base, self.hold.held[0][0].index)


@dataclass(slots=True, init=False)
class Found:
    """What :meth:`StepDetector.append_rows` found for one stream, for
    :meth:`StepDetector.decide_row`: the last sample to decide now, and the candidate peaks
    among the samples up to it (column indices of the stream's row), or None: decide the
    window on its own (it is not one chunk long: a segment's first look-ahead)."""

    last: int
    candidates: list[int] | None

    # (its own __init__, as session.Anchor's: one is made per frame)
    def __init__(self, last: int, candidates: list[int] | None) -> None:
        self.last = last
        self.candidates = candidates


class StepDetector:
    """Strike detector for ``placement`` at ``sample_rate_hz``; holds parameters only."""

    def __init__(self, sample_rate_hz: float, placement: str = "tibia",
                 config: DetectorConfig | None = None) -> None:
        if placement not in PLACEMENT_TUNING:
            raise ValueError(f"placement must be one of {sorted(PLACEMENT_TUNING)}, got "
                             f"{placement!r}")
        if not sample_rate_hz > 0:
            raise ValueError(f"sample_rate_hz must be positive, got {sample_rate_hz}")
        self.config = config or DetectorConfig()
        self.placement = placement
        self.profile: PlacementTuning = PLACEMENT_TUNING[placement]
        self.sample_rate_hz = float(sample_rate_hz)
        fs = self.sample_rate_hz
        cfg = self.config
        lookahead_ms = self.profile.lookahead_ms if cfg.lookahead_ms is None else cfg.lookahead_ms
        self.lookahead = max(1, round(lookahead_ms * fs / 1000.0))
        self.threshold_fraction = (self.profile.threshold_fraction
                                   if cfg.threshold_fraction is None else cfg.threshold_fraction)
        self.lookback = max(1, round(self.profile.lookback_ms * fs / 1000.0))
        # the raw peak region must lie inside the look-ahead that confirmed it
        self.search = min(self.lookahead, max(1, round(self.profile.peak_search_ms * fs / 1e3)))
        self.loading = max(1, round(cfg.loading_window_ms * fs / 1000.0))
        self._back_offsets = np.arange(1, self.lookback + 1)
        self._ahead_offsets = np.arange(1, self.lookahead + 1)
        # the rising edge is sought back to the previous strike, at most one longest stance
        self.rise_window = round(MAX_STANCE_MS * fs / 1000.0)
        self.history_len = max(self.lookback, self.search + self.loading, self.rise_window) + 1
        self.min_interval = round(self.profile.min_refractory_ms * fs / 1000.0)
        self.hold_samples = round(HOLD_MAX_S * fs)
        #: a blocked candidate is re-admitted a plausible stride before the strike: at least
        #: two shortest steps, at most a slowest stride
        self.stride_range = (LEG_REFRACTORY_MS * fs / 1000.0, MAX_STRIDE_S * fs)
        #: only a leg sensor hears the other leg's strike as an echo of its own
        self.holds_at_start = self.profile.strikes_per_stride == 1
        cutoff = self.profile.lowpass_hz
        # one biquad: lfilter's transfer function is exact enough and has a third of sosfilt's
        # per-call cost, which dominates for small live chunks
        self.ba: tuple[FloatArray, FloatArray] | None = None
        if cutoff < 0.45 * fs:
            b, a = signal.butter(cfg.filter_order, cutoff, btype="low", fs=fs)
            self.ba = (np.asarray(b, dtype=np.float64), np.asarray(a, dtype=np.float64))
            self._zi0 = signal.lfilter_zi(*self.ba)
        # rows hold a segment's last history_len + lookahead samples and a few frames more
        width = ROW_MIN_SAMPLES
        while width < 2 * (self.history_len + self.lookahead):
            width *= 2
        self._rows = _Rows(width, len(self.ba[1]) - 1 if self.ba is not None else 0)

    # -- state -------------------------------------------------------------------------------

    def new_state(self) -> DetectorState:
        """A stream's state, in a row of this detector's (freed when the state goes)."""
        n = self.config.history_peaks
        row = self._rows.take()
        return DetectorState(self._rows, row, PeakHistory(deque(maxlen=n), deque(maxlen=n)))

    def _start_segment(self, state: DetectorState, start: int, first: float) -> None:
        """Begin a gap-free run at global index ``start``; ``first`` is its first sample."""
        pad, rows, r = self.history_len, self._rows, state.row
        if self.ba is not None:
            rows.zi[r] = self._zi0 * first  # steady state: no start-up transient
        state.active = True
        state.base = start - pad
        state.n = pad
        state.decide_from = start
        state.seg_start = start
        rows.filtered[r, :pad] = -np.inf
        rows.resultant[r, :pad] = 0.0
        rows.axial[r, :pad] = 0.0
        rows.rail[r, :pad] = False
        rows.axes[r, :pad] = 0.0
        h, hold = state.history, state.hold
        h.after_gap = h.last_rise is not None
        # after a gap the learnt threshold already keeps the other leg's weak strike out;
        # strikes still held from before it go on being held
        hold.establishing, hold.blocked = bool(hold.held) or h.reference_g is None, []

    def _room(self, state: DetectorState, samples: int) -> None:
        """Room for ``samples`` more in the stream's row: what no decision reads any more (older
        than ``history_len`` before ``decide_from``) goes, and the rows widen if that is not
        enough."""
        rows = self._rows
        if state.n + samples <= rows.width:
            return
        drop = state.decide_from - self.history_len - state.base
        if drop > 0:
            rows.shift(state.row, drop, state.n)
            state.n -= drop
            state.base += drop
        if state.n + samples > rows.width:
            rows.widen(state.n + samples)

    # -- actions -----------------------------------------------------------------------------

    def process(self, state: DetectorState, start: int, resultant_g: FloatArray,
                axial_g: FloatArray, rail: BoolArray, axes_g: FloatArray) -> list[Peak]:
        """Feed samples ``start …`` of one stream (``resultant_g``, ``axial_g``, ``rail`` —
        samples at the declared full scale — of shape (n,); ``axes_g``: (n, 3), the
        accelerometer). ``start`` must equal ``state.end`` unless the state is inactive (a
        new segment). Returns the strikes these samples confirmed, in order."""
        if not resultant_g.shape[0]:
            return []
        self.store(state, start, resultant_g, axial_g, rail, axes_g)
        return self.decide_to(state, state.end)

    def store(self, state: DetectorState, start: int, resultant_g: FloatArray,
              axial_g: FloatArray, rail: BoolArray, axes_g: FloatArray) -> FloatArray | None:
        """:meth:`process` without the decisions: samples ``start …`` filtered and into the
        stream's row, then :meth:`decide_to` at each of their frames' ends in turn (a burst
        of frames their gate released: one NumPy call for all of them; the filter is causal
        and a decision reads only the samples up to its end). Returns the filter's state
        before them, for :meth:`truncate`."""
        m = int(resultant_g.shape[0])
        if m == 0:
            return None
        if not state.active:
            self._start_segment(state, start, float(resultant_g[0]))
        elif start != state.end:
            raise ValueError(f"samples start at {start}, expected {state.end}: flush first")
        self._room(state, m)
        rows, r, n = self._rows, state.row, state.n
        zi: FloatArray | None = None
        if self.ba is not None:
            zi = rows.zi[r:r + 1].copy()
            y, rows.zi[r:r + 1] = _lfilter(*self.ba, resultant_g[None, :], zi)
            rows.filtered[r, n:n + m] = y[0]
        else:
            rows.filtered[r, n:n + m] = resultant_g
        rows.resultant[r, n:n + m] = resultant_g
        rows.axial[r, n:n + m] = axial_g
        rows.rail[r, n:n + m] = rail
        rows.axes[r, n:n + m] = axes_g
        state.n = n + m
        return zi

    def decide_to(self, state: DetectorState, end: int) -> list[Peak]:
        """The strikes the samples before global ``end`` confirm (all of them stored)."""
        return self._decide(state, end - 1 - self.lookahead, end)

    def truncate(self, state: DetectorState, end: int, zi: FloatArray | None,
                 resultant_g: FloatArray) -> None:
        """The samples of the last :meth:`store` (``resultant_g``, stored from the filter
        state ``zi``) from global ``end`` on were not this stream's next ones after all: as
        if only those before ``end`` had been stored."""
        kept = end - (state.end - int(resultant_g.shape[0]))
        if not 0 < kept <= resultant_g.shape[0]:
            raise ValueError(f"truncate to {end}: not inside the last samples stored")
        state.n -= state.end - end
        if self.ba is not None and zi is not None:
            _, self._rows.zi[state.row:state.row + 1] = _lfilter(
                *self.ba, resultant_g[None, :kept], zi)

    def append_rows(self, states: Sequence[DetectorState], resultant_g: FloatArray,
                    axial_g: FloatArray, rail: BoolArray, axes_g: FloatArray) -> list[Found]:
        """The next chunk of many streams of this detector, one NumPy call for all: row ``i``
        of the arrays (shape (k, n), ``axes_g`` (k, n, 3)) continues ``states[i]``'s active
        segment (each stream at most once). Samples are filtered and stored and the candidate
        peaks found; :meth:`decide_row` then decides each stream — together the same as
        :meth:`process` stream by stream. Nothing changes unless all of it succeeds."""
        k, m = int(resultant_g.shape[0]), int(resultant_g.shape[1])  # (native ints)
        width = self._rows.width
        # per stream: row, filled, decide_from and segment start (columns), in one flat list
        # (a NumPy array from a flat list of ints costs a quarter of one from tuples)
        where: list[int] = []
        for state in states:
            if not state.active:
                raise ValueError("append_rows continues active segments only: use process")
            if state.n + m > width:
                self._room(state, m)
                width = self._rows.width
            base = state.base
            where.append(state.row)
            where.append(state.n)
            where.append(state.decide_from - base)
            where.append(state.seg_start - base)
        rows = self._rows  # (after any widening)
        r, n, lo, seg = np.array(where, dtype=np.intp).reshape(k, 4).T
        if self.ba is not None:
            y, zf = _lfilter(*self.ba, resultant_g, rows.zi[r])
        else:
            y, zf = resultant_g, rows.zi[r]
        # each stream's m new samples are m consecutive elements of the flat rows, from
        # row * width + filled: written as runs (_runs), a copy per stream, not an index
        # per sample (a quarter of the cost; the same elements)
        width = rows.width
        at = r * width + n
        _runs(rows.filtered, m)[at] = y
        _runs(rows.resultant, m)[at] = resultant_g
        _runs(rows.axial, m)[at] = axial_g
        _runs(rows.rail, m)[at] = rail
        _runs(rows.axes, m)[at] = axes_g
        # the window each stream decides now: one chunk long except near a segment's start
        hi = n + m - 1 - self.lookahead
        whole = hi - lo + 1 == m
        found: list[list[int] | None] = [[] if w else None for w in whole.tolist()]
        if whole.any():
            w = whole.nonzero()[0]
            f = rows.filtered
            # each window with a neighbour on either side, in one gather (the neighbours stay
            # in the stream's own row: a window starts at least history_len columns in,
            # _start_segment and _room keep that much before decide_from, and it ends at
            # least the look-ahead (≥ 1) before the filled end)
            around = _runs(f, m + 2)[r[w] * width + lo[w] - 1]
            mid = around[:, 1:-1]
            local = (mid >= self.profile.min_peak_g) & (mid > around[:, :-2]) \
                & (mid >= around[:, 2:])
            # nothing precedes a segment's first sample: not a peak
            first = seg[w] - lo[w]
            at_first = ((first >= 0) & (first < m)).nonzero()[0]
            local[at_first, first[at_first]] = False
            wi, ci = np.nonzero(local)
            if wi.size:
                t = lo[w][wi] + ci
                cr = r[w][wi][:, None]
                vals = mid[wi, ci]
                keep = (vals > _max(f[cr, t[:, None] - self._back_offsets], 1)) \
                    & (vals >= _max(f[cr, t[:, None] + self._ahead_offsets], 1))
                for i, col in zip(w[wi[keep]].tolist(), t[keep].tolist(), strict=True):
                    candidates = found[i]
                    if candidates is not None:
                        candidates.append(col)
        rows.zi[r] = zf
        out = []
        lasts: list[int] = hi.tolist()  # (typed: native arithmetic in the compiled build)
        for state, last, candidates in zip(states, lasts, found, strict=True):
            state.n += m
            out.append(Found(state.base + last, candidates))
        return out

    def decide_row(self, state: DetectorState, found: Found) -> list[Peak]:
        """The strikes :meth:`append_rows` confirmed for ``state``, in order."""
        if found.candidates is None:
            return self._decide(state, found.last, state.end)
        peaks: list[Peak] = []
        for t in found.candidates:
            if state.holding:
                peaks += self._release_due(state, state.base + t)
            peaks += self._take(state, t, state.n)
        if state.holding:
            peaks += self._release_due(state, found.last + 1)
        state.decide_from = found.last + 1
        return peaks

    def flush(self, state: DetectorState, release: bool = True) -> list[Peak]:
        """End the segment (end of stream or a gap): decide the rest with what has arrived.
        Strikes still held at the stream's start are released, unless ``release`` is False (a
        data gap: they stay held into the next segment, in order)."""
        if not state.active:
            return []
        real_end = state.end
        self._room(state, self.lookahead)
        self._rows.filtered[state.row, state.n:state.n + self.lookahead] = -np.inf
        state.n += self.lookahead  # (the look-ahead of the last samples: nothing higher)
        peaks = self._decide(state, real_end - 1, real_end)
        if release and state.holding:
            peaks += self._release(state, None)
        state.active = False
        return peaks

    # -- internals ---------------------------------------------------------------------------

    def _decide(self, state: DetectorState, last: int, real_end: int) -> list[Peak]:
        """Decide samples ``decide_from … last`` (global); ``real_end`` bounds the raw data."""
        lo, hi = state.decide_from - state.base, last - state.base
        if hi < lo:
            return []
        y = state.filtered
        mid = y[lo:hi + 1]
        floor = self.profile.min_peak_g
        if not state.holding and _max(mid) < floor:  # (most frames): no candidate
            state.decide_from = last + 1
            return []
        local = (mid >= floor) & (mid > y[lo - 1:hi]) & (mid >= y[lo + 1:hi + 2])
        first = state.seg_start - state.base - lo
        if 0 <= first < local.shape[0]:
            local[first] = False  # nothing precedes a segment's first sample: not a peak
        peaks: list[Peak] = []
        t_idx = local.nonzero()[0]
        if t_idx.size:
            t_idx = t_idx + lo
            back = _max(y[t_idx[:, None] - self._back_offsets], 1)
            ahead = _max(y[t_idx[:, None] + self._ahead_offsets], 1)
            vals = y[t_idx]
            for t in t_idx[(vals > back) & (vals >= ahead)].tolist():
                if state.holding:
                    peaks += self._release_due(state, state.base + t)
                peaks += self._take(state, t, real_end - state.base)
        if state.holding:
            peaks += self._release_due(state, last + 1)
        state.decide_from = last + 1
        return peaks

    # -- the hold at a segment's start (leg sensors) ---------------------------------------

    def _take(self, state: DetectorState, t: int, real_end: int) -> list[Peak]:
        """A candidate: accepted, held, or remembered as blocked (:class:`Hold`)."""
        hold = state.hold
        if not (self.holds_at_start and hold.establishing):
            peak = self._accept(state, t, real_end)
            return [] if peak is None else [peak]
        h = state.history
        before = h.last_impact_g
        in_refractory = h.last_candidate is not None and \
            state.base + t - h.last_candidate < self._refractory(h)
        peak = self._accept(state, t, real_end)
        if peak is None:
            if hold.held:
                blocked = self._blocked(state, t, real_end)
                if blocked is not None:
                    hold.blocked.append(blocked)
            return []
        effective = peak.impact_g * CLIPPED_HEADROOM if peak.clipped else peak.impact_g
        if hold.held and in_refractory and before is not None \
                and effective >= OVERRIDE_RATIO * before:
            self._drop_echoes(state, hold, peak, effective)
        hold.held.append((peak, effective))
        rises = [q.rise_index for q, _ in hold.held[-3:]]
        if len(rises) == 3:
            a, b = rises[1] - rises[0], rises[2] - rises[1]
            if abs(a - b) <= HOLD_PATTERN_TOLERANCE * max(a, b):
                return self._release(state, peak.confirm_index)
        return []

    def _drop_echoes(self, state: DetectorState, hold: Hold, peak: Peak,
                     effective: float) -> None:
        """A strike much stronger than the last: the weaker held ones were not this leg's."""
        kept = [(q, e) for q, e in hold.held if e >= effective / OVERRIDE_RATIO]
        last_kept = kept[-1][0].index if kept else -1
        lo, hi = self.stride_range
        readmit = [(q, e) for q, e in hold.blocked if q.index > last_kept
                   and e >= effective / OVERRIDE_RATIO and lo <= peak.rise_index - q.rise_index
                   <= hi]
        if readmit:
            kept.append(readmit[-1])
        hold.held, hold.blocked = kept, []
        # the history as if the dropped peaks had never been seen
        h = state.history
        h.heights_g.clear()
        h.intervals.clear()
        rises = [q.rise_index for q, _ in kept] + [peak.rise_index]
        for (_, e) in kept:
            h.heights_g.append(e)
        h.heights_g.append(effective)
        for a, b in itertools.pairwise(rises):
            h.intervals.append(b - a)
        h.reference_g = _quantile(sorted(h.heights_g), 0.75)
        h.typical_interval = _quantile(sorted(h.intervals), 0.25) if h.intervals else None

    def _release_due(self, state: DetectorState, index: int) -> list[Peak]:
        """Release stream ``s``'s held strikes once ``index`` reaches their deadline."""
        hold = state.hold
        deadline = hold.deadline(self.hold_samples)
        if deadline is None or index < deadline:
            return []
        return self._release(state, deadline)

    @staticmethod
    def _release(state: DetectorState, confirm_index: int | None) -> list[Peak]:
        """Emit the held strikes, each timed from the strike kept before it (an interval the
        detector gave none — the stream's first, one across a gap — stays none)."""
        hold = state.hold
        out: list[Peak] = []
        prev: float | None = None
        for q, _ in hold.held:
            interval = q.interval_samples if prev is None or q.interval_samples is None \
                else q.rise_index - prev
            confirm = q.confirm_index if confirm_index is None else max(q.confirm_index,
                                                                        confirm_index)
            out.append(replace(q, interval_samples=interval, confirm_index=confirm))
            prev = q.rise_index
        hold.held, hold.blocked, hold.establishing = [], [], False
        return out

    def _blocked(self, state: DetectorState, t: int,
                 real_end: int) -> tuple[Peak, float] | None:
        """The strike a candidate rejected while establishing would have been (to re-admit
        it if what blocked it turns out to be an echo)."""
        seg0 = state.seg_start - state.base
        a, b = max(t - self.search, seg0), min(t + self.search + 1, real_end)
        r = state.resultant
        p = a + int(r[a:b].argmax())
        impact = float(r[p])
        if impact < self.profile.min_impact_g:
            return None
        clip_rule = clipping.judge(state.axes[a:b], state.rail[a:b],
                                   state.history.rails)
        # its rise is sought back past what blocked it: that may be the echo being dropped
        k, frac, _ = self._rise(state.filtered, t, max(t - self.rise_window, seg0))
        axial = float(_max(np.abs(state.axial[a:b])))
        confirm = min(state.base + t + self.lookahead, state.base + real_end - 1)
        peak = Peak(index=state.base + p, confirm_index=confirm, impact_g=impact,
                    impact_axial_g=axial, loading_rate_gps=0.0, clipped=clip_rule is not None,
                    rise_index=state.base + k + frac, interval_samples=None, confidence=0.5,
                    clip_rule=clip_rule)
        effective = impact * CLIPPED_HEADROOM if peak.clipped else impact
        return peak, effective

    def _rejected(self, h: PeakHistory, effective: float, refractory: bool) -> bool:
        """Whether a peak of this effective height fails the refractory or the threshold."""
        if refractory and (h.last_impact_g is None
                           or effective < OVERRIDE_RATIO * h.last_impact_g):
            return True
        reference = h.reference_g
        return reference is not None and \
            effective < 1.0 + self.threshold_fraction * (reference - 1.0)

    def _refractory(self, h: PeakHistory) -> int:
        limit = self.min_interval
        if h.typical_interval is not None:
            limit = max(limit, round(self.profile.refractory_fraction * h.typical_interval))
        return limit

    def _accept(self, state: DetectorState, t: int, real_end: int) -> Peak | None:
        h = state.history
        g = state.base + t
        refractory = False
        if h.last_candidate is not None:
            refractory = g - h.last_candidate < self._refractory(h)
            if refractory and h.last_impact_g is None:
                return None
        seg0 = state.seg_start - state.base
        a, b = max(t - self.search, seg0), min(t + self.search + 1, real_end)
        r = state.resultant
        p = a + int(r[a:b].argmax())
        impact = float(r[p])
        if self._rejected(h, impact * CLIPPED_HEADROOM, refractory):
            if refractory and h.last_impact_g is not None \
                    and impact >= max(self.profile.min_impact_g,
                                      h.last_impact_g / OVERRIDE_RATIO) \
                    and not self._rejected(h, impact, False):
                h.strong_blocked = g  # as strong as a strike: only the refractory kept it out
            return None  # even clipped it would not pass: no need to judge the clipping
        clip_rule = clipping.judge(state.axes[a:b], state.rail[a:b], h.rails)
        clipped = clip_rule is not None
        # a clipped peak was at least at the rail: judge it as somewhat higher
        effective = impact * CLIPPED_HEADROOM if clipped else impact
        # a much stronger peak inside the refractory means the last "strike" was not one (a
        # swing peak taken before any real strike was seen): re-anchor instead of locking on;
        # otherwise the adaptive threshold
        if impact < self.profile.min_impact_g or self._rejected(h, effective, refractory):
            return None
        axial = float(_max(np.abs(state.axial[a:b])))
        c = max(p - self.loading, seg0)
        m = c + int(r[c:p + 1].argmin())
        loading = (impact - float(r[m])) * self.sample_rate_hz / (p - m) if p > m else 0.0
        since = seg0 if h.last_candidate is None else max(seg0, h.last_candidate - state.base + 1)
        k, frac, found = self._rise(state.filtered, t, max(t - self.rise_window, since))
        rise = (state.base + k) + frac  # global index first: exact whatever the chunking
        raw = rise - h.last_rise if h.last_rise is not None else None
        interval = raw
        if raw is not None and h.after_gap and (
                h.typical_interval is None or raw > GAP_INTERVAL_RATIO * h.typical_interval):
            interval = None  # a strike was probably lost in the gap: not one interval
        if (self.sample_rate_hz >= MIN_PTA_RATE_HZ and h.last_impact_g is not None
                and effective >= OVERRIDE_RATIO * h.last_impact_g):
            # a much stronger strike than the last: what came before were not strikes of
            # this kind (swing peaks before the first impact, walking before running).
            # Start the history afresh so they no longer lower the threshold. (Below
            # 200 Hz a ~10-ms impact's sampled height itself varies that much.)
            h.heights_g.clear()
            h.intervals.clear()
            h.reference_g = h.typical_interval = None
            raw = interval = None
        if self._halved(h, g):
            raw = None  # the interval spans two strides: not one to learn
        confidence = self._confidence(h, effective, interval)
        clipping.remember(state.axes[a:b], h.rails)
        # the history takes every interval: its lower quartile shrugs off the ones that span
        # a lost strike, and it is what judges the intervals across the next gaps
        self._remember(h, effective, raw)
        # a strike cut by the start of the data has no rising edge to time the next interval
        h.last_candidate, h.last_rise, h.after_gap = g, rise if found else None, False
        h.last_impact_g = effective
        confirm = min(g + self.lookahead, state.base + real_end - 1)
        return Peak(index=state.base + p, confirm_index=confirm, impact_g=impact,
                    impact_axial_g=axial, loading_rate_gps=loading, clipped=clipped,
                    rise_index=rise, interval_samples=interval, confidence=confidence,
                    clip_rule=clip_rule)

    @staticmethod
    def _halved(h: PeakHistory, g: int) -> bool:
        """Whether the refractory has blocked a strike in the middle of each of the last
        ``HALVED_STRIDES`` strides (this one included): then the history's intervals are
        two strides long and are dropped, so the next strides are found again. A leg's
        other peaks (the other leg's strike, swing) are far weaker than its strikes, so a
        strong blocked peak mid-stride is this leg's own strike."""
        blocked, h.strong_blocked = h.strong_blocked, None
        middle = blocked is not None and h.last_candidate is not None and g > h.last_candidate \
            and HALVED_MIDDLE_LO <= (blocked - h.last_candidate) / (g - h.last_candidate) \
            <= HALVED_MIDDLE_HI
        h.halved_strides = h.halved_strides + 1 if middle else 0
        if h.halved_strides < HALVED_STRIDES:
            return False
        h.halved_strides = 0
        h.intervals.clear()
        h.typical_interval = None
        return True

    @staticmethod
    def _remember(h: PeakHistory, impact: float, interval: float | None) -> None:
        """Add a strike to the history and refresh the statistics derived from it (once per
        strike, not per candidate).

        The reference height is the upper quartile of recent impacts, so a stray weak peak
        accepted early (swing, the other leg) cannot drag the threshold down to its own level.
        """
        h.heights_g.append(impact)
        h.reference_g = _quantile(sorted(h.heights_g), 0.75)
        if interval is not None:
            h.intervals.append(interval)
            # lower quartile: a missed strike only ever lengthens an interval, so this stays
            # put even when many strikes are lost (a median would double and lock the
            # refractory onto every other strike)
            h.typical_interval = _quantile(sorted(h.intervals), 0.25)

    @staticmethod
    def _rise(y: FloatArray, t: int, start: int) -> tuple[int, float, bool]:
        """(index, fraction, found) where ``y`` last rose through half-way from its minimum
        over ``start … t`` to ``y[t]``; not found (index ``t``) when there is no real rise."""
        seg = y[start:t + 1]
        lowest = float(np.minimum.reduce(seg))
        # a real strike rises from well below its peak; a shallow "rise" means the trough
        # lies before the data began (a strike cut by the start of the stream)
        if float(y[t]) - lowest < MIN_RISE_FRACTION * (float(y[t]) - 1.0):
            return t, 0.0, False
        half = 0.5 * (lowest + float(y[t]))
        below = (seg < half).nonzero()[0]
        if below.size == 0:
            return t, 0.0, False
        k = start + int(below[-1])
        step = float(y[k + 1] - y[k])
        return k, ((half - float(y[k])) / step if step > 0 else 0.0), True

    @staticmethod
    def _reference_height(h: PeakHistory) -> float | None:
        """Upper quartile of recent strike impacts: a stray weak peak accepted early (swing,
        the other leg) cannot drag the threshold down to its own level."""
        if not h.heights_g:
            return None
        return float(np.percentile(h.heights_g, 75))

    @staticmethod
    def _confidence(h: PeakHistory, impact: float, interval: float | None) -> float:
        """0–1: how typical this strike's impact and interval are for the stream."""
        reference = h.reference_g
        if reference is None:
            return 0.5
        amp = min(1.0, max(0.0, (impact - 1.0) / (reference - 1.0))) if reference > 1 else 1.0
        timing = 0.75
        if interval is not None and h.typical_interval:
            ratio = interval / h.typical_interval
            timing = 1.0 if 0.75 <= ratio <= 1.25 else 0.5
        return round(amp * timing, 3)


@functools.lru_cache(maxsize=256)
def shared_detector(sample_rate_hz: float, placement: str = "tibia",
                    config: DetectorConfig | None = None) -> StepDetector:
    """The detector of these parameters in this process: its streams' samples share its rows,
    so that their frames can be analysed together (:meth:`StepDetector.append_rows`)."""
    return StepDetector(sample_rate_hz, placement, config)


def rescale_history(h: PeakHistory, ratio: float) -> PeakHistory:
    """``h`` for the same stream at ``ratio`` × the sample rate (intervals are in samples;
    the last strike's index is kept: a rate change is small, and the index space goes on)."""
    return PeakHistory(
        heights_g=deque(h.heights_g, maxlen=h.heights_g.maxlen),
        intervals=deque((i * ratio for i in h.intervals), maxlen=h.intervals.maxlen),
        last_candidate=h.last_candidate, last_rise=h.last_rise, after_gap=h.after_gap,
        reference_g=h.reference_g,
        typical_interval=None if h.typical_interval is None else h.typical_interval * ratio,
        last_impact_g=h.last_impact_g, strong_blocked=h.strong_blocked,
        halved_strides=h.halved_strides, rails=h.rails.copy())


def _quantile(ordered: list[float], q: float) -> float:
    """Linear-interpolation quantile of a sorted list (NumPy's default), without NumPy's
    per-call overhead on these few values."""
    pos = q * (len(ordered) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)
