"""Sensor clocks → UTC, drift correction, and lost-notification (gap) detection.

Nothing here reads the wall clock: the host clock is an injected :class:`Clock`, and every
other object is advanced with explicit (sensor time, host receive time) observations, so a test
can drive it with a hand-made timeline.

Rules (docs/ingest.md has the reasoning):

- **Mapping** — ``utc = host0 + offset + slope · (sensor − sensor0)``. BLE latency only ever
  delays a notification, so the offset is the *lower envelope*: the smallest
  (receive − sensor) seen in the window, i.e. the notification that arrived fastest. The slope
  (sensor vs host rate, i.e. drift) is a least-squares line through the fastest notification of
  each of ``bins`` time bins once the window spans ``min_span_s``; it is clamped to
  ±``max_drift_ppm``.
- **Counters** — wrapping counters are unwrapped by :class:`Unwrapper` (a step of more than half
  the range backwards is "behind", never a wrap).
- **Gaps** — a sequence counter that skips is a gap of exactly that many notifications
  (:class:`SeqTracker`); a sensor timestamp that jumps by clearly more than one frame is a gap
  of ``round(jump / period)`` samples (:class:`Timeline`). A gap is always reported (the next
  frame carries ``FLAG_GAP_BEFORE``) and counted; samples are never invented to fill it.
- **Duplicates and reordering** — a notification whose counter or timestamp is *behind* the
  expected one (by up to half the counter range) is late or duplicated: it is dropped, counted
  and logged, because MQTT consumers expect each sensor's frames in order.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import Enum

import numpy as np


@dataclass
class Unwrapper:
    """Extend a counter that wraps at ``2**bits`` to an ever-increasing integer.

    A value more than half the range *behind* the last one is taken as a wrap forward; a value
    less than half the range behind is late, and gets a value before the last one (the caller
    decides what to do with it). :meth:`rebase` starts over after a sensor clock reset.
    """

    bits: int
    last_raw: int | None = None
    last_value: int = 0

    @property
    def modulus(self) -> int:
        return 1 << self.bits

    def step(self, raw: int) -> int:
        """The signed distance from the previous value, in (-modulus/2, modulus/2]."""
        if self.last_raw is None:
            return 0
        diff = (raw - self.last_raw) % self.modulus
        return diff - self.modulus if diff > self.modulus // 2 else diff

    def unwrap(self, raw: int) -> int:
        if self.last_raw is None:
            self.last_raw, self.last_value = raw, raw
            return raw
        step = self.step(raw)
        value = self.last_value + step
        if step >= 0:
            self.last_raw, self.last_value = raw, value
        return value

    def rebase(self, raw: int, value: int) -> None:
        """The sensor clock restarted: map ``raw`` to ``value`` from now on."""
        self.last_raw, self.last_value = raw, value


class Verdict(Enum):
    FIRST = "first"
    NEXT = "next"
    GAP = "gap"
    DUPLICATE = "duplicate"  # behind the expected counter/time: late or repeated
    RESYNC = "resync"  # first after a reconnect or a sensor clock reset


@dataclass
class SeqTracker:
    """Per-notification sequence counter (wrapping at ``modulus``)."""

    modulus: int
    expected: int | None = None
    resyncing: bool = False

    def check(self, seq: int) -> tuple[Verdict, int]:
        """(verdict, lost notifications); a DUPLICATE must be dropped by the caller."""
        if self.expected is None:
            self.expected = (seq + 1) % self.modulus
            return Verdict.FIRST, 0
        diff = (seq - self.expected) % self.modulus
        if self.resyncing:
            self.resyncing = False
            self.expected = (seq + 1) % self.modulus
            if diff == 0:
                return Verdict.NEXT, 0
            return Verdict.RESYNC, diff if diff < self.modulus // 2 else 0
        if diff == 0:
            self.expected = (seq + 1) % self.modulus
            return Verdict.NEXT, 0
        if diff < self.modulus // 2:
            self.expected = (seq + 1) % self.modulus
            return Verdict.GAP, diff
        return Verdict.DUPLICATE, 0

    def resync(self) -> None:
        """After a reconnect: accept whatever comes next, flagging it if it skipped."""
        self.resyncing = self.expected is not None


@dataclass(frozen=True, slots=True)
class TimelineSlot:
    """Where a frame's samples sit on the sensor clock."""

    verdict: Verdict
    first_us: float  # sensor time of the first sample
    period_us: float  # sample period used for this frame
    lost_samples: int  # samples missing before this frame (GAP), else 0


@dataclass
class Timeline:
    """Place frames of ``n`` samples on a sensor clock from timestamps, finding gaps.

    ``anchor`` says which sample the device timestamps: ``"first"`` (Movesense, open frame) or
    ``"last"`` (Polar PMD). The sample period is learnt (EMA, ``alpha``) from gap-free frames,
    within ±``max_rate_error`` of nominal. A frame is a GAP when the samples it implies before
    it exceed ``max(gap_min_samples, gap_fraction · n)`` periods. Behind by as much, it is a
    DUPLICATE (late or repeated: drop it) when within ``late_window_frames`` frames, else a
    RESYNC (the sensor clock went back: the device was reset).
    """

    nominal_period_us: float
    anchor: str = "first"
    alpha: float = 0.05
    max_rate_error: float = 0.05
    gap_min_samples: float = 1.5
    gap_fraction: float = 0.5
    late_window_frames: int = 10
    period_us: float = 0.0
    prev_last_us: float | None = None
    prev_n: int = 0

    def __post_init__(self) -> None:
        if not self.period_us:
            self.period_us = self.nominal_period_us

    def reset(self) -> None:
        self.prev_last_us = None

    def place(self, t_us: float, n: int) -> TimelineSlot:
        period = self.period_us
        if self.prev_last_us is None:
            first = t_us if self.anchor == "first" else t_us - (n - 1) * period
            self._advance(first, n, period)
            return TimelineSlot(Verdict.FIRST, first, period, 0)
        expected_first = self.prev_last_us + period
        if self.anchor == "first":
            first_guess = t_us
            measured = (t_us - (self.prev_last_us - (self.prev_n - 1) * period)) / self.prev_n
        else:
            measured = (t_us - self.prev_last_us) / n
            first_guess = t_us - (n - 1) * period
        error_samples = (first_guess - expected_first) / period
        tolerance = max(self.gap_min_samples, self.gap_fraction * n)
        if error_samples > tolerance:
            lost = round(error_samples)
            self._advance(first_guess, n, period)
            return TimelineSlot(Verdict.GAP, first_guess, period, lost)
        if error_samples < -tolerance:
            if error_samples >= -self.late_window_frames * max(n, self.prev_n):
                return TimelineSlot(Verdict.DUPLICATE, first_guess, period, 0)
            self._advance(first_guess, n, period)
            return TimelineSlot(Verdict.RESYNC, first_guess, period, 0)
        # in step: learn the period, and place the samples with this frame's own measurement
        lo, hi = (self.nominal_period_us * (1 - self.max_rate_error),
                  self.nominal_period_us * (1 + self.max_rate_error))
        measured = min(max(measured, lo), hi)
        self.period_us = (1 - self.alpha) * self.period_us + self.alpha * measured
        if self.anchor == "last":
            first = t_us - (n - 1) * measured
            self._advance(first, n, measured)
            return TimelineSlot(Verdict.NEXT, first, measured, 0)
        self._advance(t_us, n, self.period_us)
        return TimelineSlot(Verdict.NEXT, t_us, self.period_us, 0)

    def _advance(self, first_us: float, n: int, period_us: float) -> None:
        self.prev_last_us = first_us + (n - 1) * period_us
        self.prev_n = n


@dataclass
class ClockMapper:
    """Map a sensor clock (µs) to host UTC (ns), correcting offset and drift; see module doc."""

    window_s: float = 60.0
    max_pairs: int = 4096
    max_drift_ppm: float = 1000.0
    min_span_s: float = 10.0
    bins: int = 8
    refit_every: int = 16
    _sensor: deque[float] = field(default_factory=deque)  # µs relative to sensor0
    _host: deque[float] = field(default_factory=deque)  # ns relative to host0
    sensor0_us: int | None = None
    host0_ns: int = 0
    slope: float = 1.0  # host ns per sensor ns
    offset_ns: float = 0.0
    _since_fit: int = 0

    @property
    def drift_ppm(self) -> float:
        return (self.slope - 1.0) * 1e6

    @property
    def ready(self) -> bool:
        return self.sensor0_us is not None

    @property
    def span_s(self) -> float:
        """Sensor time covered by the observations in the window."""
        return (self._sensor[-1] - self._sensor[0]) / 1e6 if self._sensor else 0.0

    @property
    def fitted(self) -> bool:
        """True once the window is long enough for the drift (slope) to be estimated."""
        return self.span_s >= self.min_span_s

    def reset(self) -> None:
        """Forget the fit (the sensor clock was reset, e.g. the device rebooted)."""
        self._sensor.clear()
        self._host.clear()
        self.sensor0_us = None
        self.slope, self.offset_ns, self._since_fit = 1.0, 0.0, 0

    def observe(self, sensor_us: float, host_utc_ns: int) -> None:
        """A notification whose newest sample was taken at ``sensor_us`` arrived at ``host``."""
        if self.sensor0_us is None:
            self.sensor0_us = int(sensor_us)
            self.host0_ns = host_utc_ns
            self.offset_ns = 0.0
        s = float(sensor_us - self.sensor0_us)
        h = float(host_utc_ns - self.host0_ns)
        self._sensor.append(s)
        self._host.append(h)
        while len(self._sensor) > self.max_pairs or (
                s - self._sensor[0] > self.window_s * 1e6 and len(self._sensor) > 2):
            self._sensor.popleft()
            self._host.popleft()
        residual = h - self.slope * s * 1000.0
        if len(self._sensor) == 1 or residual < self.offset_ns:
            self.offset_ns = residual  # a faster notification: the envelope moves down at once
        self._since_fit += 1
        if self._since_fit >= self.refit_every:
            self._fit()

    def _fit(self) -> None:
        self._since_fit = 0
        s = np.fromiter(self._sensor, dtype=np.float64) * 1000.0  # ns
        h = np.fromiter(self._host, dtype=np.float64)
        if s[-1] - s[0] >= self.min_span_s * 1e9:
            edges = np.linspace(s[0], s[-1], self.bins + 1)
            idx = np.clip(np.searchsorted(edges, s, side="right") - 1, 0, self.bins - 1)
            lat = h - s
            xs, ys = [], []
            for b in range(self.bins):
                members = np.flatnonzero(idx == b)
                if members.size:
                    best = members[np.argmin(lat[members])]
                    xs.append(s[best])
                    ys.append(h[best])
            if len(xs) >= 2:
                slope = float(np.polyfit(np.asarray(xs), np.asarray(ys), 1)[0])
                limit = self.max_drift_ppm * 1e-6
                self.slope = min(max(slope, 1.0 - limit), 1.0 + limit)
        self.offset_ns = float(np.min(h - self.slope * s))

    def to_utc_ns(self, sensor_us: float) -> int:
        if self.sensor0_us is None:
            raise LookupError("no observation yet: cannot map sensor time to UTC")
        s_ns = (sensor_us - self.sensor0_us) * 1000.0
        return self.host0_ns + round(self.offset_ns + self.slope * s_ns)


@dataclass
class StableRate:
    """The sample rate to publish: measured, but changed rarely.

    Consumers restart their filters when a stream's ``sample_rate_hz`` changes, and compute
    cadence from sample counts, so the published rate must be both right and steady. It starts
    at ``nominal_hz``; after ``settle`` measurements it follows the measured rate only when the
    two differ by more than ``tolerance`` (relative), rounded to 0.01 Hz.
    """

    nominal_hz: float
    tolerance: float = 0.003
    settle: int = 50
    published_hz: float = 0.0
    seen: int = 0

    def __post_init__(self) -> None:
        if not self.published_hz:
            self.published_hz = float(self.nominal_hz)

    def update(self, measured_hz: float) -> float:
        self.seen += 1
        if self.seen >= self.settle and measured_hz > 0 and \
                abs(measured_hz - self.published_hz) > self.tolerance * self.published_hz:
            self.published_hz = round(measured_hz, 2)
        return self.published_hz
