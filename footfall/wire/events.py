"""JSON events for low-rate data: device meta/status, foot-pod samples, steps, metrics, alerts.

Every event carries ``"v": 1`` and a ``"type"``. Times are UTC: ``time_ns`` (integer ns since
the Unix epoch, exact) plus ``time_utc`` (ISO 8601, for people). Unknown extra fields are kept,
so adding a field is never a breaking change.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, ClassVar, Self

from footfall.core.errors import InputError

SCHEMA_VERSION = 1


class EventError(InputError):
    """A payload is not a valid footfall JSON event; ``reason`` says why."""


def utc_iso(time_ns: int) -> str:
    """ISO 8601 UTC with millisecond precision, e.g. ``2026-11-24T17:00:00.123Z``."""
    dt = datetime.fromtimestamp(time_ns // 1_000_000_000, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + f".{(time_ns // 1_000_000) % 1000:03d}Z"


@dataclass(frozen=True, slots=True)
class _Event:
    TYPE: ClassVar[str] = ""

    def to_dict(self) -> dict[str, Any]:
        body = asdict(self)
        extra = body.pop("extra", None) or {}
        out: dict[str, Any] = {"v": SCHEMA_VERSION, "type": self.TYPE, **extra, **body}
        if "time_ns" in out:
            out["time_utc"] = utc_iso(int(out["time_ns"]))
        return out

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), separators=(",", ":"), allow_nan=False).encode()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        if data.get("type") != cls.TYPE:
            raise EventError(f"expected a {cls.TYPE!r} event, got type {data.get('type')!r}")
        names = {f.name for f in fields(cls)}
        known = {k: v for k, v in data.items() if k in names and k != "extra"}
        extra = {k: v for k, v in data.items() if k not in names and k not in _ENVELOPE}
        if "extra" in names:
            known["extra"] = extra
        try:
            return cls(**known)
        except TypeError as exc:
            raise EventError(f"{cls.TYPE} event is missing a field: {exc}") from exc

    @classmethod
    def from_json(cls, payload: bytes | str) -> Self:
        return cls.from_dict(load(payload))


_ENVELOPE = {"v", "type", "time_utc"}


def load(payload: bytes | str) -> dict[str, Any]:
    """Parse and check the envelope of any event; raises :class:`EventError`."""
    try:
        data = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EventError(f"not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise EventError("event is not a JSON object")
    if data.get("v") != SCHEMA_VERSION:
        raise EventError(f"unsupported event schema version {data.get('v')!r}")
    return data


@dataclass(frozen=True, slots=True)
class DeviceMeta(_Event):
    """What a device is and where it is worn; published retained on the ``meta`` stream."""

    TYPE: ClassVar[str] = "meta"
    profile: str  # footfall | rsc | polar-pmd | witmotion | movesense | sim
    placement: str  # tibia | foot | sacrum
    side: str  # left | right | none
    sample_rate_hz: float = 0.0
    accel_range_g: int = 0
    model: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DeviceStatus(_Event):
    """Retained online/offline flag; the offline form is also the MQTT last will."""

    TYPE: ClassVar[str] = "status"
    online: bool
    reason: str = ""


@dataclass(frozen=True, slots=True)
class RscSample(_Event):
    """One foot-pod Running Speed and Cadence measurement, cadence already in steps/min."""

    TYPE: ClassVar[str] = "rsc"
    time_ns: int
    speed_mps: float
    cadence_spm: float
    running: bool = True
    stride_length_m: float | None = None
    total_distance_m: float | None = None
    seq: int = 0


@dataclass(frozen=True, slots=True)
class StepEvent(_Event):
    """One detected foot strike, timed at its impact peak."""

    TYPE: ClassVar[str] = "step"
    time_ns: int  # UTC of the impact peak
    sensor_time_s: float  # the same instant on the sensor's own clock
    impact_g: float  # resultant peak acceleration (PTA marker)
    #: instantaneous, from the step/stride interval; None for the first strike after a start or
    #: a gap (there is no interval yet), never a made-up 0
    cadence_spm: float | None
    interval_s: float | None  # since the previous strike seen by this sensor
    side: str
    placement: str
    clipped: bool
    confidence: float
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MetricsEvent(_Event):
    """Rolling per-stream metrics, emitted once per second of sensor time."""

    TYPE: ClassVar[str] = "metrics"
    time_ns: int
    cadence_spm: float | None
    steps_total: int
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AlertEvent(_Event):
    """An alert starting or clearing."""

    TYPE: ClassVar[str] = "alert"
    time_ns: int
    rule: str
    state: str  # start | clear
    severity: str
    message: str
    value: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)
