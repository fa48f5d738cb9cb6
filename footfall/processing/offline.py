"""Offline analysis = the live processor fed a whole recording (one code path).

A recording becomes the same :class:`~footfall.wire.frame.ImuFrame` / RSC sequence a sensor
would have sent, and goes through :class:`~footfall.processing.session.SessionProcessor`
unchanged; the results are its events, grouped by device.
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
from footfall.wire.frame import MAX_SAMPLES, ImuFrame, g_to_counts
from footfall.wire.topics import SESSION_DEVICE

NS = 1_000_000_000
DEVICE = "recording"
#: standard accelerometer full-scale ranges, g
STANDARD_RANGES_G = (2, 4, 8, 16, 32, 64, 100, 200, 400)
GYRO_RANGE_DPS = 4000
MAX_CLIPPED_PCT = AnalysisConfig().max_clipped_for_impact_pct
#: frames cut at a time jump of more than this many sample intervals (a gap)
GAP_INTERVALS = 1.5


def frames_from_counts(counts: npt.NDArray[np.int16], sample_rate_hz: float,
                       accel_range_g: int, *, utc0_ns: int = 0,
                       frame_sizes: Iterable[int] | None = None,
                       start_times_s: npt.NDArray[np.float64] | None = None,
                       frame_samples: int = 50, gyro_range_dps: int = 0) -> Iterator[ImuFrame]:
    """Cut consecutive samples into frames, as a sensor would send them.

    Sample ``i`` is at ``i / rate`` s, unless ``start_times_s`` (per sample, seconds from
    the first) says otherwise: a time jump is a gap, and no frame spans one. ``frame_sizes``
    chooses each frame's length (the rest goes in ``frame_samples`` chunks).
    """
    n = counts.shape[0]
    cuts = np.zeros(0, dtype=np.intp)
    if start_times_s is not None:
        cuts = np.flatnonzero(np.diff(start_times_s) > GAP_INTERVALS / sample_rate_hz) + 1
    sizes = iter(frame_sizes) if frame_sizes is not None else iter(())
    i, seq = 0, 0
    while i < n:
        size = min(max(1, next(sizes, frame_samples)), MAX_SAMPLES)
        nxt = cuts[np.searchsorted(cuts, i, side="right"):]
        j = min(n, i + size, int(nxt[0]) if nxt.size else n)
        offset_ns = (round(float(start_times_s[i]) * NS) if start_times_s is not None
                     else round(i * NS / sample_rate_hz))
        yield ImuFrame(seq=seq, sensor_time_us=offset_ns // 1000, utc_ns=utc0_ns + offset_ns,
                       sample_rate_hz=sample_rate_hz, accel_range_g=accel_range_g,
                       counts=counts[i:j], gyro_range_dps=gyro_range_dps)
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
    """Every event of one device in an offline run, split by type.

    ``time0_s`` and ``utc0_ns`` map UTC back to the input's own timebase:
    ``time_s = time0_s + (time_ns - utc0_ns) / 1e9``.
    """

    steps: list[StepEvent] = field(default_factory=list)
    metrics: list[MetricsEvent] = field(default_factory=list)
    alerts: list[AlertEvent] = field(default_factory=list)
    time0_s: float = 0.0
    utc0_ns: int = 0

    def add(self, event: StepEvent | MetricsEvent | AlertEvent) -> None:
        if isinstance(event, StepEvent):
            self.steps.append(event)
        elif isinstance(event, MetricsEvent):
            self.metrics.append(event)
        else:
            self.alerts.append(event)

    def input_time_s(self, time_ns: int) -> float:
        return self.time0_s + (time_ns - self.utc0_ns) / NS

    def summary(self) -> dict[str, Any]:
        """Whole-recording figures: medians over all steps, drift from the final metrics."""
        final = self.metrics[-1].extra if self.metrics else {}
        per_stride = 2 if self.steps and self.steps[0].extra.get("strike") == "stride" else 1
        cadences = [s.cadence_spm for s in self.steps if s.cadence_spm is not None]
        if not self.steps:  # a foot pod: its own cadence samples, through the metrics
            cadences = [m.cadence_spm for m in self.metrics if m.cadence_spm is not None]
        clean = [s.impact_g for s in self.steps if not s.clipped]
        clipped_pct = (100.0 * sum(s.clipped for s in self.steps) / len(self.steps)
                       if self.steps else None)
        if clipped_pct is not None and clipped_pct > MAX_CLIPPED_PCT:
            clean = []  # the unclipped peaks are the lower ones: their median is biased
        return {
            "steps": len(self.steps) if self.steps else
            (self.metrics[-1].steps_total if self.metrics else 0),
            "source": "imu" if self.steps else "rsc" if self.metrics else None,
            "placement": final.get("placement"),
            "side": final.get("side"),
            "strike": self.steps[0].extra.get("strike") if self.steps else None,
            "steps_both_legs_estimate": len(self.steps) * per_stride if self.steps else None,
            "cadence_spm": float(np.median(cadences)) if cadences else None,
            "cadence_mean_spm": _mean_cadence(self.steps, per_stride),
            "cadence_baseline_spm": final.get("cadence_baseline_spm"),
            "cadence_final_spm": self.metrics[-1].cadence_spm if self.metrics else None,
            "cadence_change_pct": final.get("cadence_change_pct"),
            "cadence_speed_explained_pct": final.get("cadence_speed_explained_pct"),
            "cadence_drift_pct": final.get("cadence_drift_pct"),
            "cadence_trend_spm_per_min": final.get("cadence_trend_spm_per_min"),
            "impact_g": float(np.median(clean)) if clean else None,
            "impact_baseline_g": final.get("impact_baseline_g"),
            "impact_final_g": final.get("impact_g"),
            "impact_drift_pct": final.get("impact_drift_pct"),
            "impact_axial_drift_pct": final.get("impact_axial_drift_pct"),
            "symmetry_pct": final.get("symmetry_pct"),
            "step_time_symmetry_pct": final.get("step_time_symmetry_pct"),
            "clipped_steps": sum(s.clipped for s in self.steps),
            "clipped_pct": clipped_pct,
            "packet_loss_pct": final.get("packet_loss_total_pct"),
            "speed_mps": final.get("speed_mps"),
        }


def _mean_cadence(steps: Sequence[StepEvent], per_stride: int) -> float | None:
    """Average step rate between the first and last strike: 60 × strikes × k / span."""
    if len(steps) < 2:
        return None
    span = (steps[-1].time_ns - steps[0].time_ns) / NS
    return 60.0 * (len(steps) - 1) * per_stride / span if span > 0 else None


def collect(outputs: Sequence[Output], into: dict[str, AnalysisResult]) -> None:
    for device, event in outputs:
        into.setdefault(device, AnalysisResult()).add(event)


def _of_device(results: dict[str, AnalysisResult]) -> AnalysisResult:
    """The file's one device, with the session-wide alerts (cadence target and drift,
    asymmetry: published under device ``session``) merged into its alert list."""
    result = results.get(DEVICE, AnalysisResult())
    session = results.get(SESSION_DEVICE)
    if session is not None and session.alerts:
        result.alerts = sorted(result.alerts + session.alerts, key=lambda a: a.time_ns)
    return result


def analyze_frames(frames: Iterable[ImuFrame], *, placement: str = "tibia", side: str = "none",
                   config: AnalysisConfig | None = None) -> AnalysisResult:
    processor = SessionProcessor("offline", "offline", config)
    processor.set_meta(DEVICE, DeviceMeta(profile="file", placement=placement, side=side))
    results: dict[str, AnalysisResult] = {}
    for frame in frames:
        collect(processor.feed_frame(DEVICE, frame), results)
    collect(processor.finish(), results)
    return _of_device(results)


def analyze_accel(accel_g: npt.NDArray[np.float64], sample_rate_hz: float, *,
                  accel_range_g: int | None = None, placement: str = "tibia",
                  side: str = "none", config: AnalysisConfig | None = None,
                  time_s: npt.NDArray[np.float64] | None = None,
                  gyro_dps: npt.NDArray[np.float64] | None = None,
                  frame_sizes: Iterable[int] | None = None) -> AnalysisResult:
    """Analyse samples in g (n, 3), quantised to int16 at ``accel_range_g`` (default: the
    smallest standard range covering the data). ``time_s`` (per sample) is the input's
    timebase: gaps in it become gaps in the stream, and step times map back to it."""
    rng = accel_range_g or choose_range_g(accel_g)
    counts = g_to_counts(accel_g, rng)
    gyro_range = 0
    if gyro_dps is not None:
        gyro_range = GYRO_RANGE_DPS
        counts = np.concatenate((counts, g_to_counts(gyro_dps, gyro_range)), axis=1)
    t0 = float(time_s[0]) if time_s is not None and len(time_s) else 0.0
    starts = None if time_s is None else np.asarray(time_s, dtype=np.float64) - t0
    frames = frames_from_counts(counts, sample_rate_hz, rng, frame_sizes=frame_sizes,
                                start_times_s=starts, gyro_range_dps=gyro_range)
    result = analyze_frames(frames, placement=placement, side=side, config=config)
    result.time0_s = t0
    return result


def analyze_rsc(samples: Iterable[RscSample], *, side: str = "none",
                config: AnalysisConfig | None = None) -> AnalysisResult:
    processor = SessionProcessor("offline", "offline", config)
    processor.set_meta(DEVICE, DeviceMeta(profile="rsc", placement="foot", side=side))
    results: dict[str, AnalysisResult] = {}
    utc0: int | None = None
    for sample in samples:
        utc0 = sample.time_ns if utc0 is None else utc0
        collect(processor.feed_rsc(DEVICE, sample), results)
    collect(processor.finish(), results)
    result = _of_device(results)
    result.utc0_ns = utc0 or 0
    return result
