"""The session processor's contract with the live service: events, counts, cadence, quality."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from footfall.processing.session import SessionProcessor
from footfall.recordings.framing import frame_counts
from footfall.wire.events import DeviceMeta, MetricsEvent, RscSample, StepEvent
from footfall.wire.frame import ImuFrame, g_to_counts

from .synth import leg_run

UTC0 = 1_795_000_000_000_000_000  # 2026-11-17, an arbitrary UTC start


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
    proc = SessionProcessor("ann", "s1")
    with caplog.at_level(logging.WARNING):
        events = _feed(proc, "x", kept)
    assert any("duplicate or late" in r.message for r in caplog.records)
    final = [e for e in events if isinstance(e, MetricsEvent)][-1]
    assert final.packet_loss_total_pct == pytest.approx(10.0, abs=0.5)
    assert final.frames_late_total == 1
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
