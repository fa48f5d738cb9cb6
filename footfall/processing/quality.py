"""Data quality of one IMU stream: frame order, packet loss, clipping — and the sample timeline.

Frame rules (each has a test):

- ``seq`` is a 32-bit counter. A frame whose ``seq`` is not ahead of the last one (modulo 2³²,
  within half the range) is dropped — the detector never goes back in time. It is *late* when
  its ``seq`` is one that was counted lost (it arrived after later frames: logged as a warning,
  counted in ``frames_late``), else a *duplicate* of a frame already analysed — a sender
  publishes its last seconds again after a reconnect (docs/reliability.md: the resend
  window), so duplicates are expected: counted in ``frames_duplicate``, logged once per run.
- A ``seq`` jump of ``d`` means ``d − 1`` frames were lost.
- The sensor clock places the frame on the stream's sample index: a jump of more than
  ``GAP_TOLERANCE_SAMPLES`` is a gap of that many samples. The frame's UTC says the same (the
  gateway maps one to the other); where the two disagree by more than
  ``CLOCK_AGREEMENT_S`` (a restarted gateway's counter unwrapping, a hostile frame whose clock
  jumps to 2⁶⁴ µs), the smaller of the two gaps is taken, so one bad clock can neither hide a
  gap nor make a stream lose years. If both run backwards (unusable), the lost frames are
  assumed to have had the previous frame's length.
- A gap (or ``FLAG_GAP_BEFORE``) ends the detector's segment: filters restart, and an interval
  across it counts only when it is short enough that no strike can have been lost in it.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field
from typing import Final

from footfall.wire.frame import FLAG_GAP_BEFORE, ImuFrame

log = logging.getLogger(__name__)

GAP_TOLERANCE_SAMPLES: Final = 1.5
#: sensor clock and UTC may disagree about a gap by this much (or a quarter of it: WitMotion's
#: clock is its sample count, mapped with a fitted rate) before one of them is taken as wrong
CLOCK_AGREEMENT_S: Final = 2.0
CLOCK_AGREEMENT_FRACTION: Final = 0.25
SEQ_MODULO: Final = 1 << 32
RECENT_STRIKES: Final = 20
#: lost seq ranges remembered to tell a late frame from a duplicate
RECENT_LOSSES: Final = 64


@dataclass(slots=True, init=False)
class FrameSlot:
    """Where a frame's samples go on the stream's timeline."""

    first_index: int
    gap_samples: int  # samples missing before this frame (0 when continuous)
    segment_break: bool

    # (its own __init__, as session.Anchor's: one is made per frame)
    def __init__(self, first_index: int, gap_samples: int, segment_break: bool) -> None:
        self.first_index = first_index
        self.gap_samples = gap_samples
        self.segment_break = segment_break


@dataclass(slots=True)
class QualityState:
    frames_received: int = 0
    frames_lost: int = 0
    frames_late: int = 0  # arrived after later frames: one that was counted lost
    frames_duplicate: int = 0  # a frame already analysed, sent again (a resend)
    clock_jumps: int = 0  # frames whose sensor clock and UTC disagreed about a gap
    samples_received: int = 0
    samples_lost: int = 0
    strikes: int = 0
    strikes_clipped: int = 0
    last_seq: int | None = None
    last_sensor_us: int = 0
    last_utc_ns: int = 0
    last_n: int = 0
    last_rate_hz: float = 0.0
    next_index: int = 0
    #: per frame: (index after its last sample, samples received, samples lost before it)
    recent: deque[tuple[int, int, int]] = field(default_factory=deque)
    recent_got: int = 0  # the sums of ``recent``'s samples received …
    recent_lost: int = 0  # … and lost (kept as frames come and go: integers, exact)
    recent_clipped: deque[bool] = field(default_factory=lambda: deque(maxlen=RECENT_STRIKES))
    #: (first lost seq, how many) of recent losses
    recent_losses: deque[tuple[int, int]] = field(
        default_factory=lambda: deque(maxlen=RECENT_LOSSES))
    in_duplicates: bool = False  # the last frame was a duplicate: the run is already logged


def place_frame(state: QualityState, frame: ImuFrame, device: str) -> FrameSlot | None:
    """Account for ``frame`` and return where it goes; ``None`` means drop it (late/duplicate)."""
    fs, seq, sensor_us, utc_ns = frame.sample_rate_hz, frame.seq, frame.sensor_time_us, \
        frame.utc_ns
    if state.last_seq is None:
        first = FrameSlot(0, 0, False)
    else:
        d = (seq - state.last_seq) % SEQ_MODULO
        if d == 0 or d >= SEQ_MODULO // 2:
            _drop_behind(state, seq, device)
            return None
        # the previous frame lasted last_n samples at *its* rate; the gap is counted in ours
        last_s = state.last_n / (state.last_rate_hz or fs)
        drift = (sensor_us - state.last_sensor_us - last_s * 1e6) * fs / 1e6
        utc_drift = (utc_ns - state.last_utc_ns - last_s * 1e9) * fs / 1e9
        agree = max(CLOCK_AGREEMENT_S * fs, CLOCK_AGREEMENT_FRACTION * abs(utc_drift))
        if abs(drift - utc_drift) > agree:
            state.clock_jumps += 1
            plausible = [g for g in (drift, utc_drift) if g >= -GAP_TOLERANCE_SAMPLES]
            log.warning("%s: frame seq %d: sensor clock says a gap of %.3g s, UTC %.3g s; "
                        "taking %s", device, frame.seq, drift / fs, utc_drift / fs,
                        f"{min(plausible) / fs:.3g} s" if plausible else "the frame counter")
            drift = min(plausible) if plausible else min(drift, utc_drift)
        if drift >= -GAP_TOLERANCE_SAMPLES:
            gap = round(drift) if drift > GAP_TOLERANCE_SAMPLES else 0
        else:  # sensor clock went backwards: trust the counter
            gap = (d - 1) * state.last_n
        if d > 1:
            state.frames_lost += d - 1
            state.recent_losses.append(((state.last_seq + 1) % SEQ_MODULO, d - 1))
            log.info("%s: %d frame(s) lost before seq %d (%d samples)", device, d - 1,
                     frame.seq, gap)
        brk = gap > 0 or bool(frame.flags & FLAG_GAP_BEFORE) or drift < -GAP_TOLERANCE_SAMPLES
        first = FrameSlot(state.next_index + gap, gap, brk)
    n = frame.n_samples
    gap_samples, next_index = first.gap_samples, first.first_index + n
    state.last_seq = seq
    state.last_sensor_us = sensor_us
    state.last_utc_ns = utc_ns
    state.last_n = n
    state.last_rate_hz = fs
    state.next_index = next_index
    state.frames_received += 1
    state.in_duplicates = False
    state.samples_received += n
    state.samples_lost += gap_samples
    state.recent.append((next_index, n, gap_samples))
    state.recent_got += n
    state.recent_lost += gap_samples
    return first


def _drop_behind(state: QualityState, seq: int, device: str) -> None:
    """Count a frame that is not ahead of the last one as late or as a duplicate."""
    if any((seq - first) % SEQ_MODULO < count for first, count in state.recent_losses):
        state.frames_late += 1
        log.warning("%s: dropped frame seq %d: it arrived late (last seq %d; it was counted "
                    "lost)", device, seq, state.last_seq)
        return
    state.frames_duplicate += 1
    if not state.in_duplicates:
        state.in_duplicates = True
        log.info("%s: dropping repeated frames from seq %d (last seq %d): a sender's resend "
                 "after a reconnect, already analysed", device, seq, state.last_seq)


def packet_loss_pct(state: QualityState, at_index: int, window: int) -> float:
    """Share of samples lost among those due in the ``window`` samples up to ``at_index``."""
    recent = state.recent
    while recent and recent[0][0] < at_index - window:
        _, got, lost = recent.popleft()
        state.recent_got -= got
        state.recent_lost -= lost
    got, lost = state.recent_got, state.recent_lost
    return 100.0 * lost / (got + lost) if got + lost else 0.0


def total_loss_pct(state: QualityState) -> float:
    due = state.samples_received + state.samples_lost
    return 100.0 * state.samples_lost / due if due else 0.0


def add_strike(state: QualityState, clipped: bool) -> None:
    state.strikes += 1
    state.strikes_clipped += int(clipped)
    state.recent_clipped.append(clipped)


def clipping_pct(state: QualityState) -> float | None:
    """Share of the last ``RECENT_STRIKES`` strikes whose peak region hit the rail."""
    if not state.recent_clipped:
        return None
    return 100.0 * sum(state.recent_clipped) / len(state.recent_clipped)
