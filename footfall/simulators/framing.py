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
    samples_per_frame: int = 50,
    sensor_start_us: int = 0,
    seq_start: int = 0,
    packet_loss_pct: float | None = None,
    jitter_ms: float | None = None,
    latency_ms: float = DEFAULT_LATENCY_MS,
    seed: int | None = None,
) -> tuple[list[TimedFrame], FramingStats]:
    """Frames for ``run``; loss/jitter default to ``run.params`` (0 = a perfect link).

    ``utc_ns`` of each frame is the exact UTC of its first sample (the mapping a gateway
    would do with a perfect clock); only ``due_s`` carries the transport's latency/jitter.
    """
    if not 1 <= samples_per_frame <= MAX_SAMPLES:
        raise ValueError(f"samples_per_frame must be 1..{MAX_SAMPLES}, got {samples_per_frame}")
    loss = run.params.packet_loss_pct if packet_loss_pct is None else packet_loss_pct
    jitter = run.params.jitter_ms if jitter_ms is None else jitter_ms
    rng = np.random.default_rng(np.random.SeedSequence(
        run.params.seed if seed is None else seed, spawn_key=(3,)))
    rate = run.sample_rate_hz
    starts = range(0, run.n_samples, samples_per_frame)
    lost = rng.random(len(starts)) < loss / 100
    delays_s = (latency_ms + rng.exponential(jitter, len(starts)) if jitter > 0
                else np.full(len(starts), latency_ms)) / 1000
    out: list[TimedFrame] = []
    due_prev = 0.0
    gap = False
    for k, i0 in enumerate(starts):
        i1 = min(i0 + samples_per_frame, run.n_samples)
        if lost[k]:
            log.debug("simulated BLE loss of frame seq=%d", seq_start + k)
            gap = True
            continue
        frame = ImuFrame(
            seq=seq_start + k,
            sensor_time_us=sensor_start_us + round(i0 * 1e6 / rate),
            utc_ns=start_utc_ns + round(i0 * 1e9 / rate),
            sample_rate_hz=rate,
            accel_range_g=run.accel_range_g,
            counts=run.counts[i0:i1],
            flags=FLAG_GAP_BEFORE if gap else 0,
        )
        due_prev = max(due_prev, i1 / rate + float(delays_s[k]))
        out.append(TimedFrame(due_prev, frame))
        gap = False
    return out, FramingStats(frames_total=len(starts), frames_lost=int(lost.sum()))
