"""Clock mapping, counter unwrapping and gap rules, driven by hand-made timelines."""

from __future__ import annotations

import random

import pytest

from footfall.core.clock import ManualClock
from footfall.ingest import clock as clk


def test_unwrapper_wraps_forward_and_keeps_late_values_behind() -> None:
    u = clk.Unwrapper(16)
    assert [u.unwrap(v) for v in (65530, 65535, 3, 10)] == [65530, 65535, 65539, 65546]
    assert u.unwrap(65534) == 65534  # late packet from before the wrap: stays behind
    assert u.unwrap(11) == 65547  # and does not disturb what follows


@pytest.mark.parametrize("seqs,verdicts,lost", [
    ([0, 1, 2], ["first", "next", "next"], [0, 0, 0]),
    ([65534, 65535, 0, 1], ["first", "next", "next", "next"], [0, 0, 0, 0]),  # wrap
    ([10, 11, 14], ["first", "next", "gap"], [0, 0, 2]),
    ([65535, 2], ["first", "gap"], [0, 2]),  # gap across the wrap
    ([10, 11, 11], ["first", "next", "duplicate"], [0, 0, 0]),  # repeated
    ([10, 11, 12, 9], ["first", "next", "next", "duplicate"], [0, 0, 0, 0]),  # late
])
def test_seq_tracker_rules(seqs: list[int], verdicts: list[str], lost: list[int]) -> None:
    t = clk.SeqTracker(1 << 16)
    got = [t.check(s) for s in seqs]
    assert [v.value for v, _ in got] == verdicts
    assert [n for _, n in got] == lost


def test_seq_tracker_resync_after_reconnect() -> None:
    t = clk.SeqTracker(1 << 16)
    t.check(5)
    t.resync()
    assert t.check(40) == (clk.Verdict.RESYNC, 34)  # the board counted on while we were away
    t.resync()
    assert t.check(41) == (clk.Verdict.NEXT, 0)  # nothing lost across this reconnect
    t.resync()
    assert t.check(3) == (clk.Verdict.RESYNC, 0)  # counter went back: a rebooted board


def test_timeline_last_anchor_polar_style() -> None:
    tl = clk.Timeline(5000.0, anchor="last")  # 200 Hz, timestamps of the last sample
    first = tl.place(1_045_000, 10)
    assert first == clk.TimelineSlot(clk.Verdict.FIRST, 1_000_000, 5000.0, 0)
    nxt = tl.place(1_095_000, 10)
    assert (nxt.verdict, nxt.first_us, nxt.lost_samples) == (clk.Verdict.NEXT, 1_050_000, 0)
    # one notification of 10 samples lost
    gap = tl.place(1_195_000, 10)
    assert (gap.verdict, gap.lost_samples, gap.first_us) == (clk.Verdict.GAP, 10, 1_150_000)
    assert tl.place(1_195_000, 10).verdict is clk.Verdict.DUPLICATE
    assert tl.place(5_000, 10).verdict is clk.Verdict.RESYNC  # strap clock reset


def test_timeline_learns_a_slightly_fast_sensor_without_false_gaps() -> None:
    tl = clk.Timeline(1e6 / 208, anchor="first")  # Movesense at "208 Hz", really 1 % faster
    true_period = 1e6 / 208 / 1.01
    verdicts = [tl.place(k * 8 * true_period, 8).verdict for k in range(500)]
    assert set(verdicts[1:]) == {clk.Verdict.NEXT}
    assert tl.period_us == pytest.approx(true_period, rel=2e-3)


def test_clock_mapper_corrects_offset_and_drift() -> None:
    rng = random.Random(7)
    drift = 150e-6  # the sensor's clock runs 150 ppm slow
    host0 = 1_795_000_000_000_000_000
    mapper = clk.ClockMapper()
    errors = []
    for k in range(2400):  # 20 notifications/s for 120 s
        sensor_us = 7_000_000 + k * 50_000
        true_utc = host0 + round(k * 50_000 * 1000 * (1 + drift))
        latency = rng.uniform(4e6, 40e6) if rng.random() > 0.02 else 400e6  # some stalls
        mapper.observe(sensor_us, true_utc + round(latency))
        if k > 1200:
            errors.append(abs(mapper.to_utc_ns(sensor_us) - true_utc) / 1e6)
    assert mapper.drift_ppm == pytest.approx(150, abs=20)
    assert max(errors) < 6.0  # ms: bounded by the fastest-notification latency (4 ms here)


def test_clock_mapper_needs_an_observation() -> None:
    with pytest.raises(LookupError):
        clk.ClockMapper().to_utc_ns(0)


def test_manual_clock() -> None:
    c = ManualClock(now_ns=0)
    c.advance(1.5)
    assert c.utc_ns() == c.monotonic_ns() == 1_500_000_000
