"""Events to InfluxDB line protocol, at millisecond precision, as :mod:`.schema` declares.

A point's identity is (measurement, tags, time): writing the same event twice stores it once,
which is what makes spool replay after an outage duplicate-free.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from typing import Any, Final

from footfall.storage.schema import MEASUREMENTS, FieldType
from footfall.wire.events import DerivedEvent, FeedbackOutput, RscSample

#: what the processor may hand over; the retained ``feedback_state`` is not stored
StoredEvent = DerivedEvent | RscSample | FeedbackOutput


#: tag sets → their line protocol text (bounded: tags come from the network)
TAG_TEXTS_CACHED: Final = 10_000
_TAG_TEXTS: Final[dict[tuple[tuple[str, str], ...], str]] = {}


def _escape_tag(value: str) -> str:
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def _boolean(value: Any) -> str:
    return "true" if value else "false"


def _integer(value: Any) -> str:
    return f"{int(value)}i"


def _float(value: Any) -> str | None:
    number = float(value)
    return repr(number) if math.isfinite(number) else None


def _string(value: Any) -> str:
    # (a StrEnum is its value as a str: str() of it, not the enum's Python-level property)
    text = str(value) if isinstance(value, str) else str(
        value.value if hasattr(value, "value") else value)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


_FORMATS: Final[dict[FieldType, Callable[[Any], str | None]]] = {
    "boolean": _boolean, "integer": _integer, "float": _float, "string": _string}


@functools.cache
def _plan(measurement: str) -> tuple[tuple[str, str, Callable[[Any], str | None]], ...]:
    """Per field of a measurement, once: (name, its key's text, its formatter)."""
    return tuple((name, f"{name}=", _FORMATS[kind])
                 for name, kind in MEASUREMENTS[measurement].fields.items())


def to_line(event: StoredEvent, tags: Mapping[str, str]) -> str | None:
    """One line for ``event``; ``tags`` carry athlete/session/device (and, from the device's
    meta, placement/side for events that do not carry their own). None if it has no field, or
    is not stored."""
    schema = MEASUREMENTS.get(event.TYPE)
    if schema is None:
        return None
    all_tags = dict(tags)
    for name in event.TAGS:
        value = getattr(event, name, None)
        if value:
            all_tags[name] = str(value)
    fields = []
    for name, key, format_ in _plan(event.TYPE):  # (per event: precomputed per measurement)
        value = getattr(event, name)
        if value is not None and (text := format_(value)) is not None:
            fields.append(key + text)
    if not fields:
        return None
    tag_key = tuple(all_tags.items())
    tag_text = _TAG_TEXTS.get(tag_key)
    if tag_text is None:  # (a stream's events share their tags: escaped and sorted once)
        if len(_TAG_TEXTS) >= TAG_TEXTS_CACHED:
            _TAG_TEXTS.clear()
        tag_text = _TAG_TEXTS[tag_key] = "".join(f",{k}={_escape_tag(v)}"
                                             for k, v in sorted(all_tags.items()) if v)
    return f"{event.TYPE}{tag_text} {','.join(fields)} {event.time_ns // 1_000_000}"
