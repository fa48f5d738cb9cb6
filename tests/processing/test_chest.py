"""A chest strap is processed as a trunk sensor (every step), like the sacrum."""

from __future__ import annotations

from footfall.config.analysis import AnalysisConfig
from footfall.processing.offline import analyze_accel
from footfall.simulators.runner import RunnerParams, synthesize


def test_chest_placement_counts_every_step_like_the_sacrum() -> None:
    run = synthesize(RunnerParams(placement="sacrum", side="none", sample_rate_hz=200.0,
                                  seed=5), 30.0)
    config = AnalysisConfig(warmup_s=5.0, baseline_s=10.0)
    sacrum = analyze_accel(run.accel_g, 200.0, accel_range_g=16, placement="sacrum",
                           config=config)
    chest = analyze_accel(run.accel_g, 200.0, accel_range_g=16, placement="chest",
                          config=config)
    assert [s.time_ns for s in chest.steps] == [s.time_ns for s in sacrum.steps]
    assert abs(len(chest.steps) - len(run.truth)) <= 2  # every step of both legs
