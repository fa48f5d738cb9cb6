"""The InfluxDB schema, derived from the wire event declarations (one place, no copy).

Measurement = the event type; tags = ``athlete``, ``session``, ``device`` (from the topic) and
the event's own tag fields (``placement``/``side``, or ``rule``/``severity``); fields = every
other scalar field, with the InfluxDB type its declaration gives: ``float`` fields are always
written as floats (``3`` → ``3.0``), ``integer`` ones with the ``i`` suffix, so a field never
changes type between points. Time = the event's ``time_ns``, at millisecond precision.

``python -m footfall.storage.schema`` prints the table that docs/wire.md carries (a test
checks the two are the same).
"""

from __future__ import annotations

import enum
import sys
import types
import typing
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from footfall.wire.events import (
    AlertEvent,
    DeviceSummary,
    FeedbackEvent,
    MetricsEvent,
    PauseEvent,
    RscSample,
    SessionMetricsEvent,
    SessionNote,
    StepEvent,
    WireEvent,
)

FieldType = Literal["float", "integer", "boolean", "string"]
E = TypeVar("E", bound=WireEvent)
#: tags every point has, from its topic
TOPIC_TAGS = ("athlete", "session", "device")
#: never stored: the envelope, the time itself
NOT_STORED = frozenset({"v", "type", "time_ns", "time_utc"})
#: per measurement, fields a tag already implies (a step's strike kind is its placement's)
REDUNDANT = {"step": frozenset({"strike"})}
#: what the processor writes, in this order in the docs
STORED_EVENTS: tuple[type[WireEvent], ...] = (StepEvent, MetricsEvent, SessionMetricsEvent,
                                               AlertEvent, PauseEvent, RscSample, DeviceSummary,
                                               FeedbackEvent, SessionNote)


@dataclass(frozen=True, slots=True)
class Measurement:
    name: str
    tags: tuple[str, ...]  # sorted, as InfluxData advises
    fields: dict[str, FieldType]  # sorted by name


def _scalar_type(annotation: Any) -> FieldType | None:
    """The InfluxDB type of a declared field, or None when it is not a scalar."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _scalar_type(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        kinds = {_scalar_type(a) for a in typing.get_args(annotation) if a is not type(None)}
        return kinds.pop() if len(kinds) == 1 else None
    if origin is Literal:
        return "string" if all(isinstance(a, str) for a in typing.get_args(annotation)) \
            else None
    if annotation is bool:
        return "boolean"
    if annotation is int:
        return "integer"
    if annotation is float:
        return "float"
    if annotation is str or (isinstance(annotation, type) and issubclass(annotation, enum.Enum)):
        return "string"
    return None


def measurement(cls: type[WireEvent]) -> Measurement:
    tags = tuple(sorted((*TOPIC_TAGS, *cls.TAGS)))
    found: dict[str, FieldType] = {}
    for name, info in cls.model_fields.items():
        kind = _scalar_type(info.annotation)
        if name not in NOT_STORED and name not in tags and kind is not None \
                and name not in REDUNDANT.get(cls.TYPE, frozenset()):
            found[name] = kind
    for name, computed in cls.model_computed_fields.items():
        kind = _scalar_type(computed.return_type)
        if name not in NOT_STORED and kind is not None:
            found[name] = kind
    return Measurement(cls.TYPE, tags, dict(sorted(found.items())))


MEASUREMENTS: dict[str, Measurement] = {cls.TYPE: measurement(cls) for cls in STORED_EVENTS}


def event_from_row(cls: type[E], row: dict[str, Any]) -> E:
    """An event rebuilt from one InfluxQL row (``SELECT *`` with ``epoch=ms``, tags merged in,
    e.g. :func:`footfall.storage.influx.rows`): its time at millisecond precision, every
    stored field and tag of the event; validated like any input."""
    names = cls.model_fields
    # a null column is a field the point lacks: left out, so its default applies — except for
    # a field with no default, which is None (a step's first-strike cadence, say)
    data: dict[str, Any] = {k: v for k, v in row.items()
                            if k in names and (v is not None or names[k].is_required())}
    data.update(type=cls.TYPE, time_ns=int(row["time"]) * 1_000_000)
    return cls.from_dict(data)


def markdown() -> str:
    """The schema table of docs/wire.md."""
    lines = ["| measurement | tags | field | type |", "|---|---|---|---|"]
    for m in MEASUREMENTS.values():
        for i, (name, kind) in enumerate(m.fields.items()):
            first = i == 0
            lines.append(f"| {f'`{m.name}`' if first else ''} | "
                         f"{', '.join(m.tags) if first else ''} | `{name}` | {kind} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(markdown())
