"""Running Speed and Cadence foot pod emulator, with either cadence convention."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Literal

from footfall.devices import rsc
from footfall.simulators.devices.base import Notification

CadenceConvention = Literal["per-leg", "steps"]


def encode_raw(flags: int, speed_raw: int, cadence_raw: int, stride_length_raw: int | None = None,
               total_distance_raw: int | None = None) -> bytes:
    """Inverse of :func:`footfall.devices.rsc.parse` on raw fields."""
    if stride_length_raw is not None:
        flags |= rsc.FLAG_STRIDE
    if total_distance_raw is not None:
        flags |= rsc.FLAG_DISTANCE
    out = struct.pack("<BHB", flags, speed_raw, cadence_raw)
    if stride_length_raw is not None:
        out += struct.pack("<H", stride_length_raw)
    if total_distance_raw is not None:
        out += struct.pack("<I", total_distance_raw)
    return out


def encode(m: rsc.RscMeasurement) -> bytes:
    return encode_raw(m.flags, m.speed_raw, m.cadence_raw, m.stride_length_raw,
                      m.total_distance_raw)


@dataclass
class RscPod:
    """A foot pod: no start command, measurements flow once notifications are enabled."""

    name: str = "FootPod"
    convention: CadenceConvention = "per-leg"
    report_stride: bool = True
    profile: str = rsc.PROFILE
    _notifying: bool = False
    total_distance_dm: int = 0

    @property
    def streaming(self) -> bool:
        return self._notifying

    def on_write(self, char_uuid: str, data: bytes) -> list[Notification]:
        return []

    def on_read(self, char_uuid: str) -> bytes:
        if char_uuid == rsc.FEATURE_UUID:
            return struct.pack("<H", 0b00111)  # stride, distance, running status
        if char_uuid == rsc.SENSOR_LOCATION_UUID:
            return bytes([7])  # "in shoe"
        return b""

    def on_notify_enabled(self, char_uuid: str) -> None:
        if char_uuid == rsc.MEASUREMENT_UUID:
            self._notifying = True

    def on_disconnect(self) -> None:
        self._notifying = False

    def measurement(self, *, speed_mps: float, cadence_spm: float, running: bool = True,
                    interval_s: float = 1.0) -> bytes:
        """The notification for a runner at ``cadence_spm`` steps/min, in the pod's convention."""
        cadence = cadence_spm / 2 if self.convention == "per-leg" else cadence_spm
        speed_raw = max(0, min(0xFFFF, round(speed_mps * 256)))
        self.total_distance_dm += round(speed_mps * interval_s * 10)
        stride = None
        if self.report_stride and cadence_spm > 0:
            stride = max(0, min(0xFFFF, round(speed_mps * 60 / cadence_spm * 2 * 100)))
        return encode_raw(rsc.FLAG_RUNNING if running else 0, speed_raw,
                          max(0, min(255, round(cadence))), stride,
                          self.total_distance_dm & 0xFFFFFFFF)
