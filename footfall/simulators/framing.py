"""A synthetic run cut into IMU frames as a BLE sensor + gateway would deliver them: the one
framer (:func:`footfall.recordings.framing.frame_counts`) with the run's own link loss and
jitter."""

from __future__ import annotations

from footfall.recordings.framing import (
    DEFAULT_LATENCY_MS,
    FramingStats,
    TimedFrame,
    frame_counts,
)
from footfall.simulators.runner import SyntheticRun


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
