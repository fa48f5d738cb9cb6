"""Samples → IMU frames, as a BLE sensor and its gateway would deliver them (the one framer).

Every recording that is not already frames goes through :func:`frame_counts`: a CSV, a public
dataset, an array handed to ``analyze_accel``, a synthetic run. A frame is due once its last
sample exists, plus the link latency and jitter. No frame spans a time jump of the input
(``time_s``): the first frame after one is flagged ``FLAG_GAP_BEFORE``, as a gateway reports
lost data. Lost frames (``packet_loss_pct``) still consume a sequence number (the sensor counted
them), so the receiver sees a ``seq`` gap. BLE delivers in order on one connection, so jitter
never reorders frames: ``due_s`` is non-decreasing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from footfall.core.units import NS
from footfall.wire.frame import FLAG_GAP_BEFORE, MAX_SAMPLES, MIN_TIME_NS, ImuFrame

log = logging.getLogger(__name__)

#: typical notification latency of a BLE link at a 15–30 ms connection interval
DEFAULT_LATENCY_MS = 20.0
#: the UTC given to data that has none of its own (a CSV without a date, an array)
UNDATED_UTC_NS = MIN_TIME_NS
#: a jump of more than this many sample intervals in a time column is a gap
GAP_INTERVALS = 1.5


@dataclass(frozen=True, slots=True)
class TimedFrame:
    """A frame and when it reaches the broker, in seconds after the first sample."""

    due_s: float
    frame: ImuFrame


@dataclass(frozen=True, slots=True)
class FramingStats:
    frames_total: int
    frames_lost: int


def frame_counts(
    counts: npt.NDArray[np.int16],
    *,
    sample_rate_hz: float,
    accel_range_g: int,
    start_utc_ns: int = UNDATED_UTC_NS,
    samples_per_frame: int = 25,
    frame_sizes: Iterable[int] | None = None,
    time_s: npt.NDArray[np.float64] | None = None,
    sensor_start_us: int = 0,
    seq_start: int = 0,
    gap_before: bool = False,
    gyro_range_dps: int = 0,
    packet_loss_pct: float = 0.0,
    jitter_ms: float = 0.0,
    latency_ms: float = DEFAULT_LATENCY_MS,
    seed: int = 0,
) -> tuple[list[TimedFrame], FramingStats]:
    """Cut consecutive int16 samples (n, 3|6) into frames.

    Sample ``i`` is at ``i / sample_rate_hz`` s, unless ``time_s`` (per sample, any origin)
    says otherwise. ``utc_ns`` of each frame is the exact UTC of its first sample (the mapping
    a gateway would make with a perfect clock); only ``due_s`` carries the link's latency and
    jitter. ``frame_sizes`` chooses each frame's length (the rest are ``samples_per_frame``).
    ``gap_before`` flags the first frame (the samples do not follow an earlier segment).
    """
    if not 1 <= samples_per_frame <= MAX_SAMPLES:
        raise ValueError(f"samples_per_frame must be 1..{MAX_SAMPLES}, got {samples_per_frame}")
    n = int(counts.shape[0])
    offsets_s = None if time_s is None else np.asarray(time_s, dtype=np.float64) - float(time_s[0])
    cuts = np.zeros(0, dtype=np.intp)
    if offsets_s is not None:
        cuts = np.flatnonzero(np.diff(offsets_s) > GAP_INTERVALS / sample_rate_hz) + 1
    sizes = iter(frame_sizes) if frame_sizes is not None else iter(())
    bounds: list[tuple[int, int, bool]] = []
    i = 0
    while i < n:
        size = min(max(1, next(sizes, samples_per_frame)), MAX_SAMPLES)
        after = cuts[np.searchsorted(cuts, i, side="right"):]
        j = min(n, i + size, int(after[0]) if after.size else n)
        bounds.append((i, j, bool(i and cuts.size and i in cuts)))
        i = j
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(3,)))
    lost = rng.random(len(bounds)) < packet_loss_pct / 100
    delays_s = (latency_ms + rng.exponential(jitter_ms, len(bounds)) if jitter_ms > 0
                else np.full(len(bounds), latency_ms)) / 1000
    out: list[TimedFrame] = []
    due_prev = 0.0
    gap = gap_before
    for k, (i0, i1, jump) in enumerate(bounds):
        gap = gap or jump
        if lost[k]:
            log.debug("simulated BLE loss of frame seq=%d", seq_start + k)
            gap = True
            continue
        if offsets_s is None:
            offset_ns = round(i0 * NS / sample_rate_hz)
            sensor_us = sensor_start_us + round(i0 * 1e6 / sample_rate_hz)
            last_s = i1 / sample_rate_hz
        else:
            offset_ns = round(float(offsets_s[i0]) * NS)
            sensor_us = sensor_start_us + offset_ns // 1000
            last_s = float(offsets_s[i1 - 1]) + 1 / sample_rate_hz
        frame = ImuFrame(seq=seq_start + k, sensor_time_us=sensor_us,
                         utc_ns=start_utc_ns + offset_ns, sample_rate_hz=sample_rate_hz,
                         accel_range_g=accel_range_g, counts=counts[i0:i1],
                         gyro_range_dps=gyro_range_dps, flags=FLAG_GAP_BEFORE if gap else 0)
        due_prev = max(due_prev, last_s + float(delays_s[k]))
        out.append(TimedFrame(due_prev, frame))
        gap = False
    return out, FramingStats(frames_total=len(bounds), frames_lost=int(lost.sum()))

