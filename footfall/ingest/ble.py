"""The BLE side: connecting with bleak-retry-connector, scanning, and explaining BLE failures.

The gateway only sees a :class:`Connector`; :class:`BleakConnector` is the real one. Its
``client_class`` and ``find_device`` are the seam: tests pass the fake client from
:mod:`footfall.simulators.devices.ble`, so the real ``establish_connection`` retry logic runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from bleak import BleakScanner
from bleak.backends.device import BLEDevice
from bleak.exc import (
    BleakBluetoothNotAvailableError,
    BleakBluetoothNotAvailableReason,
    BleakDBusError,
    BleakError,
)

from footfall.core.errors import FootfallError
from footfall.devices.registry import BLE_PROFILES, profile_for_service
from footfall.ingest.drivers import DeviceSpec, GattClient

log = logging.getLogger(__name__)

BATTERY_SERVICE_UUID = "0000180f-0000-1000-8000-00805f9b34fb"
BATTERY_LEVEL_UUID = "00002a19-0000-1000-8000-00805f9b34fb"
#: errors after which the gateway backs off and tries the device again
BLE_ERRORS: tuple[type[BaseException], ...] = (BleakError, TimeoutError, OSError, EOFError)


_NO_BLUEZ = ("org.freedesktop.DBus.Error.ServiceUnknown",
             "org.freedesktop.DBus.Error.NameHasNoOwner")


_BATTERY_ERRORS: tuple[type[BaseException], ...] = (*BLE_ERRORS, IndexError)


class BluetoothUnavailable(FootfallError):
    """Bluetooth cannot be used on this machine; the message says why and what to do."""


#: what to do without sensors (or without Bluetooth): every "no adapter" message ends with it
NO_SENSORS_HINT = (" To try footfall without sensors: `footfall simulate` (a synthetic runner "
                   "through the whole pipeline) or `footfall ingest --emulate --device …` (your "
                   "devices, emulated byte for byte).")


def explain(exc: BaseException) -> str | None:
    """A user-facing reason when ``exc`` means Bluetooth itself is unusable, else None."""
    reason = _unusable(exc)
    return None if reason is None else reason + NO_SENSORS_HINT


def _unusable(exc: BaseException) -> str | None:
    if isinstance(exc, BleakBluetoothNotAvailableError):
        reason = exc.reason
        if reason is BleakBluetoothNotAvailableReason.NO_BLUETOOTH:
            return ("no Bluetooth adapter found: plug in a BLE adapter (or pass the host's "
                    "adapter into this container/VM) and check `bluetoothctl list`")
        if reason is BleakBluetoothNotAvailableReason.POWERED_OFF:
            return "the Bluetooth adapter is powered off: run `bluetoothctl power on`"
        if reason is BleakBluetoothNotAvailableReason.NO_BLE_CENTRAL_ROLE:
            return "the Bluetooth adapter cannot act as a BLE central (classic-only adapter?)"
        return f"Bluetooth access denied ({reason.name}): check permissions/policy for BlueZ"
    if isinstance(exc, BleakDBusError) and exc.dbus_error in _NO_BLUEZ:
        return "BlueZ is not running (no org.bluez on D-Bus): `sudo systemctl start bluetooth`"
    if isinstance(exc, (FileNotFoundError, ConnectionRefusedError, PermissionError)):
        return (f"cannot reach the system D-Bus ({exc.__class__.__name__}: {exc}): Bluetooth on "
                "Linux needs D-Bus and BlueZ running (`sudo systemctl start dbus bluetooth`); "
                "in a container, mount /run/dbus and pass the host's adapter in. "
                "No Bluetooth adapter is reachable from here.")
    return None


class Connector(Protocol):
    async def connect(self, spec: DeviceSpec, on_disconnect: Callable[[], None]) -> GattClient:
        """Find and connect the device; ``on_disconnect`` fires when the link drops."""
        ...


FindDevice = Callable[[str, float], Awaitable[BLEDevice | None]]


async def _find_with_scanner(address: str, timeout_s: float) -> BLEDevice | None:
    return await BleakScanner.find_device_by_address(address, timeout=timeout_s)


@dataclass
class BleakConnector:
    """Connect through ``bleak_retry_connector.establish_connection`` (its retries + backoff)."""

    client_class: type[Any] | None = None
    find_device: FindDevice = _find_with_scanner
    scan_timeout_s: float = 10.0
    max_attempts: int = 4

    async def connect(self, spec: DeviceSpec, on_disconnect: Callable[[], None]) -> GattClient:
        from bleak_retry_connector import BleakClientWithServiceCache, establish_connection

        device = await self.find_device(spec.address, self.scan_timeout_s)
        if device is None:
            raise BleakError(f"device {spec.address} not seen within {self.scan_timeout_s:.0f} s"
                             " (out of range, off, or connected to another central?)")
        client: GattClient = await establish_connection(
            self.client_class or BleakClientWithServiceCache, device, spec.name or spec.id,
            disconnected_callback=lambda _client: on_disconnect(),
            max_attempts=self.max_attempts,
        )
        return client


@dataclass(frozen=True, slots=True)
class ScanResult:
    name: str
    address: str
    rssi: int
    profile: str
    battery_pct: int | None = None

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "address": self.address, "rssi": self.rssi,
                "profile": self.profile, "battery_pct": self.battery_pct}


def battery_from_service_data(service_data: dict[str, bytes]) -> int | None:
    """Battery level when a device advertises it as Battery Service (0x180F) data."""
    data = service_data.get(BATTERY_SERVICE_UUID)
    return data[0] if data and data[0] <= 100 else None


def profiles_in(service_uuids: list[str], name: str | None) -> list[str]:
    found = [p for u in service_uuids if (p := profile_for_service(u)) is not None]
    # Polar and Movesense advertise their vendor service only once connected: go by name too
    if not found and name:
        if name.startswith("Polar "):
            found.append("polar-pmd")
        elif name.startswith("Movesense"):
            found.append("movesense")
        elif name.startswith("WT901"):
            found.append("witmotion")
    return found


async def check_bluetooth() -> None:
    """Raise :class:`BluetoothUnavailable` (saying why) when no adapter can be used."""
    try:
        await BleakScanner.discover(timeout=0.1)
    except Exception as exc:
        reason = explain(exc)
        if reason is not None:
            raise BluetoothUnavailable(reason) from exc
        raise


async def read_battery(device: BLEDevice, *, client_class: type[Any] | None = None,
                       timeout_s: float = 10.0) -> int | None:
    """Connect briefly and read the Battery Level (0x2A19); None if absent or unreachable."""
    from bleak import BleakClient

    client = (client_class or BleakClient)(device)
    try:
        await asyncio.wait_for(client.connect(), timeout_s)
        raw = await client.read_gatt_char(BATTERY_LEVEL_UUID)
        return int(raw[0]) if raw and raw[0] <= 100 else None
    except _BATTERY_ERRORS as exc:
        log.info("%s: no battery level (%s)", device.address, exc)
        return None
    finally:
        with contextlib.suppress(*BLE_ERRORS):
            await client.disconnect()


async def scan(timeout_s: float = 5.0, *, battery: bool = False,
               client_class: type[Any] | None = None) -> list[ScanResult]:
    """Devices advertising a supported profile; raises :class:`BluetoothUnavailable`.

    Few devices advertise their battery level; ``battery=True`` connects to each one found
    without it and reads the Battery Service (slower: one connection per device).
    """
    try:
        seen = await BleakScanner.discover(timeout=timeout_s, return_adv=True)
    except Exception as exc:
        reason = explain(exc)
        if reason is not None:
            raise BluetoothUnavailable(reason) from exc
        raise
    out: list[ScanResult] = []
    for device, adv in seen.values():
        name = adv.local_name or device.name or ""
        profiles = profiles_in(list(adv.service_uuids), name)
        level = battery_from_service_data(dict(adv.service_data))
        if profiles and level is None and battery:
            level = await read_battery(device, client_class=client_class)
        out += [ScanResult(name, device.address, adv.rssi, p, level) for p in profiles]
    return sorted(out, key=lambda r: -r.rssi)


__all__ = ["BLE_ERRORS", "BLE_PROFILES", "BleakConnector", "BluetoothUnavailable", "Connector",
           "ScanResult", "check_bluetooth", "explain", "scan"]
