"""Emulator of footfall's open IMU frame (docs/open-imu.md): what DIY firmware should send."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

from footfall.devices import footfall_open as ffo
from footfall.simulators.devices.base import Notification


def encode(seq: int, t_us: int, sample_rate_hz: int, accel_range_g: int,
           samples: Sequence[Sequence[int]], gyro_range_dps: int = 0) -> bytes:
    """One notification; samples are int16 counts, 3 (accel) or 6 (accel + gyro) per sample."""
    channels = len(samples[0])
    flags = ffo.FLAG_GYRO if channels == 6 else 0
    header = ffo.HEADER.pack(ffo.VERSION, flags, seq % ffo.SEQ_MODULUS, t_us % ffo.TIME_MODULUS,
                             sample_rate_hz, accel_range_g, len(samples),
                             gyro_range_dps if channels == 6 else 0)
    flat = [int(v) for s in samples for v in s]
    return header + struct.pack(f"<{len(flat)}h", *flat)


def encode_frame(frame: ffo.OpenFrame) -> bytes:
    return encode(frame.seq, frame.t_us, frame.sample_rate_hz, frame.accel_range_g,
                  frame.samples, frame.gyro_range_dps)


@dataclass
class OpenImu:
    """A board running the open-frame firmware: streams after ``01`` on the control point.

    ``seq`` and ``t_us`` keep counting while disconnected (the board keeps sampling), so
    notifications sent while the link is down are lost exactly like on a real board.
    """

    name: str = "footfall-imu-0001"
    sample_rate_hz: int = 200
    accel_range_g: int = 16
    gyro_range_dps: int = 0
    profile: str = ffo.PROFILE
    seq: int = 0
    t0_us: int = 0
    sample_index: int = 0
    started: bool = False
    notifying: bool = False
    commands: list[bytes] = field(default_factory=list)

    @property
    def streaming(self) -> bool:
        return self.started and self.notifying

    def on_notify_enabled(self, char_uuid: str) -> None:
        if char_uuid == ffo.DATA_UUID:
            self.notifying = True

    def on_read(self, char_uuid: str) -> bytes:
        return b""

    def on_disconnect(self) -> None:
        self.started = False
        self.notifying = False

    def on_write(self, char_uuid: str, data: bytes) -> list[Notification]:
        if char_uuid == ffo.CONTROL_UUID and data:
            self.commands.append(bytes(data))
            if data[0] == ffo.CMD_START:
                self.started = True
            elif data[0] == ffo.CMD_STOP:
                self.started = False
        return []

    def frame(self, samples: Sequence[Sequence[int]]) -> bytes:
        """Encode the next frame and advance seq and the sensor clock (wrapping like firmware)."""
        data = encode(self.seq, self.t_us, self.sample_rate_hz, self.accel_range_g, samples,
                      self.gyro_range_dps)
        self.seq = (self.seq + 1) % ffo.SEQ_MODULUS
        self.sample_index += len(samples)
        return data

    @property
    def t_us(self) -> int:
        """Sensor time of the next sample, µs, wrapping at 2**32 like the firmware's counter."""
        return (self.t0_us + round(self.sample_index * 1e6 / self.sample_rate_hz)) \
            % ffo.TIME_MODULUS
