"""Baseline, drift, speed-explained cadence, trend and symmetry on hand-made timelines."""

from __future__ import annotations

import numpy as np
import pytest

from footfall.config.analysis import AnalysisConfig
from footfall.processing.metrics import NS, MetricsTracker, TimeSeries
from footfall.processing.session import SessionProcessor
from footfall.wire.events import DeviceMeta, SessionMetricsEvent

from .synth import leg_run
from .test_session import UTC0, _frames

CONFIG = AnalysisConfig(warmup_s=10, baseline_s=20)


def _feed(tracker: MetricsTracker, cadence_at: list[tuple[float, float]],
          until_s: float | None = None) -> MetricsTracker:
    """Strides at these (time, cadence): each a locomotion span since the previous one, as
    the session processor reports them; only those up to ``until_s``."""
    st = tracker.state
    last = st.cadence.times[-1] if len(st.cadence) else None
    for t_s, spm in cadence_at:
        t = round(t_s * NS)
        if (last is not None and t <= last) or (until_s is not None and t_s > until_s):
            continue
        if last is not None:
            tracker.span(last, t, "locomotion", spm)
        tracker.add_cadence(t, spm, weight_s=0.0 if last is None else (t - last) / NS)
        last = t
    return tracker


def _tracker_with(cadence_at: list[tuple[float, float]],
                  until_s: float | None = None) -> MetricsTracker:
    tracker = MetricsTracker(CONFIG)
    tracker.start(0)
    return _feed(tracker, cadence_at, until_s)


def test_baseline_after_warmup_then_drift() -> None:
    strides = [(t, 170.0 if t < 60 else 163.2) for t in np.arange(0, 80, 0.35)]
    tracker = _tracker_with(strides, until_s=25)
    early = tracker.snapshot(25 * NS)
    assert early["baseline_state"] == "collecting" and early["cadence_drift_pct"] is None
    late = _feed(tracker, strides).snapshot(79 * NS)
    assert late["baseline_state"] == "set"
    assert late["cadence_baseline_spm"] == 170.0
    assert late["cadence_drift_pct"] == pytest.approx(-4.0)


def test_speed_explains_part_of_the_change() -> None:
    tracker = _tracker_with([(t, 170.0 if t < 60 else 172.8) for t in np.arange(0, 80, 0.35)])
    speed = TimeSeries()
    speed.add(0, 3.0)
    speed.add(60 * NS, 3.5)  # +0.5 m/s: ≈ +2.8 spm expected (Burns 2019)
    m = tracker.snapshot(79 * NS, speed)
    assert m["cadence_change_pct"] == pytest.approx(100 * 2.8 / 170)
    assert m["cadence_speed_explained_pct"] == pytest.approx(100 * 2.8 / 170)
    assert m["cadence_drift_pct"] == pytest.approx(0.0, abs=1e-9)
    speed.add(79 * NS, 4.0)  # +1 m/s: beyond what the population slope can be trusted for
    far = tracker.snapshot(79 * NS + 1, speed)
    assert far["cadence_speed_explained_pct"] is not None and far["cadence_drift_pct"] is None


def test_mark_baseline_restarts_the_window() -> None:
    strides = [(t, 170.0 if t < 40 else 180.0) for t in np.arange(0, 100, 0.35)]
    tracker = _tracker_with(strides, until_s=60)
    assert tracker.snapshot(60 * NS)["cadence_baseline_spm"] == 170.0
    tracker.mark_baseline(65 * NS, duration_s=10)  # a mark a little ahead of the data
    before = tracker.snapshot(60 * NS)  # pending until the data reach it: still the old one
    assert before["baseline_state"] == "set" and before["cadence_baseline_spm"] == 170.0
    assert _feed(tracker, strides, until_s=70).snapshot(70 * NS)["baseline_state"] == \
        "collecting"
    after = _feed(tracker, strides).snapshot(99 * NS)
    assert after["cadence_baseline_spm"] == 180.0 and after["cadence_drift_pct"] == 0.0


def test_trend_in_spm_per_minute() -> None:
    tracker = MetricsTracker(AnalysisConfig(cadence_window_s=1.0))
    tracker.start(0)
    trend = None
    for second in range(200):  # cadence falls 1 spm per minute
        tracker.add_cadence(second * NS, 170.0 - second / 60)
        trend = tracker.snapshot(second * NS)["cadence_trend_spm_per_min"]
    assert trend == pytest.approx(-1.0)


def test_symmetry_from_both_legs_and_live_baseline_mark() -> None:
    proc = SessionProcessor("ann", "s1", CONFIG)
    events: list[object] = []
    for side in ("left", "right"):
        proc.set_meta(f"tib-{side}", DeviceMeta(profile="sim", placement="tibia", side=side))
    left = _frames(leg_run(duration_s=40, impact_g=9.0, seed=1).accel_g, 1000)
    right = _frames(leg_run(duration_s=40, impact_g=11.0, seed=2).accel_g, 1000)
    for fl, fr in zip(left, right, strict=True):
        events += [e for _, e in proc.feed_frame("tib-left", fl)]
        events += [e for _, e in proc.feed_frame("tib-right", fr)]
    proc.mark_baseline(None)  # the therapist resets the baseline for everyone, now
    combined = [e for e in events if isinstance(e, SessionMetricsEvent)]  # both legs' figures
    sym = [m.symmetry_pct for m in combined[-4:]]
    assert all(s == pytest.approx(100 * (11 - 9) / 11, abs=3) for s in sym)
    assert proc.imu["tib-left"].tracker.state.baseline.start_ns == UTC0 + 39_999 * 1_000_000


def test_two_legs_give_impact_and_step_time_symmetry() -> None:
    from footfall.recordings.framing import frame_counts
    from footfall.simulators.runner import RunnerParams, synthesize

    proc = SessionProcessor("ann", "s1", CONFIG)
    frames = {}
    for side in ("left", "right"):
        run = synthesize(RunnerParams(placement="tibia", side=side, accel_range_g=32,
                                      cadence_spm=170.0, asymmetry_pct=20.0, seed=4), 30.0)
        proc.set_meta(side, DeviceMeta(profile="sim", placement="tibia", side=side))
        timed, _ = frame_counts(run.counts, sample_rate_hz=1000.0, accel_range_g=32,
                                start_utc_ns=UTC0)
        frames[side] = [t.frame for t in timed]
    events = []
    for fl, fr in zip(frames["left"], frames["right"], strict=True):
        events += proc.feed_frame("left", fl) + proc.feed_frame("right", fr)
    last = [e for d, e in events if isinstance(e, SessionMetricsEvent)][-1]
    assert last.symmetry_pct == pytest.approx(20.0, abs=5)  # R impact 20 % above L
    assert last.step_time_symmetry_pct == pytest.approx(0.0, abs=2)
    assert last.step_time_right_s == pytest.approx(60 / 170, rel=0.02)
