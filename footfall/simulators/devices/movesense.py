"""Movesense GSP emulator: HELLO/SUBSCRIBE/UNSUBSCRIBE answers and Acc DATA (+ DATA_PART2)."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

from footfall.core.errors import SettingError
from footfall.devices import movesense as gsp
from footfall.simulators.devices.base import Notification

Vector = tuple[float, float, float]
#: ATT payload of one notification at the default MTU 247 (247 - 3 bytes of ATT header)
DEFAULT_MAX_NOTIFICATION = 244
STATUS_NOT_FOUND = 404


def encode_acc_payload(timestamp_ms: int, samples: Sequence[Vector]) -> bytes:
    return struct.pack("<I", timestamp_ms & 0xFFFFFFFF) + b"".join(
        struct.pack("<3f", *s) for s in samples)


def encode_data(ref: int, timestamp_ms: int, samples: Sequence[Vector], *,
                max_notification: int = DEFAULT_MAX_NOTIFICATION) -> list[bytes]:
    """DATA, split into DATA + DATA_PART2 when it exceeds one notification."""
    payload = encode_acc_payload(timestamp_ms, samples)
    room = max_notification - 2
    if len(payload) <= room:
        return [bytes([gsp.MSG_DATA, ref]) + payload]
    if len(payload) > 2 * room:
        raise SettingError("an Acc message longer than two notifications: use fewer samples")
    return [bytes([gsp.MSG_DATA, ref]) + payload[:room],
            bytes([gsp.MSG_DATA_PART2, ref]) + payload[room:]]


def encode_result(ref: int, status: int = gsp.STATUS_OK, body: bytes = b"") -> bytes:
    return bytes([gsp.MSG_RESULT, ref]) + struct.pack("<H", status) + body


@dataclass
class MovesenseImu:
    """Answers GSP commands; streams Acc for each active ``/Meas/Acc/<rate>`` subscription."""

    name: str = "Movesense 000000000001"
    profile: str = gsp.PROFILE
    subscriptions: dict[int, str] = field(default_factory=dict)  # ref -> path
    commands: list[bytes] = field(default_factory=list)
    notifying: bool = False
    max_notification: int = DEFAULT_MAX_NOTIFICATION

    @property
    def streaming(self) -> bool:
        return bool(self.subscriptions)

    def on_notify_enabled(self, char_uuid: str) -> None:
        if char_uuid == gsp.NOTIFY_UUID:
            self.notifying = True

    def on_read(self, char_uuid: str) -> bytes:
        return b""

    def on_disconnect(self) -> None:
        self.subscriptions.clear()
        self.notifying = False

    def on_write(self, char_uuid: str, data: bytes) -> list[Notification]:
        if char_uuid != gsp.WRITE_UUID or len(data) < 2:
            return []
        self.commands.append(bytes(data))
        cmd, ref = data[0], data[1]
        out = gsp.NOTIFY_UUID
        if cmd == gsp.CMD_HELLO:
            return [(out, encode_result(ref, gsp.STATUS_OK, self.name.encode()))]
        if cmd == gsp.CMD_SUBSCRIBE:
            path = bytes(data[2:]).decode("ascii", "replace")
            rate = path.rsplit("/", 1)[-1]
            if (not path.startswith("/Meas/Acc/") or not rate.isdigit()
                    or int(rate) not in gsp.ACC_RATES_HZ):
                return [(out, encode_result(ref, STATUS_NOT_FOUND))]
            self.subscriptions[ref] = path
            return [(out, encode_result(ref))]
        if cmd == gsp.CMD_UNSUBSCRIBE:
            self.subscriptions.pop(ref, None)
            return [(out, encode_result(ref))]
        return [(out, encode_result(ref, STATUS_NOT_FOUND))]

    def acc(self, timestamp_ms: int, samples_mps2: Sequence[Vector]) -> list[Notification]:
        """Notifications for every Acc subscription (the first sample at ``timestamp_ms``)."""
        return [(gsp.NOTIFY_UUID, part)
                for ref in self.subscriptions
                for part in encode_data(ref, timestamp_ms, samples_mps2,
                                        max_notification=self.max_notification)]
