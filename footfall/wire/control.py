"""Commands to the processor, e.g. from footfall monitor: the ``control`` stream of device
``session`` (``footfall/v1/<athlete>/<session>/session/control``).

JSON, like every event (``"v": 1``, ``"type": "control"``)::

    {"v":1,"type":"control","action":"mark_baseline","time_ns":...,"source":"monitor"}
    {"v":1,"type":"control","action":"set_target","cadence_spm":178.0,"time_ns":...}
    {"v":1,"type":"control","action":"set_target","increase_pct":7.5,"time_ns":...}
    {"v":1,"type":"control","action":"set_target","cadence_spm":null,"time_ns":...}   # no target

``set_target`` is published *retained* (a restarted processor or a second monitor learns the
target), ``mark_baseline`` is not (it is an action, never to be replayed). QoS 1.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from footfall.core.ids import check_id
from footfall.wire.events import SCHEMA_VERSION, EventError, load, utc_iso
from footfall.wire.topics import ROOT, SESSION_DEVICE, Stream

CONTROL_STREAM = Stream.CONTROL.value
ACTIONS = ("mark_baseline", "set_target")


def control_topic(athlete: str, session: str) -> str:
    check_id("athlete", athlete)
    check_id("session", session)
    return f"{ROOT}/{athlete}/{session}/{SESSION_DEVICE}/{CONTROL_STREAM}"


@dataclass(frozen=True, slots=True)
class ControlCommand:
    """``mark_baseline``, or ``set_target`` with an absolute cadence, an increase over the
    baseline, or neither (no target)."""

    action: str
    time_ns: int
    cadence_spm: float | None = None
    increase_pct: float | None = None
    source: str = "monitor"

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise EventError(f"unknown control action {self.action!r}; expected one of "
                             f"{', '.join(ACTIONS)}")
        for name in ("cadence_spm", "increase_pct"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool)
                                      or not isinstance(value, int | float) or value <= 0):
                raise EventError(f"control {name} must be a positive number, got {value!r}")
        if self.cadence_spm is not None and self.increase_pct is not None:
            raise EventError("set_target takes cadence_spm or increase_pct, not both")

    @property
    def retain(self) -> bool:
        return self.action == "set_target"

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"v": SCHEMA_VERSION, "type": "control", "action": self.action,
                                "time_ns": self.time_ns, "time_utc": utc_iso(self.time_ns),
                                "source": self.source}
        if self.action == "set_target":
            body["cadence_spm"] = self.cadence_spm
            if self.increase_pct is not None:
                body["increase_pct"] = self.increase_pct
        return body

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), separators=(",", ":"), allow_nan=False).encode()

    @classmethod
    def from_json(cls, payload: bytes | str) -> ControlCommand:
        data = load(payload)
        if data.get("type") != "control":
            raise EventError(f"expected a 'control' event, got type {data.get('type')!r}")
        time_ns = data.get("time_ns")
        if not isinstance(time_ns, int):
            raise EventError("control event needs an integer time_ns")
        return cls(action=str(data.get("action")), time_ns=time_ns,
                   cadence_spm=data.get("cadence_spm"), increase_pct=data.get("increase_pct"),
                   source=str(data.get("source", "")))
