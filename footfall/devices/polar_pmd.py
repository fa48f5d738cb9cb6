"""Polar Measurement Data (PMD) service: H10 and Verity Sense accelerometer.

Control point (read/write/indicate): commands ``01 <type>`` get settings, ``02 <type> <TLV>``
start, ``03 <type>`` stop; answers ``F0 <opcode> <type> <status> [params]`` (status 0 = OK).
Data (notify): measurement type u8, u64 timestamp (ns since 2000-01-01, of the **last** sample),
frame-type u8 (bit 7 = delta compressed, bits 0-6 = sample width: 0 int8, 1 int16, 2 int24),
then samples. Accelerometer values are milli-g.

Delta frames: one reference sample, then blocks ``[bits u8][count u8]`` followed by
``ceil(bits * count * 3 / 8)`` bytes of deltas packed LSB first and sign-extended; each sample is
the previous one plus its delta.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from footfall.devices.errors import ParseError

PROFILE = "polar-pmd"
SERVICE_UUID = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
CONTROL_POINT_UUID = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
DATA_UUID = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"

MEASUREMENT_ACC = 2
OP_GET_SETTINGS = 1
OP_START = 2
OP_STOP = 3
RESPONSE = 0xF0
UNSOLICITED_STOPPED = 0x01
SETTING_SAMPLE_RATE = 0
SETTING_RESOLUTION = 1
SETTING_RANGE = 2
#: 2000-01-01T00:00:00Z as ns since the Unix epoch
EPOCH_2000_NS = 946_684_800 * 1_000_000_000
CHANNELS = 3
MAX_DELTA_BITS = 32

_HEADER = struct.Struct("<BQB")
_SAMPLE_WIDTHS = {0: 1, 1: 2, 2: 3}  # frame type (bits 0-6) -> bytes per channel
_CONTROL = struct.Struct("<BBBB")

Sample = tuple[int, int, int]

#: what a Polar H10's accelerometer offers (Polar BLE SDK)
H10_RATES_HZ = (25, 50, 100, 200)
H10_RANGES_G = (2, 4, 8)


@dataclass(frozen=True, slots=True)
class PmdFrame:
    """One PMD data notification."""

    measurement_type: int
    timestamp_ns: int  # device clock, ns since 2000-01-01, of the LAST sample
    frame_type: int  # bits 0-6 of the frame-type byte
    compressed: bool
    samples: tuple[Sample, ...]  # milli-g for ACC

    @property
    def timestamp_unix_ns(self) -> int:
        return self.timestamp_ns + EPOCH_2000_NS


@dataclass(frozen=True, slots=True)
class PmdControlResponse:
    """``F0 <opcode> <type> <status> [params]``: the answer to a control point command."""

    opcode: int
    measurement_type: int
    status: int
    params: bytes = b""

    @property
    def ok(self) -> bool:
        return self.status == 0


@dataclass(frozen=True, slots=True)
class PmdStreamStopped:
    """An unsolicited ``01 …`` on the control point: the device stopped a stream on its own."""

    payload: bytes


def _sign_extend(value: int, bits: int) -> int:
    return value - (1 << bits) if value & (1 << (bits - 1)) else value


def parse_data(data: bytes | bytearray | memoryview) -> PmdFrame:
    """Decode one data-characteristic notification; raises :class:`ParseError`."""
    data = bytes(data)
    if len(data) < _HEADER.size:
        raise ParseError(PROFILE, f"{len(data)} bytes is shorter than the 10-byte header")
    mtype, ts, ftype_byte = _HEADER.unpack_from(data)
    if mtype != MEASUREMENT_ACC:  # ECG, PPG, gyro… have other layouts: never read as g
        raise ParseError(PROFILE, f"measurement type {mtype} (0x{mtype:02X}) is not the "
                                  f"accelerometer ({MEASUREMENT_ACC})")
    compressed = bool(ftype_byte & 0x80)
    ftype = ftype_byte & 0x7F
    width = _SAMPLE_WIDTHS.get(ftype)
    if width is None:
        raise ParseError(PROFILE, f"unsupported frame type 0x{ftype_byte:02X}")
    body = data[_HEADER.size:]
    samples = _parse_delta(body, width) if compressed else _parse_raw(body, width)
    if not samples:
        raise ParseError(PROFILE, "frame holds no samples")
    return PmdFrame(mtype, ts, ftype, compressed, samples)


def _read_sample(body: bytes, offset: int, width: int) -> Sample:
    x, y, z = (
        int.from_bytes(body[offset + i * width: offset + (i + 1) * width], "little", signed=True)
        for i in range(CHANNELS)
    )
    return (x, y, z)


def _parse_raw(body: bytes, width: int) -> tuple[Sample, ...]:
    step = width * CHANNELS
    if len(body) % step:
        raise ParseError(PROFILE, f"raw payload of {len(body)} bytes is not a whole number of "
                                  f"{step}-byte samples")
    return tuple(_read_sample(body, off, width) for off in range(0, len(body), step))


def _parse_delta(body: bytes, width: int) -> tuple[Sample, ...]:
    ref_size = width * CHANNELS
    if len(body) < ref_size:
        raise ParseError(PROFILE, "delta frame is shorter than its reference sample")
    current = list(_read_sample(body, 0, width))
    samples: list[Sample] = [(current[0], current[1], current[2])]
    offset = ref_size
    while offset < len(body):
        if offset + 2 > len(body):
            raise ParseError(PROFILE, f"delta block header cut off at byte {offset}")
        bits, count = body[offset], body[offset + 1]
        offset += 2
        if not 1 <= bits <= MAX_DELTA_BITS:
            raise ParseError(PROFILE, f"delta block with {bits} bits per value")
        if count == 0:
            raise ParseError(PROFILE, "delta block with 0 samples")
        nbytes = (bits * count * CHANNELS + 7) // 8
        if offset + nbytes > len(body):
            raise ParseError(PROFILE, f"delta block needs {nbytes} bytes, "
                                      f"{len(body) - offset} left")
        stream = int.from_bytes(body[offset: offset + nbytes], "little")
        offset += nbytes
        mask = (1 << bits) - 1
        shift = 0
        for _ in range(count):
            for ch in range(CHANNELS):
                current[ch] += _sign_extend((stream >> shift) & mask, bits)
                shift += bits
            samples.append((current[0], current[1], current[2]))
    return tuple(samples)


def parse_control(data: bytes | bytearray | memoryview) -> PmdControlResponse | PmdStreamStopped:
    """Decode a control point indication; raises :class:`ParseError`."""
    data = bytes(data)
    if not data:
        raise ParseError(PROFILE, "empty control point message")
    if data[0] == UNSOLICITED_STOPPED:
        return PmdStreamStopped(data[1:])
    if data[0] != RESPONSE:
        raise ParseError(PROFILE, f"unknown control point message 0x{data[0]:02X}")
    if len(data) < _CONTROL.size:
        raise ParseError(PROFILE, f"control response of {len(data)} bytes, needs 4")
    _, opcode, mtype, status = _CONTROL.unpack_from(data)
    return PmdControlResponse(opcode, mtype, status, data[_CONTROL.size:])


def parse_settings(params: bytes) -> dict[int, tuple[int, ...]]:
    """Settings TLV ``[setting u8][count u8][count × u16]`` → {setting: values}."""
    out: dict[int, tuple[int, ...]] = {}
    offset = 0
    while offset < len(params):
        if offset + 2 > len(params):
            raise ParseError(PROFILE, "settings TLV cut off in a header")
        setting, count = params[offset], params[offset + 1]
        offset += 2
        end = offset + 2 * count
        if end > len(params):
            raise ParseError(PROFILE, f"settings TLV for setting {setting} cut off")
        out[setting] = tuple(struct.unpack_from(f"<{count}H", params, offset))
        offset = end
    return out


def build_settings(settings: dict[int, int]) -> bytes:
    """Encode single-valued settings as TLV, in setting-id order."""
    return b"".join(struct.pack("<BBH", k, 1, v) for k, v in sorted(settings.items()))


def build_start(
    measurement_type: int = MEASUREMENT_ACC,
    *,
    sample_rate_hz: int = 200,
    resolution_bits: int = 16,
    range_g: int = 8,
) -> bytes:
    """The start command.

    H10 ACC 200 Hz, 16 bit, ±8 g is ``02 02 00 01 C8 00 01 01 10 00 02 01 08 00``.
    """
    tlv = build_settings({SETTING_SAMPLE_RATE: sample_rate_hz, SETTING_RESOLUTION: resolution_bits,
                          SETTING_RANGE: range_g})
    return bytes([OP_START, measurement_type]) + tlv


def build_stop(measurement_type: int = MEASUREMENT_ACC) -> bytes:
    return bytes([OP_STOP, measurement_type])


def build_get_settings(measurement_type: int = MEASUREMENT_ACC) -> bytes:
    return bytes([OP_GET_SETTINGS, measurement_type])


def to_dict(frame: PmdFrame) -> dict[str, object]:
    return {
        "profile": PROFILE,
        "measurement_type": frame.measurement_type,
        "timestamp_ns": frame.timestamp_ns,
        "timestamp_unix_ns": frame.timestamp_unix_ns,
        "frame_type": frame.frame_type,
        "compressed": frame.compressed,
        "n_samples": len(frame.samples),
        "samples_mg": [list(s) for s in frame.samples],
    }
