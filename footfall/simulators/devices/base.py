"""What every emulated device offers to the fake BLE client."""

from __future__ import annotations

from typing import Protocol

#: (characteristic UUID, value) as a device would notify or indicate it
Notification = tuple[str, bytes]


class EmulatedDevice(Protocol):
    profile: str
    name: str

    @property
    def streaming(self) -> bool:
        """True while the device sends data notifications."""
        ...

    def on_write(self, char_uuid: str, data: bytes) -> list[Notification]:
        """Handle a GATT write; return what the device notifies/indicates in answer."""
        ...

    def on_read(self, char_uuid: str) -> bytes:
        """Value of a readable characteristic."""
        ...

    def on_notify_enabled(self, char_uuid: str) -> None:
        """The central enabled notifications/indications on ``char_uuid``."""
        ...

    def on_disconnect(self) -> None:
        """The link dropped: streams stop, as on the real device."""
        ...
