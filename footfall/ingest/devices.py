"""Which devices to stream: ``--device`` strings and the ``[[device]]`` tables of a TOML file.

``ADDRESS:PROFILE:PLACEMENT:SIDE[,key=value…]`` — split from the right, so MAC addresses keep
their colons. Keys: ``id`` (topic device id), ``rate`` (Hz), ``range`` (g), ``cadence``
(``auto``, ``1`` or ``2``; RSC foot pods), ``name``.

TOML (``footfall ingest --devices devices.toml``)::

    [[device]]
    address = "C4:7C:8D:6A:11:22"
    profile = "polar-pmd"
    placement = "chest"
    side = "none"
    rate_hz = 200
    range_g = 8
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from footfall.core.errors import SettingError
from footfall.core.ids import IdError, check_id
from footfall.core.vocab import worn
from footfall.ingest.drivers import DRIVERS, DeviceSpec

_KEYS = {"id": "device_id", "rate": "sample_rate_hz", "range": "accel_range_g",
         "cadence": "cadence_multiplier", "name": "name"}
_TOML_KEYS = {"address": "address", "profile": "profile", "placement": "placement",
              "side": "side", "id": "device_id", "rate_hz": "sample_rate_hz",
              "range_g": "accel_range_g", "cadence_multiplier": "cadence_multiplier",
              "name": "name"}


def make_spec(fields: dict[str, Any], where: str) -> DeviceSpec:
    profile = fields.get("profile", "")
    if profile not in DRIVERS:
        raise SettingError(f"{where}: unknown profile {profile!r}; choose from "
                           f"{', '.join(sorted(DRIVERS))}")
    try:
        worn(str(fields.get("placement")), str(fields.get("side")))
    except SettingError as exc:
        raise SettingError(f"{where}: {exc}") from None
    if not fields.get("address"):
        raise SettingError(f"{where}: the device address is missing")
    for key in ("sample_rate_hz", "accel_range_g"):
        if key in fields:
            try:
                fields[key] = int(fields[key])
            except (TypeError, ValueError):
                raise SettingError(f"{where}: {key} must be a whole number") from None
    if "cadence_multiplier" in fields:
        fields["cadence_multiplier"] = str(fields["cadence_multiplier"])
        if fields["cadence_multiplier"] not in ("auto", "1", "2"):
            raise SettingError(f"{where}: cadence must be auto, 1 or 2")
    spec = DeviceSpec(**fields)
    try:
        check_id("device", spec.id)
    except IdError as exc:
        raise SettingError(f"{where}: {exc}") from None
    return spec


def parse_device_arg(text: str) -> DeviceSpec:
    head, _, options = text.partition(",")
    parts = head.rsplit(":", 3)
    if len(parts) != 4:
        raise SettingError(f"--device {text!r}: expected ADDRESS:PROFILE:PLACEMENT:SIDE, e.g. "
                           "C4:7C:8D:6A:11:22:polar-pmd:chest:none")
    fields: dict[str, Any] = dict(zip(("address", "profile", "placement", "side"), parts,
                                      strict=True))
    for opt in filter(None, options.split(",")):
        key, eq, value = opt.partition("=")
        if not eq or key not in _KEYS:
            raise SettingError(f"--device {text!r}: unknown option {opt!r}; use "
                               f"{', '.join(k + '=…' for k in _KEYS)}")
        fields[_KEYS[key]] = value
    return make_spec(fields, f"--device {text!r}")


def load_devices_file(path: Path) -> list[DeviceSpec]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SettingError(f"cannot read devices file {path}: {exc}") from exc
    tables = data.get("device")
    if not isinstance(tables, list) or not tables:
        raise SettingError(f"{path}: no [[device]] tables")
    specs = []
    for i, table in enumerate(tables, 1):
        unknown = set(table) - set(_TOML_KEYS)
        where = f"{path} device #{i}"
        if unknown:
            raise SettingError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
        specs.append(make_spec({_TOML_KEYS[k]: v for k, v in table.items()}, where))
    return specs
