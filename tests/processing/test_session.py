"""The session processor's contract with the live service: events, counts, cadence, quality."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from footfall.processing.session import SessionProcessor
from footfall.recordings.framing import frame_counts
from footfall.wire.events import (
    AlertEvent,
    DeviceMeta,
    DeviceSummary,
    MetricsEvent,
    PauseEvent,
    RscSample,
    StepEvent,
)
from footfall.wire.frame import ImuFrame, g_to_counts

from .synth import leg_run

UTC0 = 1_795_000_000_000_000_000  # 2026-11-17, an arbitrary UTC start
NS = 1_000_000_000


def _frames(run_accel: np.ndarray, fs: float, rng: int = 32, size: int = 50) -> list[ImuFrame]:
    counts = g_to_counts(run_accel, rng)
    timed, _ = frame_counts(counts, sample_rate_hz=fs, accel_range_g=rng, start_utc_ns=UTC0,
                            samples_per_frame=size)
    return [t.frame for t in timed]


def _feed(proc: SessionProcessor, device: str, frames: list[ImuFrame]) -> list[object]:
    events: list[object] = []
    for f in frames:
        events += [e for _, e in proc.feed_frame(device, f)]
    events += [e for _, e in proc.finish()]
    return events


def test_tibia_reports_own_leg_strikes_and_step_cadence() -> None:
    run = leg_run(duration_s=30, cadence_spm=172)
    proc = SessionProcessor("ann", "s1")
    proc.set_meta("tib-l", DeviceMeta(profile="sim", placement="tibia", side="left"))
    events = _feed(proc, "tib-l", _frames(run.accel_g, run.sample_rate_hz))
    steps = [e for e in events if isinstance(e, StepEvent)]
    assert abs(len(steps) - len(run.strike_times_s)) <= 1
    found = np.array([s.sensor_time_s for s in steps])
    assert np.allclose(found, run.strike_times_s, atol=0.005)
    assert all(s.side == "left" and s.placement == "tibia" for s in steps)
    assert np.median([s.cadence_spm or 0 for s in steps[1:]]) == pytest.approx(172, abs=1)
    assert steps[0].time_ns == UTC0 + round(steps[0].sensor_time_s * 1e9)
    assert steps[0].cadence_spm is None and steps[0].interval_s is None  # nothing before it
    metrics = [e for e in events if isinstance(e, MetricsEvent)]
    assert len(metrics) == 29 + 1  # one per whole second of sensor time (1 … 29 s) + final
    assert metrics[-1].cadence_spm == pytest.approx(172, abs=1)
    assert metrics[-1].steps_total == len(steps)
    # the first strikes are held until they show a stride pattern (an echo of the other leg
    # could be among them); every later one is confirmed within the look-ahead
    assert all(0 < s.confirm_delay_ms <= 100 for s in steps[3:])
    assert all(0 < s.confirm_delay_ms <= 2000 for s in steps[:3])


def test_sacrum_reports_every_step() -> None:
    run = leg_run(duration_s=20, cadence_spm=180, placement="sacrum", impact_g=2.5,
                  sample_rate_hz=500)
    proc = SessionProcessor("ann", "s1")
    proc.set_meta("sac", DeviceMeta(profile="sim", placement="sacrum", side="none"))
    events = _feed(proc, "sac", _frames(run.accel_g, 500, rng=8))
    steps = [e for e in events if isinstance(e, StepEvent)]
    assert abs(len(steps) - len(run.strike_times_s)) <= 1
    assert np.median([s.cadence_spm or 0 for s in steps[1:]]) == pytest.approx(180, abs=1)


def test_device_without_meta_uses_defaults_and_logs_once(caplog: pytest.LogCaptureFixture) -> None:
    run = leg_run(duration_s=5)
    proc = SessionProcessor("ann", "s1")
    with caplog.at_level(logging.WARNING):
        events = _feed(proc, "x", _frames(run.accel_g, 1000))
    assert sum("no device meta" in r.message for r in caplog.records) == 1
    step = next(e for e in events if isinstance(e, StepEvent))
    assert (step.placement, step.side) == ("tibia", "none")


def test_clipped_peaks_are_flagged_and_kept_out_of_impact_metrics() -> None:
    run = leg_run(duration_s=20, impact_g=12.0)
    proc = SessionProcessor("ann", "s1")
    events = _feed(proc, "x", _frames(run.accel_g, 1000, rng=8))
    steps = [e for e in events if isinstance(e, StepEvent)]
    assert steps and all(s.clipped and s.impact_is_lower_bound for s in steps)
    final = [e for e in events if isinstance(e, MetricsEvent)][-1]
    assert final.impact_g is None
    assert final.clipping_pct == 100.0


def test_seq_gap_counts_packet_loss_and_late_frames_are_dropped(
        caplog: pytest.LogCaptureFixture) -> None:
    run = leg_run(duration_s=20)
    frames = _frames(run.accel_g, 1000)
    kept = [f for i, f in enumerate(frames) if i % 10 != 5]  # lose 10 % of frames
    kept.insert(20, kept[10])  # a duplicate arrives late
    kept.insert(30, frames[25])  # a frame counted lost arrives after later ones
    proc = SessionProcessor("ann", "s1")
    with caplog.at_level(logging.INFO):
        events = _feed(proc, "x", kept)
    assert any("repeated frames" in r.message for r in caplog.records)
    assert any("arrived late" in r.message for r in caplog.records)
    final = [e for e in events if isinstance(e, MetricsEvent)][-1]
    assert final.packet_loss_total_pct == pytest.approx(10.0, abs=0.5)
    assert (final.frames_late_total, final.frames_duplicate_total) == (1, 1)
    steps = [e for e in events if isinstance(e, StepEvent)]
    assert len(steps) >= 0.85 * len(run.strike_times_s)
    assert final.cadence_spm == pytest.approx(170, abs=1)  # intervals across short gaps count


def test_rsc_foot_pod_cadence_and_steps() -> None:
    proc = SessionProcessor("ann", "s1")
    events = []
    for i in range(120):
        sample = RscSample(time_ns=UTC0 + i * 1_000_000_000, speed_mps=3.0, cadence_spm=170.0)
        events += [e for _, e in proc.feed_rsc("pod", sample)]
    metrics = [e for e in events if isinstance(e, MetricsEvent)]
    assert len(metrics) == 119
    assert metrics[-1].cadence_spm == 170.0
    assert metrics[-1].steps_total == pytest.approx(170 * 119 / 60, abs=1)
    assert metrics[-1].speed_mps == 3.0


def test_sample_rate_change_mid_stream_keeps_times_right() -> None:
    run = leg_run(duration_s=24, cadence_spm=170)
    half = 12_000
    first = _frames(run.accel_g[:half], 1000)
    counts = g_to_counts(run.accel_g[half::2], 32)  # the gateway switches the sensor to 500 Hz
    second = [ImuFrame(seq=len(first) + k, sensor_time_us=(half + 50 * k * 2) * 1000,
                       utc_ns=UTC0 + (half + 100 * k) * 1_000_000, sample_rate_hz=500.0,
                       accel_range_g=32, counts=counts[50 * k:50 * (k + 1)])
              for k in range(counts.shape[0] // 50)]
    proc = SessionProcessor("ann", "s1")
    events = _feed(proc, "x", first + second)
    steps = [e for e in events if isinstance(e, StepEvent)]
    found = np.array([s.sensor_time_s for s in steps])
    nearest = np.abs(found[:, None] - run.strike_times_s[None, :]).min(axis=1)
    assert len(steps) >= len(run.strike_times_s) - 2 and np.all(nearest < 0.006)
    assert all(s.time_ns == UTC0 + round(s.sensor_time_s * 1e9) for s in steps)
    late = [s.cadence_spm for s in steps if s.sensor_time_s > 14 and s.cadence_spm]
    assert np.median(late) == pytest.approx(170, abs=1)


def _pod(proc: SessionProcessor, samples: list[tuple[float, float, float, float]]) -> list[object]:
    """(time s, cadence spm, speed m/s, distance m) samples of one pod, then the end."""
    events: list[object] = []
    for t, spm, speed, dist in samples:
        sample = RscSample(time_ns=UTC0 + round(t * 1e9), speed_mps=speed, cadence_spm=spm,
                           total_distance_m=dist)
        events += [e for _, e in proc.feed_rsc("pod", sample)]
    return events + [e for _, e in proc.finish()]


def _steady(t0: float, t1: float, dist0: float, spm: float = 170.0,
            speed: float = 3.0) -> list[tuple[float, float, float, float]]:
    return [(t, spm, speed, dist0 + speed * (t - t0)) for t in np.arange(t0, t1, 1.0)]


def test_a_pods_silence_is_a_pause_not_a_no_data_alert() -> None:
    proc = SessionProcessor("ann", "s1")
    run = _steady(0, 200, 0.0) + _steady(240, 400, 600.0)  # 40 s silent, standing
    events = _pod(proc, run)
    pauses = [e for e in events if isinstance(e, PauseEvent)]
    assert [(p.kind, round(p.duration_s)) for p in pauses] == [("stop", 41)]
    assert not [e for e in events if isinstance(e, AlertEvent)]
    summary = next(e for e in events if isinstance(e, DeviceSummary))
    assert summary.pauses == 1 and summary.paused_s == pytest.approx(41, abs=0.5)
    assert summary.running_s == pytest.approx(398 - 41, abs=1)
    assert summary.steps == pytest.approx(170 / 60 * summary.running_s, rel=0.01)


def test_a_pods_dropout_while_moving_is_unrecorded_not_a_pause() -> None:
    proc = SessionProcessor("ann", "s1")
    events = _pod(proc, _steady(0, 200, 0.0) + _steady(230, 400, 690.0))  # 30 s at 3 m/s
    summary = next(e for e in events if isinstance(e, DeviceSummary))
    assert summary.pauses == 0 and summary.unrecorded_s == pytest.approx(31, abs=0.5)
    assert not [e for e in events if isinstance(e, AlertEvent)]


def test_a_walking_break_is_no_drift_and_leaves_the_baseline_alone() -> None:
    proc = SessionProcessor("ann", "s1")
    walk = [(t, 118.0, 1.4, 600 + 1.4 * (t - 200)) for t in np.arange(200, 260, 1.0)]
    events = _pod(proc, _steady(0, 200, 0.0) + walk + _steady(260, 500, 700.0))
    pauses = [e for e in events if isinstance(e, PauseEvent)]
    assert [p.kind for p in pauses] == ["walk"] and 55 < pauses[0].duration_s < 62
    during = [e for e in events if isinstance(e, MetricsEvent)
              and UTC0 + 210e9 < e.time_ns < UTC0 + 255e9]
    assert during and all(e.activity == "walking" and e.cadence_drift_pct is None
                          for e in during)
    summary = next(e for e in events if isinstance(e, DeviceSummary))
    assert summary.cadence_baseline_spm == 170.0 and summary.cadence_final_spm == 170.0
    assert summary.walking_s == pytest.approx(60, abs=6) and summary.walks == 1
    assert not [e for e in events if isinstance(e, AlertEvent)]  # no "fatigue" at the walk


def test_live_silence_of_a_sparse_pod_is_judged_against_its_own_interval() -> None:
    proc = SessionProcessor("ann", "s1")
    proc.set_meta("pod", DeviceMeta(profile="rsc", placement="foot", side="none",
                                    sample_rate_hz=1 / 7))  # smart recording: every ~7 s
    wall = 10_000 * NS
    proc.alerts.observe("pod", MetricsEvent(time_ns=UTC0, cadence_spm=170.0, steps_total=1,
                                            placement="foot", side="none", source="rsc"),
                        arrival_ns=wall)
    assert proc.tick(wall + 15 * NS) == []
    (alert,) = [e for _, e in proc.tick(wall + 22 * NS)]
    assert (alert.rule, alert.time_ns) == ("no_data", UTC0 + 21 * NS)


def test_an_interval_spanning_a_stop_is_no_cadence() -> None:
    run = leg_run(duration_s=30, cadence_spm=170)
    accel = run.accel_g.copy()
    accel[10_000:20_000] = [1.0, 0.0, 0.0]  # 10 s standing still
    proc = SessionProcessor("ann", "s1")
    events = _feed(proc, "x", _frames(accel, 1000))
    steps = [e for e in events if isinstance(e, StepEvent)]
    assert min(s.cadence_spm for s in steps if s.cadence_spm) > 150  # never 1.5 spm
    assert [p.kind for p in events if isinstance(p, PauseEvent)] == ["stop"]


def test_a_walk_then_a_run_finds_every_running_stride() -> None:
    """Walking strides (~1.1 s) teach a refractory longer than a running stride (~0.7 s):
    without the halved-stride rule the detector kept every other strike for the rest of the
    run (half the cadence, "walking" for ever)."""
    grid = np.arange(0.0, 120.1, 0.1)
    run = leg_run(duration_s=120, cadence_spm=np.where(grid < 40, 110.0, 170.0),
                  sample_rate_hz=500, seed=5)
    proc = SessionProcessor("ann", "s1")
    proc.set_meta("tib", DeviceMeta(profile="sim", placement="tibia", side="left"))
    events = _feed(proc, "tib", _frames(run.accel_g, run.sample_rate_hz))
    found = np.array([e.sensor_time_s for e in events if isinstance(e, StepEvent)])
    truth = run.strike_times_s
    late = truth[truth > 50]  # ten seconds into the run: every stride again
    assert all(np.min(np.abs(found - t)) < 0.01 for t in late)
    assert len(found[found > 50]) == len(late)
    metrics = [e for e in events if isinstance(e, MetricsEvent)]
    assert metrics[-2].activity == "running"
    assert metrics[-2].cadence_spm == pytest.approx(170, abs=2)
