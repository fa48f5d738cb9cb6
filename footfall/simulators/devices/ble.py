"""A fake bleak client that plays emulated devices into the gateway's notification callbacks.

It has the constructor ``bleak_retry_connector.establish_connection`` calls, so the gateway's
real connector (retries, backoff) runs unchanged against it::

    hub = EmulatorHub()
    link = hub.add("EE:00:00:00:00:01", OpenImu())
    connector = BleakConnector(client_class=hub.client_class(), find_device=hub.find_device)

The test (or ``footfall simulate --device``) then drives the device: ``link.notify(...)``
delivers notifications if the link is up and notifications are enabled (otherwise they are
lost, and counted, like on air); ``link.drop()`` breaks the link; ``link.available = False``
makes connection attempts fail.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from bleak.backends.device import BLEDevice
from bleak.exc import BleakError

from footfall.simulators.devices.base import EmulatedDevice, Notification

BATTERY_LEVEL_UUID = "00002a19-0000-1000-8000-00805f9b34fb"


@dataclass(frozen=True, slots=True)
class FakeCharacteristic:
    uuid: str


@dataclass
class EmulatorLink:
    """One emulated device and the state of its (fake) radio link."""

    address: str
    device: EmulatedDevice
    available: bool = True
    connected: bool = False
    callbacks: dict[str, Callable[[Any, bytearray], Any]] = field(default_factory=dict)
    client: FakeBleakClient | None = None
    delivered: int = 0
    lost: int = 0  # notifications sent while the link was down
    connects: int = 0
    writes: list[tuple[str, bytes]] = field(default_factory=list)
    fail_connects: int = 0  # the next N connection attempts fail (link-layer trouble)
    connect_attempts: int = 0
    battery_pct: int | None = 87  # Battery Level (0x2A19) when read; None = no Battery Service

    def notify(self, notifications: Iterable[Notification]) -> int:
        """Deliver notifications now (in order); returns how many got through."""
        through = 0
        for uuid, data in notifications:
            cb = self.callbacks.get(uuid) if self.connected else None
            if cb is None:
                self.lost += 1
                continue
            cb(FakeCharacteristic(uuid), bytearray(data))
            self.delivered += 1
            through += 1
        return through

    def drop(self) -> None:
        """The radio link breaks (out of range, interference)."""
        if not self.connected:
            return
        self.connected = False
        self.callbacks.clear()
        self.device.on_disconnect()
        client, self.client = self.client, None
        if client is not None and client.disconnected_callback is not None:
            client.disconnected_callback(client)


class FakeBleakClient:
    """The bleak client surface footfall uses, backed by an :class:`EmulatorLink`."""

    hub: EmulatorHub  # set on the subclass made by EmulatorHub.client_class()

    def __init__(self, address_or_ble_device: BLEDevice | str,
                 disconnected_callback: Callable[[Any], None] | None = None,
                 **_kwargs: Any) -> None:
        address = (address_or_ble_device.address if isinstance(address_or_ble_device, BLEDevice)
                   else address_or_ble_device)
        self.address = address
        self.disconnected_callback = disconnected_callback
        self._link = self.hub.links.get(address)

    @property
    def link(self) -> EmulatorLink:
        if self._link is None:
            raise BleakError(f"Device with address {self.address} was not found")
        return self._link

    @property
    def is_connected(self) -> bool:
        return self._link is not None and self._link.connected and self._link.client is self

    async def connect(self, **_kwargs: Any) -> None:
        await asyncio.sleep(0)
        link = self.link
        link.connect_attempts += 1
        if not link.available:
            raise BleakError(f"Device with address {self.address} was not found")
        if link.fail_connects > 0:
            link.fail_connects -= 1
            raise BleakError("emulated connection failure")
        link.connected, link.client = True, self
        link.connects += 1

    async def disconnect(self) -> None:
        if self.is_connected:
            link = self.link
            link.connected, link.client = False, None
            link.callbacks.clear()
            link.device.on_disconnect()

    def _check(self) -> EmulatorLink:
        if not self.is_connected:
            raise BleakError("Not connected")
        return self.link

    async def start_notify(self, char_specifier: str, callback: Callable[[Any, bytearray], Any],
                           **_kwargs: Any) -> None:
        link = self._check()
        link.callbacks[char_specifier] = callback
        link.device.on_notify_enabled(char_specifier)

    async def stop_notify(self, char_specifier: str) -> None:
        self._check().callbacks.pop(char_specifier, None)

    async def write_gatt_char(self, char_specifier: str, data: bytes | bytearray,
                              response: bool | None = None) -> None:
        link = self._check()
        link.writes.append((char_specifier, bytes(data)))
        answers = link.device.on_write(char_specifier, bytes(data))
        if answers:
            # indications/notifications arrive after the write completes, like over the air
            asyncio.get_running_loop().call_soon(link.notify, answers)
        await asyncio.sleep(0)

    async def read_gatt_char(self, char_specifier: str, **_kwargs: Any) -> bytearray:
        link = self._check()
        if char_specifier == BATTERY_LEVEL_UUID:
            if link.battery_pct is None:
                raise BleakError(f"Characteristic {char_specifier} was not found!")
            return bytearray([link.battery_pct])
        return bytearray(link.device.on_read(char_specifier))


@dataclass
class EmulatorHub:
    """All emulated devices "in range", by address."""

    links: dict[str, EmulatorLink] = field(default_factory=dict)

    def add(self, address: str, device: EmulatedDevice) -> EmulatorLink:
        link = EmulatorLink(address, device)
        self.links[address] = link
        return link

    def client_class(self) -> type[FakeBleakClient]:
        return type("HubBleakClient", (FakeBleakClient,), {"hub": self})

    async def find_device(self, address: str, _timeout_s: float) -> BLEDevice | None:
        link = self.links.get(address)
        if link is None or not link.available:
            return None
        return BLEDevice(address, link.device.name, details=None)
