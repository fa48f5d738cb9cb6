"""Frame rules, one test per rule, on hand-made frame timelines."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from footfall.processing.quality import QualityState, packet_loss_pct, place_frame
from footfall.wire.frame import FLAG_GAP_BEFORE, ImuFrame

RATE = 100.0


T0_NS = 1_795_540_800_000_000_000


def frame(seq: int, first_sample: int, n: int = 10, flags: int = 0, *,
          utc_sample: int | None = None, sensor_us: int | None = None) -> ImuFrame:
    """A frame whose sensor clock (and UTC, unless ``utc_sample`` says otherwise) says it
    starts at ``first_sample``."""
    utc_sample = first_sample if utc_sample is None else utc_sample
    return ImuFrame(seq=seq, sensor_time_us=(round(first_sample * 1e6 / RATE)
                                             if sensor_us is None else sensor_us),
                    utc_ns=T0_NS + round(utc_sample * 1e9 / RATE),
                    sample_rate_hz=RATE, accel_range_g=16,
                    counts=np.zeros((n, 3), dtype=np.int16), flags=flags)


def test_continuous_frames_follow_each_other() -> None:
    q = QualityState()
    places = [place_frame(q, frame(i, 10 * i), "d") for i in range(3)]
    assert [(p.first_index, p.gap_samples, p.segment_break) for p in places if p] == [
        (0, 0, False), (10, 0, False), (20, 0, False)]


def test_clock_jitter_within_tolerance_is_not_a_gap() -> None:
    q = QualityState()
    place_frame(q, frame(0, 0), "d")
    p = place_frame(q, frame(1, 11), "d")  # 1 sample late on the sensor clock: jitter
    assert p is not None and (p.first_index, p.segment_break) == (10, False)


def test_seq_jump_counts_lost_frames_and_the_clock_places_the_gap() -> None:
    q = QualityState()
    place_frame(q, frame(0, 0), "d")
    p = place_frame(q, frame(3, 30), "d")
    assert p is not None and (p.first_index, p.gap_samples, p.segment_break) == (30, 20, True)
    assert (q.frames_lost, q.samples_lost) == (2, 20)
    assert packet_loss_pct(q, 40, 1000) == pytest.approx(100 * 20 / 40)


def test_seq_wraps_around_32_bits() -> None:
    q = QualityState()
    place_frame(q, frame(2**32 - 1, 0), "d")
    p = place_frame(q, frame(0, 10), "d")
    assert p is not None and p.first_index == 10 and q.frames_lost == 0


def test_a_resend_is_counted_as_duplicates_and_logged_once(
        caplog: pytest.LogCaptureFixture) -> None:
    q = QualityState()
    for seq in range(6):
        place_frame(q, frame(seq, 10 * seq), "d")
    with caplog.at_level(logging.INFO):
        for seq in (3, 4, 5):  # a sender publishes its last frames again after a reconnect
            assert place_frame(q, frame(seq, 10 * seq), "d") is None
    assert (q.frames_duplicate, q.frames_late) == (3, 0)
    assert [r.message for r in caplog.records] == [
        "d: dropping repeated frames from seq 3 (last seq 5): a sender's resend after a "
        "reconnect, already analysed"]
    place_frame(q, frame(6, 60), "d")
    with caplog.at_level(logging.INFO):
        assert place_frame(q, frame(6, 60), "d") is None  # a new run of repeats: logged again
    assert len(caplog.records) == 2 and q.frames_duplicate == 4


def test_a_frame_counted_lost_that_arrives_after_later_ones_is_late(
        caplog: pytest.LogCaptureFixture) -> None:
    q = QualityState()
    place_frame(q, frame(5, 0), "d")
    place_frame(q, frame(8, 30), "d")  # 6 and 7 lost
    with caplog.at_level(logging.WARNING):
        assert place_frame(q, frame(7, 20), "d") is None
        assert place_frame(q, frame(8, 30), "d") is None  # a duplicate: not a warning
    assert (q.frames_late, q.frames_duplicate, q.frames_lost) == (1, 1, 2)
    assert [r.message for r in caplog.records] == [
        "d: dropped frame seq 7: it arrived late (last seq 8; it was counted lost)"]


def test_late_is_told_from_duplicate_across_the_seq_wrap() -> None:
    q = QualityState()
    place_frame(q, frame(2**32 - 2, 0), "d")
    place_frame(q, frame(1, 30), "d")  # 2**32 - 1 and 0 lost
    assert place_frame(q, frame(0, 20), "d") is None
    assert place_frame(q, frame(2**32 - 2, 0), "d") is None
    assert (q.frames_late, q.frames_duplicate) == (1, 1)


def test_gap_flag_breaks_the_segment_without_losing_samples() -> None:
    q = QualityState()
    place_frame(q, frame(0, 0), "d")
    p = place_frame(q, frame(1, 10, flags=FLAG_GAP_BEFORE), "d")
    assert p is not None and (p.first_index, p.gap_samples, p.segment_break) == (10, 0, True)


def test_unusable_sensor_clock_falls_back_to_the_counter() -> None:
    q = QualityState()
    place_frame(q, frame(0, 500), "d")
    p = place_frame(q, frame(2, 0), "d")  # clock went backwards, one frame lost
    assert p is not None and (p.gap_samples, p.segment_break) == (10, True)


def test_a_sensor_clock_that_jumps_to_2_64_costs_nothing() -> None:
    """A hostile frame's clock at 2⁶⁴ − 1 µs, its UTC where it belongs: no gap of 584,000
    years, no lost samples, and the stream goes on when the clock is back."""
    q = QualityState()
    place_frame(q, frame(0, 0), "d")
    p = place_frame(q, frame(1, 10, sensor_us=2**64 - 1), "d")
    assert p is not None and (p.first_index, p.gap_samples) == (10, 0)
    p = place_frame(q, frame(2, 20), "d")
    assert p is not None and (p.first_index, p.gap_samples) == (20, 0)
    assert (q.samples_lost, q.clock_jumps) == (0, 2)


def test_a_restarted_gateway_s_clock_gives_way_to_utc() -> None:
    """A new gateway process unwraps the sensor's u32 clock afresh (here 10 min back) while
    UTC says 5 s passed: the gap is the 5 s."""
    q = QualityState()
    place_frame(q, frame(0, 60_000), "d")
    p = place_frame(q, frame(1, 0, utc_sample=60_510), "d")
    assert p is not None and (p.gap_samples, p.segment_break) == (500, True)


def test_a_utc_jump_the_sensor_clock_does_not_see_is_not_a_gap() -> None:
    q = QualityState()
    place_frame(q, frame(0, 0), "d")
    p = place_frame(q, frame(1, 10, utc_sample=10 + round(50 * 365 * 86400 * RATE)), "d")
    assert p is not None and p.gap_samples == 0 and q.clock_jumps == 1
