"""WitMotion WT901BLECL / BWT901BLE5.0: frames ``55 61`` + 9 × int16 (acc, gyro, angle).

acc = raw/32768·16 g, gyro = raw/32768·2000 °/s, angle = raw/32768·180°. 20 bytes, no checksum,
no counter and no timestamp. The notify stream is treated as a byte stream that may split or
join frames: :class:`WitStream` resynchronises on ``55 61`` and reports every skipped byte.
Write characteristic commands: unlock ``FF AA 69 88 B5``, rate ``FF AA 03 <code> 00``,
save ``FF AA 00 00 00``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from footfall.core.errors import SettingError
from footfall.devices.errors import ParseError

PROFILE = "witmotion"
# the vendor's non-standard base ...9a34fb: always use the full 128-bit strings
SERVICE_UUID = "0000ffe5-0000-1000-8000-00805f9a34fb"
NOTIFY_UUID = "0000ffe4-0000-1000-8000-00805f9a34fb"
WRITE_UUID = "0000ffe9-0000-1000-8000-00805f9a34fb"

HEADER = b"\x55\x61"
FRAME_SIZE = 20
ACC_RANGE_G = 16
GYRO_RANGE_DPS = 2000
ANGLE_RANGE_DEG = 180
FULL_SCALE = 32768
RAIL_LOW, RAIL_HIGH = -32768, 32767

CMD_UNLOCK = bytes.fromhex("FFAA6988B5")
CMD_SAVE = bytes.fromhex("FFAA000000")
REG_RATE = 0x03
#: rate register codes, Hz -> code; 200 Hz = 0x0A as in ``FF AA 03 0A 00`` (ble-protocols.md).
#: The lower codes follow the WitMotion manual; whether 200 notifications/s really arrive over
#: BLE is unconfirmed, so the gateway measures the rate it gets instead of trusting this one.
RATE_CODES: dict[float, int] = {0.2: 0x01, 0.5: 0x02, 1: 0x03, 2: 0x04, 5: 0x05, 10: 0x06,
                                20: 0x07, 50: 0x08, 100: 0x09, 200: 0x0A}

_FRAME = struct.Struct("<2s9h")

Triple = tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class WitFrame:
    """One ``55 61`` frame, raw int16 counts."""

    acc_raw: Triple
    gyro_raw: Triple
    angle_raw: Triple

    @property
    def acc_g(self) -> tuple[float, float, float]:
        x, y, z = (v * ACC_RANGE_G / FULL_SCALE for v in self.acc_raw)
        return (x, y, z)

    @property
    def gyro_dps(self) -> tuple[float, float, float]:
        x, y, z = (v * GYRO_RANGE_DPS / FULL_SCALE for v in self.gyro_raw)
        return (x, y, z)

    @property
    def angle_deg(self) -> tuple[float, float, float]:
        x, y, z = (v * ANGLE_RANGE_DEG / FULL_SCALE for v in self.angle_raw)
        return (x, y, z)

    @property
    def clipped(self) -> bool:
        """An accelerometer axis sits at the ±16 g rail (tibial peaks clip on this sensor)."""
        return any(v in (RAIL_LOW, RAIL_HIGH) for v in self.acc_raw)


def parse(data: bytes | bytearray | memoryview) -> WitFrame:
    """Decode exactly one 20-byte frame; raises :class:`ParseError`."""
    if len(data) != FRAME_SIZE:
        raise ParseError(PROFILE, f"a frame is {FRAME_SIZE} bytes, got {len(data)}")
    header, *v = _FRAME.unpack_from(data)
    if header != HEADER:
        raise ParseError(PROFILE, f"frame starts with {bytes(header).hex(' ')}, not 55 61")
    return WitFrame((v[0], v[1], v[2]), (v[3], v[4], v[5]), (v[6], v[7], v[8]))


@dataclass
class WitStream:
    """Split a notification byte stream into frames; bytes outside a frame are skipped.

    Rule: search for ``55 61``; bytes before it are skipped (counted in ``skipped_bytes``);
    a partial frame at the end waits for the next notification. With no checksum, a false
    ``55 61`` inside garbage can still be taken for a header: WitMotion gives no way to tell.
    """

    buffer: bytearray = field(default_factory=bytearray)
    skipped_bytes: int = 0

    def feed(self, data: bytes | bytearray | memoryview) -> tuple[list[WitFrame], int]:
        """Append bytes; return the complete frames and how many bytes were skipped now."""
        self.buffer += data
        frames: list[WitFrame] = []
        skipped = 0
        while True:
            start = self.buffer.find(HEADER)
            if start < 0:
                # keep a trailing 0x55: it may be the first half of a header
                keep = 1 if self.buffer.endswith(b"\x55") else 0
                skipped += len(self.buffer) - keep
                del self.buffer[: len(self.buffer) - keep]
                break
            if start:
                skipped += start
                del self.buffer[:start]
            if len(self.buffer) < FRAME_SIZE:
                break
            frames.append(parse(bytes(self.buffer[:FRAME_SIZE])))
            del self.buffer[:FRAME_SIZE]
        self.skipped_bytes += skipped
        return frames, skipped


def split(data: bytes) -> list[WitFrame]:
    """Decode a capture holding whole frames only; raises :class:`ParseError` otherwise."""
    stream = WitStream()
    frames, skipped = stream.feed(data)
    if skipped or stream.buffer:
        raise ParseError(PROFILE, f"{skipped} bytes outside frames, {len(stream.buffer)} bytes "
                                  "of an unfinished frame")
    if not frames:
        raise ParseError(PROFILE, "no 55 61 frame found")
    return frames


def build_rate_command(rate_hz: float) -> bytes:
    code = RATE_CODES.get(rate_hz)
    if code is None:
        raise SettingError(f"WitMotion has no output rate {rate_hz} Hz; choose from "
                         f"{sorted(RATE_CODES)}")
    return bytes([0xFF, 0xAA, REG_RATE, code, 0x00])


def to_dict(frame: WitFrame) -> dict[str, object]:
    return {
        "profile": PROFILE,
        "acc_raw": list(frame.acc_raw),
        "gyro_raw": list(frame.gyro_raw),
        "angle_raw": list(frame.angle_raw),
        "acc_g": list(frame.acc_g),
        "gyro_dps": list(frame.gyro_dps),
        "angle_deg": list(frame.angle_deg),
        "clipped": frame.clipped,
    }
