"""Offline analysis of one recording lists the session-wide alerts too (cadence drift is
published under device ``session``, not the sensor's)."""

from __future__ import annotations

from footfall.config.analysis import AnalysisConfig
from footfall.processing.offline import analyze_accel
from footfall.simulators.runner import RunnerParams, synthesize


def test_cadence_drift_of_a_fatiguing_run_is_in_the_file_result() -> None:
    run = synthesize(RunnerParams(sample_rate_hz=200.0, side="left", seed=3,
                                  fatigue_start_fraction=0.4, fatigue_cadence_drop_pct=8.0,
                                  fatigue_pta_rise_pct=30.0), 240.0)
    result = analyze_accel(run.accel_g, 200.0, accel_range_g=16,
                           config=AnalysisConfig(warmup_s=10.0, baseline_s=20.0))
    started = [a.rule for a in result.alerts if a.state == "start"]
    assert "cadence_drift" in started  # session-wide
    assert "impact" in started  # the sensor's own
    times = [a.time_ns for a in result.alerts]
    assert times == sorted(times)
