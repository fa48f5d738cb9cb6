"""One pure parser module per BLE profile, and the table that names them.

Each module has the profile's UUIDs, frozen dataclasses, ``parse…`` functions that raise only
:class:`footfall.ingest.errors.ParseError`, and ``to_dict`` for ``footfall decode``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from footfall.devices import footfall_open, movesense, polar_pmd, rsc, witmotion
from footfall.devices.errors import ParseError


@dataclass(frozen=True, slots=True)
class ProfileInfo:
    name: str
    service_uuid: str
    description: str
    decode: Callable[[bytes], Any]  # bytes -> JSON-able dict (or list of dicts)


def _decode_pmd(data: bytes) -> Any:
    # a control point message starts with F0 (or 01 for "stopped"); a data frame with its type
    if data[:1] == b"\xf0":
        msg = polar_pmd.parse_control(data)
        if isinstance(msg, polar_pmd.PmdStreamStopped):  # not reachable with an F0 first byte
            return {"profile": polar_pmd.PROFILE, "control": True, "stopped": True}
        return {"profile": polar_pmd.PROFILE, "control": True, "opcode": msg.opcode,
                "measurement_type": msg.measurement_type, "status": msg.status,
                "params_hex": msg.params.hex()}
    return polar_pmd.to_dict(polar_pmd.parse_data(data))


def _decode_wit(data: bytes) -> Any:
    frames = witmotion.split(data)
    return witmotion.to_dict(frames[0]) if len(frames) == 1 else [witmotion.to_dict(f)
                                                                  for f in frames]


BLE_PROFILES: dict[str, ProfileInfo] = {
    p.name: p
    for p in (
        ProfileInfo(rsc.PROFILE, rsc.SERVICE_UUID, "Running Speed and Cadence foot pod",
                    lambda d: rsc.to_dict(rsc.parse(d))),
        ProfileInfo(polar_pmd.PROFILE, polar_pmd.SERVICE_UUID,
                    "Polar PMD accelerometer (H10, Verity Sense)", _decode_pmd),
        ProfileInfo(witmotion.PROFILE, witmotion.SERVICE_UUID, "WitMotion WT901BLE IMU",
                    _decode_wit),
        ProfileInfo(movesense.PROFILE, movesense.SERVICE_UUID, "Movesense GSP accelerometer",
                    lambda d: movesense.to_dict(movesense.parse(d))),
        ProfileInfo(footfall_open.PROFILE, footfall_open.SERVICE_UUID,
                    "footfall open IMU frame (docs/open-imu.md)",
                    lambda d: footfall_open.to_dict(footfall_open.parse(d))),
    )
}


def profile_for_service(uuid: str) -> str | None:
    uuid = uuid.lower()
    for info in BLE_PROFILES.values():
        if info.service_uuid == uuid:
            return info.name
    return None


def _compact(obj: Any) -> str:
    return json.dumps(obj, separators=(", ", ": "), allow_nan=False, ensure_ascii=False)


def _pretty(obj: Any, indent: str = "") -> str:
    """One line per field, arrays of samples kept on one line."""
    if isinstance(obj, list) and obj and isinstance(obj[0], dict):
        inner = ",\n".join(indent + "  " + _pretty(o, indent + "  ") for o in obj)
        return "[\n" + inner + "\n" + indent + "]"
    if isinstance(obj, dict):
        inner = ",\n".join(f"{indent}  {json.dumps(k)}: {_compact(v)}" for k, v in obj.items())
        return "{\n" + inner + "\n" + indent + "}"
    return _compact(obj)


def decode_json(profile: str, data: bytes) -> str:
    """Decode one notification of ``profile`` to JSON; raises ParseError or KeyError."""
    return _pretty(BLE_PROFILES[profile].decode(data))


__all__ = ["BLE_PROFILES", "ParseError", "ProfileInfo", "decode_json", "profile_for_service"]
