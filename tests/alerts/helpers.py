"""Drive the session processor (and its alert engine) offline; the same rules on ground truth.

``reference_alerts`` runs the same rules on a synthetic run's *ground truth* (true strike times
and impacts, through the same metrics tracker): the time at which the rules should fire for
that very run. The live path (detector → processor → engine) must agree with it; with
per-stride cadence noise of ~1 % and an 8 % step-to-step impact spread, the smooth model alone
cannot pin a 0.01 %/s drift to ±15 s (docs/alerts.md, "Timing").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from footfall.config.analysis import AlertConfig, AnalysisConfig
from footfall.processing.alerts import AlertEngine
from footfall.processing.metrics import MetricsTracker
from footfall.processing.session import Output, SessionProcessor
from footfall.processing.session_join import SessionJoin
from footfall.recordings.framing import frame_counts
from footfall.simulators.runner import SyntheticRun
from footfall.wire.events import AlertEvent, DeviceMeta, MetricsEvent, StepEvent
from footfall.wire.topics import SESSION_DEVICE

NS = 1_000_000_000
UTC0 = 1_795_540_800_000_000_000  # 2026-11-24T17:20:00Z


@dataclass
class Offline:
    outputs: list[Output] = field(default_factory=list)
    alerts: list[tuple[str, AlertEvent]] = field(default_factory=list)
    engine: AlertEngine = field(default_factory=AlertEngine)

    def times(self, rule: str, state: str = "start") -> list[float]:
        """Seconds from the run's start of each ``rule`` event in ``state``."""
        return [(e.time_ns - UTC0) / NS for _, e in self.alerts
                if e.rule == rule and e.state == state]

    def rules(self) -> list[tuple[str, str, str]]:
        return [(d, e.rule, e.state) for d, e in self.alerts]


def device_name(run: SyntheticRun) -> str:
    return f"{run.placement}-{run.side}"


def run_offline(runs: Sequence[SyntheticRun], *, alerts: AlertConfig | None = None,
                analysis: AnalysisConfig | None = None,
                drop_s: tuple[float, float] | None = None,
                frame_samples: int = 25) -> Offline:
    """Every run's frames through one SessionProcessor (its own alert engine), interleaved in
    time as they would arrive; ``drop_s`` = (from, to) s: frames never sent."""
    config = analysis or AnalysisConfig()
    if alerts is not None:
        config = replace(config, alerts=alerts)
    processor = SessionProcessor("ann", "s1", config)
    result = Offline(engine=processor.alerts)
    streams = []
    for run in runs:
        name = device_name(run)
        processor.set_meta(name, DeviceMeta(profile="sim", placement=run.placement,
                                            side=run.side, sample_rate_hz=run.sample_rate_hz,
                                            accel_range_g=run.accel_range_g))
        timed, _ = frame_counts(run.counts, sample_rate_hz=run.sample_rate_hz,
                                accel_range_g=run.accel_range_g, start_utc_ns=UTC0,
                                samples_per_frame=frame_samples)
        frames = [t.frame for t in timed]
        if drop_s is not None:
            lo, hi = (UTC0 + round(s * NS) for s in drop_s)
            frames = [f for f in frames if not lo <= f.utc_ns < hi]
        streams += [(f.utc_ns, i, name, f) for i, f in enumerate(frames)]
    for _, _, name, frame in sorted(streams, key=lambda x: (x[0], x[2])):
        result.outputs += processor.feed_frame(name, frame)
    result.outputs += processor.finish()
    result.alerts = [(d, e) for d, e in result.outputs if isinstance(e, AlertEvent)]
    return result


def reference_alerts(run: SyntheticRun, *, alerts: AlertConfig | None = None,
                     analysis: AnalysisConfig | None = None) -> Offline:
    """The rules on the run's ground truth: true strikes, true impacts, one metrics event per
    second from the same tracker the processor uses."""
    cfg = analysis or AnalysisConfig()
    tracker = MetricsTracker(cfg)
    tracker.start(UTC0)
    truth = run.truth.own()
    result = Offline(engine=AlertEngine(alerts))
    join = SessionJoin(cfg)
    name = device_name(run)
    strikes = [(float(t), i) for i, t in enumerate(truth.time_s)]
    seconds = [(float(k), -1) for k in range(1, int(run.duration_s) + 1)]
    previous: float | None = None
    n = 0
    for t, i in sorted(strikes + seconds):
        t_ns = UTC0 + round(t * NS)
        if i >= 0:
            if previous is not None:  # a stride, reported like the processor does
                tracker.span(UTC0 + round(previous * NS), t_ns, "locomotion",
                             120.0 / (t - previous))
                tracker.add_cadence(t_ns, 120.0 / (t - previous), weight_s=t - previous)
            previous = t
            impact = float(truth.impact_g[i])
            tracker.add_impact(t_ns, impact, bool(truth.clipped[i]))
            n += 1
            event: StepEvent | MetricsEvent = StepEvent(
                time_ns=t_ns, sensor_time_s=t, impact_g=impact, cadence_spm=0.0,
                interval_s=0.0, side=run.side, placement=run.placement,
                clipped=bool(truth.clipped[i]), confidence=1.0)
        else:
            event = MetricsEvent(time_ns=t_ns, steps_total=n, placement=run.placement,
                                 side=run.side, **tracker.snapshot(t_ns))
        result.alerts += result.engine.observe(name, event)
        join.observe(name, event)
        for combined in join.ready():  # the session rules judge the session's figures
            result.alerts += result.engine.observe(SESSION_DEVICE, combined)
    for combined in join.flush():
        result.alerts += result.engine.observe(SESSION_DEVICE, combined)
    return result


def metrics_event(time_ns: int, cadence_spm: float | None, steps_total: int,
                  fields: dict[str, Any] | None = None) -> MetricsEvent:
    """A left-tibia metrics event with only the given figures."""
    return MetricsEvent(time_ns=time_ns, cadence_spm=cadence_spm, steps_total=steps_total,
                        placement="tibia", side="left", **(fields or {}))


def step_event(time_ns: int, sensor_time_s: float, impact_g: float, cadence_spm: float | None,
               interval_s: float | None, side: str = "left", placement: str = "tibia",
               clipped: bool = False, confidence: float = 1.0) -> StepEvent:
    return StepEvent(time_ns=time_ns, sensor_time_s=sensor_time_s, impact_g=impact_g,
                     cadence_spm=cadence_spm, interval_s=interval_s, side=side,
                     placement=placement, clipped=clipped, confidence=confidence)
