"""Running Speed and Cadence (any brand of foot pod): service 0x1814, measurement 0x2A53.

Layout (little-endian): flags u8, speed u16 (1/256 m/s), cadence u8 (1/min), then stride length
u16 (1/100 m) if flag bit 0, total distance u32 (1/10 m) if flag bit 1; flag bit 2 = running.
Flags are masked with ``& 0x07``: some pods set reserved bits and append bytes; both are ignored.
The cadence is whatever the pod sends (per-leg or steps/min): converting it is the gateway's job.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from footfall.devices.errors import ParseError

PROFILE = "rsc"
SERVICE_UUID = "00001814-0000-1000-8000-00805f9b34fb"
MEASUREMENT_UUID = "00002a53-0000-1000-8000-00805f9b34fb"
FEATURE_UUID = "00002a54-0000-1000-8000-00805f9b34fb"
SENSOR_LOCATION_UUID = "00002a5d-0000-1000-8000-00805f9b34fb"

FLAG_STRIDE = 0x01
FLAG_DISTANCE = 0x02
FLAG_RUNNING = 0x04
FLAGS_MASK = 0x07

_BASE = struct.Struct("<BHB")
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")


@dataclass(frozen=True, slots=True)
class RscMeasurement:
    """One RSC measurement with raw integer fields; the properties give SI units."""

    flags: int
    speed_raw: int  # 1/256 m/s
    cadence_raw: int  # 1/min, per-leg or steps/min depending on the pod
    stride_length_raw: int | None = None  # 1/100 m
    total_distance_raw: int | None = None  # 1/10 m

    @property
    def running(self) -> bool:
        return bool(self.flags & FLAG_RUNNING)

    @property
    def speed_mps(self) -> float:
        return self.speed_raw / 256.0

    @property
    def stride_length_m(self) -> float | None:
        return None if self.stride_length_raw is None else self.stride_length_raw / 100.0

    @property
    def total_distance_m(self) -> float | None:
        return None if self.total_distance_raw is None else self.total_distance_raw / 10.0


def parse(data: bytes | bytearray | memoryview) -> RscMeasurement:
    """Decode one RSC Measurement notification; raises :class:`ParseError`."""
    if len(data) < _BASE.size:
        raise ParseError(PROFILE, f"{len(data)} bytes, a measurement needs at least {_BASE.size}")
    flags, speed, cadence = _BASE.unpack_from(data)
    flags &= FLAGS_MASK
    offset = _BASE.size
    stride = distance = None
    if flags & FLAG_STRIDE:
        if len(data) < offset + 2:
            raise ParseError(PROFILE, "flags announce a stride length but the packet ends")
        (stride,) = _U16.unpack_from(data, offset)
        offset += 2
    if flags & FLAG_DISTANCE:
        if len(data) < offset + 4:
            raise ParseError(PROFILE, "flags announce a total distance but the packet ends")
        (distance,) = _U32.unpack_from(data, offset)
    return RscMeasurement(flags, speed, cadence, stride, distance)


#: a pod's odometer beyond this is not a distance anyone ran (or its bytes are arbitrary, as
#: in the Bluetooth SIG / Nordic test vector)
PLAUSIBLE_DISTANCE_M = 100_000.0


def to_dict(m: RscMeasurement) -> dict[str, object]:
    notes: list[str] = []
    cadence = m.cadence_raw
    if 0 < cadence < 60:
        notes.append(f"cadence {cadence}/min is no running cadence (walking, or arbitrary "
                     "bytes)")
    elif 60 <= cadence < 120:
        notes.append(f"cadence {cadence}/min is per leg (strides): {2 * cadence} steps/min; "
                     "footfall ingest's cadence=auto doubles it")
    distance = m.total_distance_m
    if distance is not None and distance > PLAUSIBLE_DISTANCE_M:
        notes.append(f"total_distance_m {distance / 1000:,.0f} km is beyond any real run: the "
                     "pod's odometer never reset, or these bytes are arbitrary (the Nordic "
                     "test vector's are)")
    return {
        "notes": notes,
        "profile": PROFILE,
        "flags": m.flags,
        "running": m.running,
        "speed_raw": m.speed_raw,
        "speed_mps": m.speed_mps,
        "cadence_raw": m.cadence_raw,
        "stride_length_raw": m.stride_length_raw,
        "stride_length_m": m.stride_length_m,
        "total_distance_raw": m.total_distance_raw,
        "total_distance_m": m.total_distance_m,
    }
