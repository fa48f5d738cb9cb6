"""The synthetic runner's truth must match its own signal."""

from __future__ import annotations

import numpy as np
import pytest

from footfall.simulators.framing import to_frames
from footfall.simulators.runner import (
    AXIS_AXIAL,
    RunnerParams,
    simulate_gait,
    synthesize,
    treadmill_protocol,
)
from footfall.wire.frame import FLAG_GAP_BEFORE, decode, encode


@pytest.mark.parametrize(("placement", "side"), [("tibia", "left"), ("foot", "right"),
                                                 ("sacrum", "none")])
def test_truth_peaks_are_the_signal_peaks(placement: str, side: str) -> None:
    run = synthesize(RunnerParams(placement=placement, side=side, seed=3), 20.0)  # type: ignore[arg-type]
    own = run.truth.own()
    resultant = np.linalg.norm(run.accel_g, axis=1)
    rate = run.sample_rate_hz
    for t, g in zip(own.time_s, own.impact_g, strict=True):
        i = round(t * rate)
        window = resultant[i - 15:i + 16]
        # the measured local max sits where the truth says (the sacrum's wider transient lets
        # noise move its top by a few ms) and agrees within noise
        assert abs(int(np.argmax(window)) - 15) <= (5 if placement == "sacrum" else 2)
        assert window.max() == pytest.approx(g, abs=0.15)


def test_tibia_sees_own_leg_clearly_and_the_other_weakly() -> None:
    run = synthesize(RunnerParams(placement="tibia", side="right", seed=1), 30.0)
    truth = run.truth
    assert set(truth.side[truth.own_leg]) == {"right"}
    assert set(truth.side[~truth.own_leg]) == {"left"}
    other, own = truth.impact_g[~truth.own_leg], truth.impact_g[truth.own_leg]
    assert np.median(other) < 0.4 * np.median(own)
    # one leg strikes once per stride: cadence = 2 x stride rate
    stride_s = np.diff(truth.own().time_s)
    assert 2 * 60 / np.median(stride_s) == pytest.approx(170, abs=2)


def test_typical_tibia_pta_and_gravity() -> None:
    run = synthesize(RunnerParams(seed=5), 30.0)
    pta = run.truth.own().impact_axial_g
    assert 8 <= np.median(pta) <= 12  # gait.md: 8-14 g on a treadmill at 2.7-3.7 m/s
    assert not run.truth.clipped.any()
    # standing-still reading is +1 g on x; over a stride the axial mean stays near gravity
    assert 0.8 < run.accel_g[:, AXIS_AXIAL].mean() < 2.0


def test_clipping_when_pta_exceeds_range() -> None:
    run = synthesize(RunnerParams(pta_g=20.0, accel_range_g=16, seed=2), 10.0)
    own = run.truth.own()
    assert own.impact_axial_g.min() > 16  # truth keeps the real, unclipped peak
    assert own.clipped.all()
    assert run.accel_g[:, AXIS_AXIAL].max() == pytest.approx(16 * 32767 / 32768)
    assert np.abs(run.true_accel_g[:, AXIS_AXIAL]).max() > 16
    wide = synthesize(RunnerParams(pta_g=20.0, accel_range_g=32, seed=2), 10.0)
    assert not wide.truth.own().clipped.any()


def test_asymmetry_is_the_symmetry_index() -> None:
    gait = simulate_gait(RunnerParams(asymmetry_pct=10.0, impact_cv_pct=0.0), 60.0)
    left = gait.impact_g[gait.side == "left"].mean()
    right = gait.impact_g[gait.side == "right"].mean()
    assert (right - left) / max(right, left) * 100 == pytest.approx(10.0, abs=0.01)
    assert (left + right) / 2 == pytest.approx(10.0, abs=0.01)


def test_fatigue_lowers_cadence_and_raises_pta_late() -> None:
    params = RunnerParams(fatigue_cadence_drop_pct=3.0, fatigue_pta_rise_pct=15.0,
                          fatigue_start_fraction=0.5)
    gait = simulate_gait(params, 600.0)
    early = gait.time_s < 300
    late = gait.time_s > 540
    rate_early = 60 / np.median(np.diff(gait.time_s[early]))
    rate_late = 60 / np.median(np.diff(gait.time_s[late]))
    assert rate_early == pytest.approx(170, abs=1)
    assert rate_late == pytest.approx(170 * 0.97, abs=1.5)
    assert gait.impact_g[late].mean() > 1.1 * gait.impact_g[early].mean()


def test_speed_schedule_drives_cadence_and_pta() -> None:
    speed = treadmill_protocol([(60, 2.7), (60, 3.7)])
    gait = simulate_gait(RunnerParams(speed_mps=speed, impact_cv_pct=0), 120.0)
    slow, fast = gait.time_s < 55, gait.time_s > 70
    assert 60 / np.median(np.diff(gait.time_s[fast])) - 60 / np.median(
        np.diff(gait.time_s[slow])) == pytest.approx(5.6, abs=1.5)
    assert gait.impact_g[fast].mean() - gait.impact_g[slow].mean() == pytest.approx(3.8, abs=0.3)


def test_two_sensors_on_one_runner_share_the_strikes() -> None:
    left = synthesize(RunnerParams(side="left", seed=9), 10.0)
    right = synthesize(RunnerParams(side="right", seed=9), 10.0)
    assert np.array_equal(left.truth.leg_impact_g, right.truth.leg_impact_g)
    assert not np.array_equal(left.counts, right.counts)


def test_frames_carry_the_counts_with_seq_gaps_for_losses() -> None:
    run = synthesize(RunnerParams(packet_loss_pct=5.0, jitter_ms=10.0, seed=4), 20.0)
    frames, stats = to_frames(run, start_utc_ns=1_800_000_000_000_000_000, samples_per_frame=50)
    assert stats.frames_total == 400
    assert stats.frames_lost == 400 - len(frames) > 0
    dues = [f.due_s for f in frames]
    assert dues == sorted(dues)
    prev = -1
    for timed in frames:
        frame = decode(encode(timed.frame))
        assert np.array_equal(frame.counts, run.counts[frame.seq * 50:(frame.seq + 1) * 50])
        assert bool(frame.flags & FLAG_GAP_BEFORE) == (frame.seq != prev + 1)
        assert frame.utc_ns == 1_800_000_000_000_000_000 + frame.seq * 50_000_000
        prev = frame.seq


def test_foot_pod_reports_the_runners_cadence_and_speed() -> None:
    from footfall.simulators.footpod import rsc_samples

    gait = simulate_gait(RunnerParams(speed_mps=treadmill_protocol([(60, 2.8), (60, 3.6)]),
                                      seed=6), 120.0)
    start_ns = 1_795_000_000 * 10**9
    samples = rsc_samples(gait, start_utc_ns=start_ns)
    assert 110 <= len(samples) <= 120
    t = (np.array([s.time_ns for s in samples]) - start_ns) / 1e9
    cadence = np.array([s.cadence_spm for s in samples])
    truth = gait.profile.cadence_at(t)
    assert np.median(np.abs(cadence - truth)) < 1.5  # a 6-step window of a 1.5 % CV gait
    speed = np.array([s.speed_mps for s in samples])
    assert np.abs(speed - np.interp(t, gait.profile.time_s, gait.profile.speed_mps)).max() < 0.15
