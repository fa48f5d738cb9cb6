"""footfall's open IMU frame over BLE, for DIY firmware (ESP32, nRF52) and the simulator.

The full specification, with a byte-level example, is docs/open-imu.md. Header (14 bytes,
little-endian): version u8 (=1), flags u8 (bit 0: gyro present), seq u16 (per notification,
wraps), t_us u32 (sensor time of the first sample, µs, wraps), sample_rate_hz u16,
accel_range_g u8, n_samples u8, gyro_range_dps u16; then n_samples × (3 or 6) × int16.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from footfall.devices.errors import ParseError

PROFILE = "footfall"
SERVICE_UUID = "f007fa11-0001-4a6e-8d7c-5b9e3a2f6c01"
DATA_UUID = "f007fa11-0002-4a6e-8d7c-5b9e3a2f6c01"  # notify
CONTROL_UUID = "f007fa11-0003-4a6e-8d7c-5b9e3a2f6c01"  # write with response

VERSION = 1
FLAG_GYRO = 0x01
KNOWN_FLAGS = FLAG_GYRO
SEQ_MODULUS = 1 << 16
TIME_MODULUS = 1 << 32
CMD_START = 0x01
CMD_STOP = 0x02

HEADER = struct.Struct("<BBHIHBBH")
HEADER_SIZE = HEADER.size  # 14

Sample = tuple[int, ...]


@dataclass(frozen=True, slots=True)
class OpenFrame:
    seq: int
    t_us: int
    sample_rate_hz: int
    accel_range_g: int
    gyro_range_dps: int
    samples: tuple[Sample, ...]  # int16 counts, (ax, ay, az[, gx, gy, gz]) each

    @property
    def channels(self) -> int:
        return len(self.samples[0]) if self.samples else 3


def parse(data: bytes | bytearray | memoryview) -> OpenFrame:
    """Decode one notification; raises :class:`ParseError`."""
    data = bytes(data)
    if len(data) < HEADER_SIZE:
        raise ParseError(PROFILE, f"{len(data)} bytes is shorter than the {HEADER_SIZE}-byte "
                                  "header")
    version, flags, seq, t_us, rate, range_g, n, gyro_dps = HEADER.unpack_from(data)
    if version != VERSION:
        raise ParseError(PROFILE, f"frame version {version}, this build reads {VERSION}")
    if flags & ~KNOWN_FLAGS:
        raise ParseError(PROFILE, f"reserved flag bits set (0x{flags:02X})")
    if rate == 0:
        raise ParseError(PROFILE, "sample rate is 0")
    if range_g == 0:
        raise ParseError(PROFILE, "accelerometer full-scale range is 0")
    channels = 6 if flags & FLAG_GYRO else 3
    if channels == 6 and gyro_dps == 0:
        raise ParseError(PROFILE, "gyro present but its full-scale range is 0")
    if n == 0:
        raise ParseError(PROFILE, "frame holds no samples")
    expected = HEADER_SIZE + 2 * channels * n
    if len(data) != expected:
        raise ParseError(PROFILE, f"{len(data)} bytes, the header announces {expected}")
    values = struct.unpack_from(f"<{n * channels}h", data, HEADER_SIZE)
    samples = tuple(values[i: i + channels] for i in range(0, len(values), channels))
    return OpenFrame(seq, t_us, rate, range_g, gyro_dps if channels == 6 else 0, samples)


def build_start() -> bytes:
    return bytes([CMD_START])


def build_stop() -> bytes:
    return bytes([CMD_STOP])


def to_dict(frame: OpenFrame) -> dict[str, object]:
    return {
        "profile": PROFILE,
        "seq": frame.seq,
        "t_us": frame.t_us,
        "sample_rate_hz": frame.sample_rate_hz,
        "accel_range_g": frame.accel_range_g,
        "gyro_range_dps": frame.gyro_range_dps,
        "channels": frame.channels,
        "n_samples": len(frame.samples),
        "samples": [list(s) for s in frame.samples],
    }
