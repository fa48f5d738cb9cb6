"""WitMotion WT901BLE emulator: ``55 61`` frames and the unlock/rate/save register writes."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

from footfall.devices import witmotion as wit
from footfall.simulators.devices.base import Notification

Triple = tuple[int, int, int]
DEFAULT_RATE_HZ = 10.0
_CODE_TO_RATE = {code: rate for rate, code in wit.RATE_CODES.items()}


def encode(acc_raw: Sequence[int], gyro_raw: Sequence[int] = (0, 0, 0),
           angle_raw: Sequence[int] = (0, 0, 0)) -> bytes:
    """Inverse of :func:`footfall.devices.witmotion.parse`."""
    return struct.pack("<2s9h", wit.HEADER, *acc_raw, *gyro_raw, *angle_raw)


def encode_frame(frame: wit.WitFrame) -> bytes:
    return encode(frame.acc_raw, frame.gyro_raw, frame.angle_raw)


@dataclass
class WitMotionImu:
    """Streams as soon as notifications are on (10 Hz by default); rate changes need unlock."""

    name: str = "WT901BLE68"
    profile: str = wit.PROFILE
    rate_hz: float = DEFAULT_RATE_HZ
    saved_rate_hz: float = DEFAULT_RATE_HZ
    unlocked: bool = False
    writes: list[bytes] = field(default_factory=list)
    _notifying: bool = False

    @property
    def streaming(self) -> bool:
        return self._notifying

    def on_notify_enabled(self, char_uuid: str) -> None:
        if char_uuid == wit.NOTIFY_UUID:
            self._notifying = True

    def on_read(self, char_uuid: str) -> bytes:
        return b""

    def on_disconnect(self) -> None:
        self._notifying = False
        self.unlocked = False
        self.rate_hz = self.saved_rate_hz  # an unsaved rate is lost like on a power cycle

    def on_write(self, char_uuid: str, data: bytes) -> list[Notification]:
        if char_uuid != wit.WRITE_UUID:
            return []
        self.writes.append(bytes(data))
        if bytes(data) == wit.CMD_UNLOCK:
            self.unlocked = True
        elif bytes(data) == wit.CMD_SAVE:
            self.saved_rate_hz = self.rate_hz
        elif len(data) == 5 and data[:3] == bytes([0xFF, 0xAA, wit.REG_RATE]) and self.unlocked:
            self.rate_hz = _CODE_TO_RATE.get(data[3], self.rate_hz)
        return []  # the WT901BLE does not acknowledge register writes

    def frames(self, acc_raw: Sequence[Triple], gyro_raw: Sequence[Triple] | None = None,
               angle_raw: Sequence[Triple] | None = None) -> list[Notification]:
        """One notification per frame (the usual case; see :func:`chunk` for split streams)."""
        if not self._notifying:
            return []
        gyro = gyro_raw or [(0, 0, 0)] * len(acc_raw)
        angle = angle_raw or [(0, 0, 0)] * len(acc_raw)
        return [(wit.NOTIFY_UUID, encode(a, g, n)) for a, g, n in zip(acc_raw, gyro, angle,
                                                                      strict=True)]


def chunk(stream: bytes, sizes: Sequence[int]) -> list[bytes]:
    """Cut a byte stream into notifications of the given sizes (cycled), like a BLE stack may."""
    out: list[bytes] = []
    pos, i = 0, 0
    while pos < len(stream):
        size = max(1, sizes[i % len(sizes)])
        out.append(stream[pos: pos + size])
        pos += size
        i += 1
    return out
