"""Time in the cadence target band: computed by the summary builder (so analyze, the live
summary and the report agree), from the per-second metrics, only while a target is known."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from footfall.config.analysis import AlertConfig, AnalysisConfig
from footfall.processing.offline import AnalysisResult, analyze_accel
from footfall.processing.summary import target_band_spm
from footfall.wire.events import DeviceSummary
from tests.processing.synth import leg_run

#: 60 s at 160 spm, then 60 s at 176 spm (grid at 10 Hz, as leg_run wants)
GRID_S = np.arange(0.0, 120.1, 0.1)
CADENCE = np.where(GRID_S < 60.0, 160.0, 176.0)


def _summary(alerts: AlertConfig, warmup_s: float = 10.0,
             baseline_s: float = 20.0) -> tuple[AnalysisResult, DeviceSummary]:
    run = leg_run(duration_s=120.0, cadence_spm=CADENCE, sample_rate_hz=500.0, seed=3)
    config = replace(AnalysisConfig(), alerts=alerts, warmup_s=warmup_s, baseline_s=baseline_s)
    result = analyze_accel(run.accel_g, run.sample_rate_hz, accel_range_g=16, side="left",
                           config=config)
    assert result.device_summary is not None
    return result, result.device_summary


def test_band_is_the_target_plus_minus_the_alert_tolerance() -> None:
    low, high = target_band_spm(175.0, AlertConfig(cadence_below_target_pct=2.0))
    assert (low, high) == (171.5, 178.5)


def test_absolute_target_counts_the_seconds_in_the_band() -> None:
    result, summary = _summary(AlertConfig(target_cadence_spm=175.0))
    assert summary.cadence_target_spm == 175.0
    # independently: the share of the per-second metrics (not the final repeat) in the band
    seconds = [m.cadence_spm for m in result.metrics if m.cadence_spm is not None and not m.final]
    inside = sum(171.5 <= c <= 178.5 for c in seconds)
    assert summary.time_in_target_pct == 100.0 * inside / len(seconds)
    # the second half is in the band, less the 10-s rolling window's transition
    assert 38.0 < summary.time_in_target_pct < 52.0


def test_relative_target_starts_when_the_baseline_is_known() -> None:
    # baseline over 10–30 s at 160 spm; +10 % = 176 spm: the second half is in the band
    result, summary = _summary(AlertConfig(target_increase_pct=10.0))
    assert summary.cadence_baseline_spm is not None
    target = summary.cadence_baseline_spm * 1.1
    assert summary.cadence_target_spm is not None
    assert abs(summary.cadence_target_spm - target) < 1e-9
    known = [m for m in result.metrics if m.cadence_baseline_spm is not None
             and m.cadence_spm is not None and not m.final]
    assert len(known) < len([m for m in result.metrics if m.cadence_spm is not None])
    low, high = target_band_spm(target, AlertConfig())
    inside = sum(low <= m.cadence_spm <= high for m in known)  # type: ignore[operator]
    assert summary.time_in_target_pct == 100.0 * inside / len(known)
    assert summary.time_in_target_pct > 50.0  # 60 of the ~90 s after the baseline


def test_no_target_no_time_in_target() -> None:
    _, summary = _summary(AlertConfig())
    assert summary.cadence_target_spm is None
    assert summary.time_in_target_pct is None


def test_a_target_set_live_counts_from_then_on() -> None:
    """The therapist sets the target from the monitor halfway: the summary knows it."""
    from pathlib import Path

    from footfall.processing.router import SessionRouter
    from footfall.recordings.session_file import iter_messages
    from footfall.wire.control import ControlCommand
    from footfall.wire.topics import INPUT_STREAMS, SESSION_DEVICE, Stream, Topic

    sample = Path(__file__).resolve().parents[2] / "footfall" / "data" / "sample-session.mcap"
    messages = list(iter_messages(sample, INPUT_STREAMS))
    router = SessionRouter()
    out = []
    for i, m in enumerate(messages):
        if i == len(messages) // 2:
            control = Topic(m.topic.athlete, m.topic.session, SESSION_DEVICE, Stream.CONTROL)
            command = ControlCommand.set_target(m.publish_time_ns, cadence_spm=172.0)
            out += router.handle(str(control), command.to_json())
        out += router.handle(str(m.topic), m.payload)
    summaries = [e for _, e in out + router.finish() if isinstance(e, DeviceSummary)]
    assert summaries and all(s.cadence_target_spm == 172.0 for s in summaries)
    assert all(s.time_in_target_pct is not None for s in summaries)
