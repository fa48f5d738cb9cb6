"""The binary IMU frame: exact round trips, and a reason for every malformed payload."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from footfall.wire.frame import (
    FLAG_GAP_BEFORE,
    HEADER_SIZE,
    MAX_TIME_NS,
    MIN_TIME_NS,
    FrameError,
    ImuFrame,
    decode,
    encode,
    g_to_counts,
    stack_counts,
)


def frame(n: int = 4, channels: int = 3) -> ImuFrame:
    counts = np.arange(n * channels, dtype=np.int16).reshape(n, channels)
    return ImuFrame(seq=7, sensor_time_us=123_456, utc_ns=1_795_540_800_000_000_000,
                    sample_rate_hz=1000.0, accel_range_g=16, counts=counts)


def test_header_layout_is_the_documented_one() -> None:
    payload = encode(frame())
    assert HEADER_SIZE == 36
    assert payload[:4] == b"FF\x01\x03"
    assert int.from_bytes(payload[4:8], "little") == 7
    assert int.from_bytes(payload[8:16], "little") == 123_456
    assert int.from_bytes(payload[32:34], "little") == 4
    assert payload[36:38] == b"\x00\x00" and payload[38:40] == b"\x01\x00"  # ax0=0, ay0=1
    assert len(payload) == 36 + 4 * 3 * 2


@given(
    counts=st.integers(1, 64).flatmap(
        lambda n: arrays(np.int16, (n, 6))
    ),
    seq=st.integers(0, 2**32 - 1),
    sensor_us=st.integers(0, 2**64 - 1),
    utc_ns=st.integers(MIN_TIME_NS, MAX_TIME_NS),
    rate=st.sampled_from([13.0, 52.0, 104.0, 143.0, 200.0, 500.0, 1000.0, 1666.0]),
    flags=st.sampled_from([0, FLAG_GAP_BEFORE]),
)
def test_round_trip_is_exact(counts: np.ndarray, seq: int, sensor_us: int, utc_ns: int,
                             rate: float, flags: int) -> None:
    original = ImuFrame(seq, sensor_us, utc_ns, rate, 8, counts, gyro_range_dps=2000,
                        flags=flags)
    back = decode(encode(original))
    assert (back.seq, back.sensor_time_us, back.utc_ns, back.sample_rate_hz, back.accel_range_g,
            back.gyro_range_dps, back.flags) == (seq, sensor_us, utc_ns, rate, 8, 2000, flags)
    np.testing.assert_array_equal(back.counts, counts)
    assert back.gyro_dps() is not None


def test_decode_is_zero_copy() -> None:
    payload = bytearray(encode(frame()))
    decoded = decode(payload)
    payload[HEADER_SIZE] = 0x05  # the view sees the buffer change
    assert decoded.counts[0, 0] == 5


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"", "shorter than the header"),
        (b"XX" + encode(frame())[2:], "bad magic"),
        (b"FF\x02" + encode(frame())[3:], "unsupported frame version 2"),
        (b"FF\x01\x04" + encode(frame())[4:], "unsupported channel count 4"),
        (encode(frame())[:-1], "header says"),
        (encode(frame()) + b"\x00", "header says"),
        (encode(frame().replace(sample_rate_hz=1e30)), "sample rate"),
        (encode(frame().replace(sample_rate_hz=float("nan"))), "sample rate"),
        (encode(frame().replace(sample_rate_hz=-5.0)), "sample rate"),
        (encode(frame().replace(accel_range_g=0)), "full-scale range 0"),
        (encode(frame().replace(accel_range_g=65_000)), "full-scale range 65000"),
        (encode(frame().replace(utc_ns=0)), "between 2000 and 2100"),
        (encode(frame().replace(utc_ns=2**63 - 1)), "between 2000 and 2100"),
    ],
)
def test_malformed_payloads_say_why(payload: bytes, reason: str) -> None:
    with pytest.raises(FrameError, match=reason):
        decode(payload)


@given(st.binary(max_size=200))
def test_random_bytes_raise_only_frame_error(payload: bytes) -> None:
    try:
        decode(payload)
    except FrameError as exc:
        assert exc.reason


def test_g_to_counts_saturates_like_a_sensor() -> None:
    counts = g_to_counts(np.array([[0.0, 1.0, -1.0], [16.0, -16.0, 40.0]]), 16)
    assert counts.tolist() == [[0, 2048, -2048], [32767, -32768, 32767]]
    assert frame().accel_g()[1, 0] == pytest.approx(3 * 16 / 32768)


def test_decoded_frames_stack_from_their_payloads_as_their_counts_would() -> None:
    """The live processor stacks decoded frames' payloads (stack_counts), not per-frame views:
    the same array as the frames' own counts, for 3 and 6 channels, and frames made from
    counts (or a mix) stacked as before."""
    rng = np.random.default_rng(3)
    for channels in (3, 6):
        made = [ImuFrame(k, k * 25_000, MIN_TIME_NS + k * 25_000_000, 1000.0, 16,
                         rng.integers(-32768, 32767, (25, channels), dtype=np.int16))
                for k in range(5)]
        decoded = [decode(encode(f)) for f in made]
        assert all(d.payload is not None and d.n_samples == 25 and d.channels == channels
                   for d in decoded)
        want = np.stack([f.counts for f in made])
        for frames in (decoded, made, [decoded[0], made[1], decoded[2]]):
            got = stack_counts(frames)
            assert got.shape == (len(frames), 25, channels)
            assert np.array_equal(got, want[:len(frames)] if frames is not made else want)
        assert np.array_equal(decoded[1].counts, made[1].counts)
        assert decoded[1].replace(seq=9).seq == 9
        assert np.array_equal(decoded[1].replace(seq=9).counts, made[1].counts)
