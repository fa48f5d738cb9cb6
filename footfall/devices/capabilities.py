"""What each BLE device offers — the one table (:data:`DEVICE_MODELS`): the rates and ranges
a profile's device really has, its defaults, and how many samples fit in one notification.

The gateway (:mod:`footfall.ingest.drivers`) starts devices with these defaults, the emulators
(:mod:`footfall.simulators.devices`) run at them, and :func:`resolve_sensor` refuses anything a
device does not offer, saying what it does (rates and ranges are never changed silently).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, TypeAlias

from footfall.core.errors import SettingError
from footfall.devices import footfall_open, movesense, polar_pmd, witmotion

DeviceProfile: TypeAlias = Literal["footfall", "polar-pmd", "witmotion", "movesense", "rsc"]
DEVICE_PROFILES: tuple[DeviceProfile, ...] = ("footfall", "polar-pmd", "witmotion", "movesense",
                                              "rsc")

#: ATT payload of one notification once bleak/BlueZ negotiated the usual MTU of 247
MAX_NOTIFICATION_BYTES = 244
#: the range the open frame carries is a u8; the CLI offers these
OPEN_RANGES_G = (2, 4, 8, 16, 32, 64, 200)
MOVESENSE_RANGES_G = (2, 4, 8, 16)  # /Meas/Acc/Config GRange values


@dataclass(frozen=True, slots=True)
class DeviceModel:
    """What one profile's device offers: rates, ranges, how many samples fit a notification."""

    profile: DeviceProfile
    model: str
    rates_hz: tuple[int, ...] | None  # None: any whole number of Hz (the open frame's u16)
    ranges_g: tuple[int, ...]
    default_rate_hz: int
    default_range_g: int
    max_samples_per_notification: int


DEVICE_MODELS: dict[str, DeviceModel] = {
    # 14-byte header + 6 bytes per sample in 244 bytes
    "footfall": DeviceModel("footfall", "footfall open-frame IMU", None, OPEN_RANGES_G,
                            200, 16, (MAX_NOTIFICATION_BYTES - footfall_open.HEADER_SIZE) // 6),
    # worst case of a delta frame: 10-byte header, 6-byte reference, 2-byte block header,
    # 17-bit deltas (the difference of two int16 needs 17 bits): 36 samples fit
    "polar-pmd": DeviceModel("polar-pmd", "Polar H10", polar_pmd.H10_RATES_HZ,
                             polar_pmd.H10_RANGES_G, 200, 8, 36),
    # one 20-byte 55 61 frame per notification, as the WT901BLE sends them
    "witmotion": DeviceModel("witmotion", "WitMotion WT901BLE",
                             tuple(int(r) for r in witmotion.RATE_CODES if r >= 1),
                             (witmotion.ACC_RANGE_G,), 200, witmotion.ACC_RANGE_G, 1),
    # DATA + DATA_PART2: 2 × 242 bytes of payload = u32 timestamp + 40 × 12 bytes
    "movesense": DeviceModel("movesense", "Movesense", movesense.ACC_RATES_HZ,
                             MOVESENSE_RANGES_G, 208, 16,
                             (2 * (MAX_NOTIFICATION_BYTES - 2) - 4) // 12),
    "rsc": DeviceModel("rsc", "RSC foot pod", None, (), 0, 0, 1),
}


@dataclass(frozen=True, slots=True)
class SensorSetup:
    """The rate and range a profile will run at, and what the user should know about them."""

    rate_hz: int
    range_g: int
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SettingNames:
    """How the user set a device's rate and range, so that a refusal says what to change:
    ``device`` names the device; ``rate``/``range`` are templates for a value."""

    device: str
    rate: str = "--rate {}"
    range: str = "--range-g {}"

    def option(self, template: str) -> str:
        return template.format("").strip(" =")


def device_model(profile: str) -> DeviceModel:
    try:
        return DEVICE_MODELS[profile]
    except KeyError:
        raise SettingError(f"unknown device profile {profile!r}; choose from "
                           f"{', '.join(DEVICE_PROFILES)}") from None


def _listing(values: Sequence[int], unit: str, prefix: str = "") -> str:
    items = [f"{prefix}{v}" for v in values]
    text = items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]
    return f"{text} {unit}"


def _nearest(values: Sequence[int], x: float) -> int:
    return min(values, key=lambda v: (abs(v - x), -v))


def resolve_sensor(profile: str, *, rate_hz: float | None = None, range_g: int | None = None,
                   names: SettingNames | None = None) -> SensorSetup:
    """The device's rate/range for what the user asked (``None``: the device's usual one).

    Raises :class:`SettingError` naming what the device supports when it cannot do what was
    asked (rates and ranges are never changed silently).
    """
    dev = device_model(profile)
    said = names or SettingNames(f"--device {profile}")
    rate_opt, range_opt = said.option(said.rate), said.option(said.range)
    if dev.profile == "rsc":
        if rate_hz is not None or range_g is not None:
            raise SettingError(f"{said.device}: a foot pod reports speed and cadence about once "
                               f"a second; {rate_opt} and {range_opt} do not apply to it")
        return SensorSetup(0, 0, ("foot pod: one RSC measurement per second, speed and cadence "
                                  "from the runner",))
    default_rate, default_range = dev.default_rate_hz, dev.default_range_g
    notes: list[str] = []
    if rate_hz is None:
        rate = default_rate
    elif dev.rates_hz is None:
        if not 1 <= rate_hz <= 0xFFFF or rate_hz != int(rate_hz):
            raise SettingError(f"{said.device}: the open frame carries the sample rate as a whole "
                               f"number of Hz (1-65535), not {rate_hz:g}")
        rate = int(rate_hz)
    elif rate_hz in dev.rates_hz:
        rate = int(rate_hz)
    else:
        raise SettingError(
            f"{said.device}: the {dev.model} samples its accelerometer at "
            f"{_listing(dev.rates_hz, 'Hz')}, not {rate_hz:g} Hz: use "
            f"{said.rate.format(_nearest(dev.rates_hz, rate_hz))} (or leave {rate_opt} out for "
            f"{default_rate} Hz)")
    if range_g is None:
        rng = default_range
    elif range_g in dev.ranges_g:
        rng = range_g
    else:
        raise SettingError(
            f"{said.device}: the {dev.model} measures {_listing(dev.ranges_g, 'g', '±')}, not "
            f"±{range_g} g: use {said.range.format(_nearest(dev.ranges_g, range_g))} (peaks "
            "beyond it clip, as they do on the device)")
    if dev.profile == "polar-pmd" and rng <= 8:
        notes.append(f"Polar H10: ±{rng} g, so tibial and foot impacts above {rng} g clip "
                     "(the processor flags clipped steps)")
    if dev.profile == "witmotion":
        notes.append("WitMotion: one 20-byte notification per sample; whether a real WT901BLE "
                     f"delivers {rate} notifications/s over BLE is unconfirmed")
    if dev.profile == "movesense":
        notes.append("Movesense: the gateway does not set /Meas/Acc/Config; the emulated sensor "
                     f"clips at ±{rng} g")
    if rate < 100:
        notes.append(f"{rate} Hz is coarse for impact peaks (~10 ms wide): expect low PTA")
    return SensorSetup(rate, rng, tuple(notes))


def check_chunk_ms(chunk_ms: float) -> None:
    if chunk_ms <= 0:
        raise SettingError(f"--chunk-ms must be positive, got {chunk_ms:g}")


def samples_per_notification(profile: str, rate_hz: float, chunk_ms: float) -> int:
    """``chunk_ms`` of signal per notification, capped by what fits in one (WitMotion: 1)."""
    check_chunk_ms(chunk_ms)
    cap = device_model(profile).max_samples_per_notification
    return max(1, min(round(rate_hz * chunk_ms / 1000), cap))


