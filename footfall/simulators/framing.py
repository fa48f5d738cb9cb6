"""Cut a synthetic run into IMU frames as a BLE sensor + gateway would deliver them.

A frame is due once its last sample exists, plus the link latency and jitter. Lost frames
still consume a sequence number (the sensor counted them), so the receiver sees a ``seq`` gap,
and the next delivered frame carries ``FLAG_GAP_BEFORE``. BLE delivers in order on one
connection, so jitter never reorders frames: ``due_s`` is non-decreasing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from footfall.simulators.runner import SyntheticRun
from footfall.wire.frame import FLAG_GAP_BEFORE, MAX_SAMPLES, ImuFrame

log = logging.getLogger(__name__)

#: typical notification latency of a BLE link at a 15–30 ms connection interval
DEFAULT_LATENCY_MS = 20.0


@dataclass(frozen=True, slots=True)
class TimedFrame:
    """A frame and when it reaches the broker, in seconds after the run's first sample."""

    due_s: float
    frame: ImuFrame


@dataclass(frozen=True, slots=True)
class FramingStats:
    frames_total: int
    frames_lost: int


def to_frames(
    run: SyntheticRun,
    *,
    start_utc_ns: int,
    samples_per_frame: int = 25,
    sensor_start_us: int = 0,
    seq_start: int = 0,
    packet_loss_pct: float | None = None,
    jitter_ms: float | None = None,
    latency_ms: float = DEFAULT_LATENCY_MS,
    seed: int | None = None,
) -> tuple[list[TimedFrame], FramingStats]:
    """Frames for ``run``; loss/jitter default to ``run.params`` (0 = a perfect link)."""
    return frame_counts(
        run.counts, sample_rate_hz=run.sample_rate_hz, accel_range_g=run.accel_range_g,
        start_utc_ns=start_utc_ns, samples_per_frame=samples_per_frame,
        sensor_start_us=sensor_start_us, seq_start=seq_start,
        packet_loss_pct=run.params.packet_loss_pct if packet_loss_pct is None
        else packet_loss_pct,
        jitter_ms=run.params.jitter_ms if jitter_ms is None else jitter_ms,
        latency_ms=latency_ms, seed=run.params.seed if seed is None else seed)


def frame_counts(
    counts: npt.NDArray[np.int16],
    *,
    sample_rate_hz: float,
    accel_range_g: int,
    start_utc_ns: int,
    samples_per_frame: int = 25,
    sensor_start_us: int = 0,
    seq_start: int = 0,
    gap_before: bool = False,
    packet_loss_pct: float = 0.0,
    jitter_ms: float = 0.0,
    latency_ms: float = DEFAULT_LATENCY_MS,
    seed: int = 0,
) -> tuple[list[TimedFrame], FramingStats]:
    """Cut consecutive int16 samples (n, 3|6) into frames.

    ``utc_ns`` of each frame is the exact UTC of its first sample (the mapping a gateway
    would do with a perfect clock); only ``due_s`` carries the link's latency and jitter.
    ``gap_before`` flags the first frame (the samples do not follow an earlier segment).
    """
    if not 1 <= samples_per_frame <= MAX_SAMPLES:
        raise ValueError(f"samples_per_frame must be 1..{MAX_SAMPLES}, got {samples_per_frame}")
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(3,)))
    n = int(counts.shape[0])
    starts = range(0, n, samples_per_frame)
    lost = rng.random(len(starts)) < packet_loss_pct / 100
    delays_s = (latency_ms + rng.exponential(jitter_ms, len(starts)) if jitter_ms > 0
                else np.full(len(starts), latency_ms)) / 1000
    out: list[TimedFrame] = []
    due_prev = 0.0
    gap = gap_before
    for k, i0 in enumerate(starts):
        i1 = min(i0 + samples_per_frame, n)
        if lost[k]:
            log.debug("simulated BLE loss of frame seq=%d", seq_start + k)
            gap = True
            continue
        frame = ImuFrame(
            seq=seq_start + k,
            sensor_time_us=sensor_start_us + round(i0 * 1e6 / sample_rate_hz),
            utc_ns=start_utc_ns + round(i0 * 1e9 / sample_rate_hz),
            sample_rate_hz=sample_rate_hz,
            accel_range_g=accel_range_g,
            counts=counts[i0:i1],
            flags=FLAG_GAP_BEFORE if gap else 0,
        )
        due_prev = max(due_prev, i1 / sample_rate_hz + float(delays_s[k]))
        out.append(TimedFrame(due_prev, frame))
        gap = False
    return out, FramingStats(frames_total=len(starts), frames_lost=int(lost.sum()))
