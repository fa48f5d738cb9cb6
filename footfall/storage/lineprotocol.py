"""Events to InfluxDB line protocol, at millisecond precision.

Schema (docs/wire.md has the full table): measurement = event type (``step``, ``metrics``,
``alert``, ``rsc``); tags = athlete, device, placement, session, side (+ rule/severity for
alerts), sorted by key as InfluxData advises; every numeric event field becomes a field.
A point's identity is (measurement, tags, time): writing the same event twice stores it once,
which is what makes spool replay after an outage duplicate-free.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from footfall.wire.events import AlertEvent, MetricsEvent, RscSample, StepEvent

Event = StepEvent | MetricsEvent | AlertEvent | RscSample
#: event fields that are tags or the timestamp, not fields
_NOT_FIELDS = {"v", "type", "time_ns", "time_utc", "side", "placement", "rule", "severity"}


def _escape_tag(value: str) -> str:
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def _field(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value}i"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else None
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return None  # None, lists, dicts: not representable as a field


def to_line(event: Event, tags: Mapping[str, str]) -> str | None:
    """One line for ``event``; ``tags`` carry athlete/session/device. None if it has no field."""
    body = event.to_dict()
    all_tags = dict(tags)
    for name in ("side", "placement", "rule", "severity"):
        if isinstance(body.get(name), str) and body[name]:
            all_tags[name] = body[name]
    fields = []
    for key in sorted(body):
        # a field named like a tag would come back as "<name>_1" from SELECT *: tags win
        if key in _NOT_FIELDS or key in all_tags:
            continue
        text = _field(body[key])
        if text is not None:
            fields.append(f"{key}={text}")
    if not fields:
        return None
    tag_text = "".join(f",{k}={_escape_tag(v)}" for k, v in sorted(all_tags.items()) if v)
    time_ms = int(body["time_ns"]) // 1_000_000
    return f"{event.TYPE}{tag_text} {','.join(fields)} {time_ms}"
