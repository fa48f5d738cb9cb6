"""Golden vectors (ble-protocols.md) and emulator round trips for every BLE profile."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from footfall.devices import footfall_open, movesense, polar_pmd, rsc, witmotion
from footfall.devices.errors import ParseError
from footfall.simulators.devices import footfall_open as ffo_emu
from footfall.simulators.devices import movesense as ms_emu
from footfall.simulators.devices import polar_pmd as pmd_emu
from footfall.simulators.devices import rsc as rsc_emu
from footfall.simulators.devices import witmotion as wit_emu

H = bytes.fromhex

# ---------------------------------------------------------------- RSC
RSC_NORDIC = H("07 00 03 12 56 00 01 00 00 F0")
RSC_POLAR = H("07 34 12 56 89 07 04 03 02 01")


def test_rsc_golden_nordic() -> None:
    m = rsc.parse(RSC_NORDIC)
    assert m == rsc.RscMeasurement(flags=0x07, speed_raw=0x0300, cadence_raw=18,
                                   stride_length_raw=86, total_distance_raw=0xF0000001)
    assert (m.running, m.speed_mps, m.stride_length_m) == (True, 3.0, 0.86)
    assert rsc_emu.encode(m) == RSC_NORDIC


def test_rsc_golden_polar() -> None:
    m = rsc.parse(RSC_POLAR)
    assert m == rsc.RscMeasurement(flags=0x07, speed_raw=0x1234, cadence_raw=86,
                                   stride_length_raw=0x0789, total_distance_raw=0x01020304)
    assert rsc_emu.encode(m) == RSC_POLAR


def test_rsc_hand_made_walking_no_options() -> None:
    assert rsc.parse(H("00 80 02 50")) == rsc.RscMeasurement(0, 0x0280, 80)
    assert not rsc.parse(H("00 80 02 50")).running


def test_rsc_reserved_flags_and_trailing_bytes_ignored() -> None:
    m = rsc.parse(H("F9 00 03 5A 64 00 EE EE"))  # reserved bits set, stride, 2 extra bytes
    assert m == rsc.RscMeasurement(0x01, 0x0300, 90, 100, None)


@pytest.mark.parametrize("data,reason", [
    (H("07 00"), "needs at least 4"),
    (H("01 00 03 12 56"), "stride length"),
    (H("07 00 03 12 56 00 01 00"), "total distance"),
])
def test_rsc_malformed(data: bytes, reason: str) -> None:
    with pytest.raises(ParseError, match=reason):
        rsc.parse(data)


@pytest.mark.parametrize("convention,raw", [("per-leg", 85), ("steps", 170)])
def test_rsc_emulator_conventions(convention: rsc_emu.CadenceConvention, raw: int) -> None:
    pod = rsc_emu.RscPod(convention=convention)
    m = rsc.parse(pod.measurement(speed_mps=3.5, cadence_spm=170))
    assert (m.cadence_raw, m.speed_raw, m.running) == (raw, round(3.5 * 256), True)


# ---------------------------------------------------------------- Polar PMD
PMD_RAW = H("02 00 94 35 77 00 00 00 00 01") + H("F7 FF FF FF E7 03")
PMD_DELTA = H("02 00 94 35 77 00 00 00 00 81") + H("F1 FF 14 00 F0 03 06 01 7B 0F 08")


def test_pmd_golden_raw() -> None:
    frame = polar_pmd.parse_data(PMD_RAW)
    assert frame == polar_pmd.PmdFrame(2, 2_000_000_000, 1, False, ((-9, -1, 999),))
    assert frame.timestamp_unix_ns == 946_684_800 * 10**9 + 2_000_000_000
    assert pmd_emu.encode_raw(2_000_000_000, [(-9, -1, 999)]) == PMD_RAW


def test_pmd_golden_delta() -> None:
    frame = polar_pmd.parse_data(PMD_DELTA)
    assert frame == polar_pmd.PmdFrame(2, 2_000_000_000, 1, True,
                                       ((-15, 20, 1008), (-20, 17, 1008)))
    # The golden frame has a stray bit (0x08) in the 6 padding bits of its last byte; the
    # emulator pads with zeros, so the bytes match except for those padding bits.
    encoded = pmd_emu.encode_delta(2_000_000_000, frame.samples, bits=6)
    assert encoded[:-1] == PMD_DELTA[:-1]
    assert encoded[-1] == PMD_DELTA[-1] & 0b0000_0011
    assert polar_pmd.parse_data(encoded) == frame


def test_pmd_start_command_golden() -> None:
    assert polar_pmd.build_start(sample_rate_hz=200, resolution_bits=16, range_g=8) == \
        H("02 02 00 01 C8 00 01 01 10 00 02 01 08 00")


def test_pmd_control_responses() -> None:
    assert polar_pmd.parse_control(H("F0 02 02 00 00")) == \
        polar_pmd.PmdControlResponse(2, 2, 0, b"\x00")
    assert polar_pmd.parse_control(H("01 02")) == polar_pmd.PmdStreamStopped(b"\x02")
    with pytest.raises(ParseError, match="unknown control point"):
        polar_pmd.parse_control(H("77 00"))


def test_pmd_emulator_control_point() -> None:
    dev = pmd_emu.PolarAcc()
    cp = polar_pmd.CONTROL_POINT_UUID
    # start before enabling data notifications is refused, like the device
    [(_, answer)] = dev.on_write(cp, polar_pmd.build_start())
    assert polar_pmd.parse_control(answer) == polar_pmd.PmdControlResponse(2, 2, 5)
    dev.on_notify_enabled(polar_pmd.DATA_UUID)
    [(_, answer)] = dev.on_write(cp, polar_pmd.build_get_settings())
    resp = polar_pmd.parse_control(answer)
    assert isinstance(resp, polar_pmd.PmdControlResponse)
    assert polar_pmd.parse_settings(resp.params) == {0: (25, 50, 100, 200), 1: (16,),
                                                     2: (2, 4, 8)}
    [(_, answer)] = dev.on_write(cp, polar_pmd.build_start(sample_rate_hz=33))
    assert polar_pmd.parse_control(answer) == polar_pmd.PmdControlResponse(2, 2, 5)
    [(_, answer)] = dev.on_write(cp, polar_pmd.build_start())
    assert polar_pmd.parse_control(answer) == polar_pmd.PmdControlResponse(2, 2, 0, b"\x00")
    assert dev.streaming and dev.sample_rate_hz == 200 and dev.range_g == 8
    dev.on_write(cp, polar_pmd.build_stop())
    assert not dev.streaming


@pytest.mark.parametrize("frame_type", [0, 1, 2])
@given(samples=st.lists(st.tuples(*[st.integers(-100, 100)] * 3), min_size=1, max_size=300),
       compressed=st.booleans(), ts=st.integers(0, 2**64 - 1))
def test_pmd_emulator_round_trip(frame_type: int, samples: list[tuple[int, int, int]],
                                 compressed: bool, ts: int) -> None:
    lim = {0: 127, 1: 32767, 2: 2**23 - 1}[frame_type]
    samples = [(x * lim // 100, y * lim // 100, z * lim // 100) for x, y, z in samples]
    enc = pmd_emu.encode_delta if compressed else pmd_emu.encode_raw
    frame = polar_pmd.parse_data(enc(ts, samples, frame_type=frame_type))
    assert frame == polar_pmd.PmdFrame(2, ts, frame_type, compressed, tuple(samples))


@pytest.mark.parametrize("data,reason", [
    (H("02 00 94 35 77"), "shorter than the 10-byte header"),
    (H("02 00 94 35 77 00 00 00 00 05 00"), "unsupported frame type 0x05"),
    (H("02 00 94 35 77 00 00 00 00 01 F7 FF FF"), "not a whole number"),
    (H("02 00 94 35 77 00 00 00 00 01"), "no samples"),
    (H("02 00 94 35 77 00 00 00 00 81 F1 FF 14 00 F0 03 06 02 7B 0F 08"), "needs 5 bytes"),
    (H("02 00 94 35 77 00 00 00 00 81 F1 FF 14 00 F0 03 00 01 00"), "0 bits"),
    (H("02 00 94 35 77 00 00 00 00 81 F1 FF 14 00 F0 03 06"), "cut off"),
    (H("FF 00 94 35 77 00 00 00 00 01 F7 FF FF FF E7 03"), "measurement type 255"),
    (H("00 00 94 35 77 00 00 00 00 01 F7 FF FF FF E7 03"), "not the accelerometer"),  # ECG
])
def test_pmd_malformed(data: bytes, reason: str) -> None:
    with pytest.raises(ParseError, match=reason):
        polar_pmd.parse_data(data)


# ---------------------------------------------------------------- WitMotion
# hand-made: ax=+1 g (2048), ay=-0.5 g, az=+16 g rail, wz=+1000 °/s, yaw=+90°
WIT_FRAME = H("55 61 00 08 00 FC FF 7F 00 00 00 00 00 40 00 00 00 00 00 40")


def test_witmotion_hand_made_frame() -> None:
    frame = witmotion.parse(WIT_FRAME)
    assert frame == witmotion.WitFrame((2048, -1024, 32767), (0, 0, 16384), (0, 0, 16384))
    assert frame.acc_g == (1.0, -0.5, 32767 * 16 / 32768)
    assert frame.gyro_dps == (0.0, 0.0, 1000.0) and frame.angle_deg == (0.0, 0.0, 90.0)
    assert frame.clipped
    assert wit_emu.encode_frame(frame) == WIT_FRAME


def test_witmotion_stream_resyncs_across_split_and_garbage() -> None:
    stream = witmotion.WitStream()
    data = H("00 13 55") + WIT_FRAME + WIT_FRAME[:7]
    frames, skipped = stream.feed(data)
    assert (frames, skipped) == ([witmotion.parse(WIT_FRAME)], 3)
    frames, skipped = stream.feed(WIT_FRAME[7:] + H("55"))
    assert (len(frames), skipped) == (1, 0)
    frames, skipped = stream.feed(H("61") + bytes(18))  # 55 | 61 split across notifications
    assert (len(frames), skipped) == (1, 0)
    assert stream.skipped_bytes == 3


def test_witmotion_rate_commands() -> None:
    assert witmotion.build_rate_command(200) == H("FF AA 03 0A 00")
    imu = wit_emu.WitMotionImu()
    imu.on_write(witmotion.WRITE_UUID, witmotion.build_rate_command(200))
    assert imu.rate_hz == 10  # locked
    for cmd in (witmotion.CMD_UNLOCK, witmotion.build_rate_command(200), witmotion.CMD_SAVE):
        imu.on_write(witmotion.WRITE_UUID, cmd)
    assert imu.rate_hz == imu.saved_rate_hz == 200


@given(acc=st.lists(st.tuples(*[st.integers(-32768, 32767)] * 9), min_size=1, max_size=20),
       sizes=st.lists(st.integers(1, 45), min_size=1, max_size=5))
def test_witmotion_round_trip_any_split(acc: list[tuple[int, ...]], sizes: list[int]) -> None:
    stream_bytes = b"".join(wit_emu.encode(v[0:3], v[3:6], v[6:9]) for v in acc)
    stream = witmotion.WitStream()
    got: list[witmotion.WitFrame] = []
    for part in wit_emu.chunk(stream_bytes, sizes):
        frames, _ = stream.feed(part)
        got += frames
    want = [witmotion.WitFrame(v[0:3], v[3:6], v[6:9]) for v in acc]  # type: ignore[arg-type]
    # a payload that itself contains 55 61 can only confuse resync after garbage, not here
    assert got == want


# ---------------------------------------------------------------- Movesense
def test_movesense_hand_made_data() -> None:
    data = H("02 05 E8 03 00 00") + H("00 00 80 3F 00 00 00 C0 66 E6 1C 41")
    msg = movesense.parse(data)
    assert msg == movesense.GspMessage(2, 5, data[2:])
    # 66 E6 1C 41 is the float32 nearest 9.80625
    assert movesense.parse_acc(msg.payload) == \
        movesense.AccData(1000, ((1.0, -2.0, 9.806249618530273),))
    assert ms_emu.encode_data(5, 1000, movesense.parse_acc(msg.payload).samples) == [data]


def test_movesense_subscribe_and_result() -> None:
    dev = ms_emu.MovesenseImu()
    w = movesense.WRITE_UUID
    [(_, answer)] = dev.on_write(w, movesense.build_subscribe(7, "/Meas/Acc/208"))
    msg = movesense.parse(answer)
    assert (msg.type, msg.ref, msg.status) == (movesense.MSG_RESULT, 7, 200)
    [(_, answer)] = dev.on_write(w, movesense.build_subscribe(8, "/Meas/Acc/7"))
    assert movesense.parse(answer).status == 404
    assert dev.subscriptions == {7: "/Meas/Acc/208"}


@given(samples=st.lists(st.tuples(*[st.floats(-156.0, 156.0, width=32)] * 3), min_size=1,
                        max_size=38),
       ts=st.integers(0, 2**32 - 1))
def test_movesense_round_trip_with_part2(samples: list[tuple[float, float, float]],
                                         ts: int) -> None:
    assembler = movesense.GspAssembler()
    done: list[tuple[int, bytes]] = []
    for part in ms_emu.encode_data(3, ts, samples):
        got, errors = assembler.feed(movesense.parse(part))
        assert not errors
        done += got
    assert len(done) == 1 and done[0][0] == 3
    assert movesense.parse_acc(done[0][1]) == movesense.AccData(ts, tuple(samples))


def test_movesense_orphan_part2_is_reported() -> None:
    _, errors = movesense.GspAssembler().feed(movesense.GspMessage(3, 1, b"\x00"))
    assert errors == ["DATA_PART2 for reference 1 without its first part"]


# ---------------------------------------------------------------- footfall open frame
# the byte-level example of docs/open-imu.md
OPEN_EXAMPLE = H(
    "01 00 2A 00 40 42 0F 00 C8 00 10 02 00 00"
    " 00 08 00 00 00 00"
    " 00 F8 FF 7F 00 80"
)


def test_open_frame_doc_example() -> None:
    frame = footfall_open.parse(OPEN_EXAMPLE)
    assert frame == footfall_open.OpenFrame(seq=42, t_us=1_000_000, sample_rate_hz=200,
                                            accel_range_g=16, gyro_range_dps=0,
                                            samples=((2048, 0, 0), (-2048, 32767, -32768)))
    assert ffo_emu.encode_frame(frame) == OPEN_EXAMPLE


@given(n=st.integers(1, 19), gyro=st.booleans(), seq=st.integers(0, 2**16 - 1),
       t=st.integers(0, 2**32 - 1), data=st.data())
def test_open_frame_round_trip(n: int, gyro: bool, seq: int, t: int, data: st.DataObject) -> None:
    ch = 6 if gyro else 3
    samples = tuple(tuple(data.draw(st.integers(-32768, 32767)) for _ in range(ch))
                    for _ in range(n))
    frame = footfall_open.OpenFrame(seq, t, 400, 32, 2000 if gyro else 0, samples)
    assert footfall_open.parse(ffo_emu.encode_frame(frame)) == frame


def test_open_emulator_counters_wrap() -> None:
    imu = ffo_emu.OpenImu(seq=65535, t0_us=2**32 - 5000, sample_rate_hz=200)
    first = footfall_open.parse(imu.frame([(1, 2, 3)]))
    second = footfall_open.parse(imu.frame([(4, 5, 6)]))
    assert (first.seq, first.t_us) == (65535, 2**32 - 5000)
    assert (second.seq, second.t_us) == (0, 0)


@pytest.mark.parametrize("data,reason", [
    (OPEN_EXAMPLE[:10], "shorter than the 14-byte header"),
    (b"\x02" + OPEN_EXAMPLE[1:], "frame version 2"),
    (OPEN_EXAMPLE[:1] + b"\x80" + OPEN_EXAMPLE[2:], "reserved flag bits"),
    (OPEN_EXAMPLE[:-1], "the header announces 26"),
    (OPEN_EXAMPLE[:8] + b"\x00\x00" + OPEN_EXAMPLE[10:], "sample rate is 0"),
])
def test_open_frame_malformed(data: bytes, reason: str) -> None:
    with pytest.raises(ParseError, match=reason):
        footfall_open.parse(data)


@given(flags=st.integers(0, 7), speed=st.integers(0, 0xFFFF), cadence=st.integers(0, 255),
       stride=st.integers(0, 0xFFFF), distance=st.integers(0, 0xFFFFFFFF))
def test_rsc_round_trip(flags: int, speed: int, cadence: int, stride: int, distance: int) -> None:
    m = rsc.RscMeasurement(flags, speed, cadence,
                           stride if flags & rsc.FLAG_STRIDE else None,
                           distance if flags & rsc.FLAG_DISTANCE else None)
    assert rsc.parse(rsc_emu.encode(m)) == m
