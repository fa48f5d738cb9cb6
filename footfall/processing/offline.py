"""Offline analysis = the live processor fed a whole recording (one code path).

A recording becomes the same :class:`~footfall.wire.frame.ImuFrame` sequence a sensor would
have sent, and goes through :class:`~footfall.processing.session.SessionProcessor` unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from footfall.processing.config import AnalysisConfig
from footfall.processing.session import Output, SessionProcessor
from footfall.wire.events import AlertEvent, DeviceMeta, MetricsEvent, RscSample, StepEvent
from footfall.wire.frame import ImuFrame, g_to_counts

NS = 1_000_000_000
DEVICE = "recording"
#: standard accelerometer full-scale ranges, g
STANDARD_RANGES_G = (2, 4, 8, 16, 32, 64, 100, 200, 400)


def frames_from_counts(counts: npt.NDArray[np.int16], sample_rate_hz: float,
                       accel_range_g: int, *, utc0_ns: int = 0,
                       frame_sizes: Iterable[int] | None = None,
                       start_times_s: npt.NDArray[np.float64] | None = None,
                       frame_samples: int = 50) -> Iterator[ImuFrame]:
    """Cut consecutive samples into frames; sample ``i`` is at ``i / rate`` unless
    ``start_times_s`` (per sample, seconds from the first) says otherwise (gaps).

    ``frame_sizes`` chooses each frame's length (the rest goes in ``frame_samples`` chunks).
    """
    n = counts.shape[0]
    sizes = iter(frame_sizes) if frame_sizes is not None else iter(())
    i, seq = 0, 0
    while i < n:
        size = max(1, next(sizes, frame_samples))
        j = min(n, i + size)
        offset_ns = (round(float(start_times_s[i]) * NS) if start_times_s is not None
                     else round(i * NS / sample_rate_hz))
        yield ImuFrame(seq=seq, sensor_time_us=offset_ns // 1000, utc_ns=utc0_ns + offset_ns,
                       sample_rate_hz=sample_rate_hz, accel_range_g=accel_range_g,
                       counts=counts[i:j])
        i, seq = j, seq + 1


def choose_range_g(accel_g: npt.NDArray[np.float64]) -> int:
    """Smallest standard full-scale range covering the data: values at it count as clipped."""
    peak = float(np.max(np.abs(accel_g))) if accel_g.size else 0.0
    for r in STANDARD_RANGES_G:
        if peak <= r:
            return r
    return STANDARD_RANGES_G[-1]


@dataclass(slots=True)
class AnalysisResult:
    """Every event of one offline run, split by type, plus where the timebase starts."""

    steps: list[StepEvent] = field(default_factory=list)
    metrics: list[MetricsEvent] = field(default_factory=list)
    alerts: list[AlertEvent] = field(default_factory=list)
    time0_s: float = 0.0  # input time of UTC 0 offset (time_s = time0_s + utc offset)
    utc0_ns: int = 0

    def add(self, outputs: Sequence[Output]) -> None:
        for _, event in outputs:
            if isinstance(event, StepEvent):
                self.steps.append(event)
            elif isinstance(event, MetricsEvent):
                self.metrics.append(event)
            else:
                self.alerts.append(event)

    def input_time_s(self, time_ns: int) -> float:
        return self.time0_s + (time_ns - self.utc0_ns) / NS

    def summary(self) -> dict[str, Any]:
        final = self.metrics[-1].extra if self.metrics else {}
        cadences = [s.cadence_spm for s in self.steps if s.cadence_spm > 0]
        clean = [s.impact_g for s in self.steps if not s.clipped]
        per_stride = 2 if self.steps and self.steps[0].extra.get("strike") == "stride" else 1
        return {
            "steps": len(self.steps),
            "strike": self.steps[0].extra.get("strike") if self.steps else None,
            "steps_both_legs_estimate": len(self.steps) * per_stride,
            "cadence_spm": float(np.median(cadences)) if cadences else None,
            "cadence_mean_spm": _mean_cadence(self.steps, per_stride),
            "cadence_baseline_spm": final.get("cadence_baseline_spm"),
            "cadence_drift_pct": final.get("cadence_drift_pct"),
            "cadence_trend_spm_per_min": final.get("cadence_trend_spm_per_min"),
            "impact_g": float(np.median(clean)) if clean else None,
            "impact_baseline_g": final.get("impact_baseline_g"),
            "impact_drift_pct": final.get("impact_drift_pct"),
            "clipped_steps": sum(s.clipped for s in self.steps),
            "packet_loss_pct": final.get("packet_loss_total_pct"),
            "duration_s": ((self.steps[-1].time_ns - self.steps[0].time_ns) / NS
                           if len(self.steps) > 1 else 0.0),
        }


def _mean_cadence(steps: Sequence[StepEvent], per_stride: int) -> float | None:
    """Average step rate between the first and last strike: 60 × strikes × k / span."""
    if len(steps) < 2:
        return None
    span = (steps[-1].time_ns - steps[0].time_ns) / NS
    return 60.0 * (len(steps) - 1) * per_stride / span if span > 0 else None


def analyze_frames(frames: Iterable[ImuFrame], *, placement: str = "tibia", side: str = "none",
                   config: AnalysisConfig | None = None, athlete: str = "offline",
                   session: str = "offline") -> AnalysisResult:
    processor = SessionProcessor(athlete, session, config)
    processor.set_meta(DEVICE, DeviceMeta(profile="file", placement=placement, side=side))
    result = AnalysisResult()
    for frame in frames:
        result.add(processor.feed_frame(DEVICE, frame))
    result.add(processor.finish())
    return result


def analyze_accel(accel_g: npt.NDArray[np.float64], sample_rate_hz: float, *,
                  accel_range_g: int | None = None, placement: str = "tibia",
                  side: str = "none", config: AnalysisConfig | None = None,
                  time_s: npt.NDArray[np.float64] | None = None,
                  frame_sizes: Iterable[int] | None = None) -> AnalysisResult:
    """Analyse samples in g (n, 3); ``time_s`` (per sample) maps back to the input timebase."""
    rng = accel_range_g or choose_range_g(accel_g)
    counts = g_to_counts(accel_g, rng)
    t0 = float(time_s[0]) if time_s is not None and len(time_s) else 0.0
    starts = None if time_s is None else np.asarray(time_s, dtype=np.float64) - t0
    frames = frames_from_counts(counts, sample_rate_hz, rng, frame_sizes=frame_sizes,
                                start_times_s=starts)
    result = analyze_frames(frames, placement=placement, side=side, config=config)
    result.time0_s = t0
    return result


def analyze_rsc(samples: Iterable[RscSample], *, side: str = "none",
                config: AnalysisConfig | None = None) -> AnalysisResult:
    processor = SessionProcessor("offline", "offline", config)
    processor.set_meta(DEVICE, DeviceMeta(profile="rsc", placement="foot", side=side))
    result = AnalysisResult()
    first = True
    for sample in samples:
        if first:
            result.utc0_ns, first = sample.time_ns, False
        result.add(processor.feed_rsc(DEVICE, sample))
    result.add(processor.finish())
    return result
