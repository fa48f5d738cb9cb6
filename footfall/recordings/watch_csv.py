"""A watch's records exported as CSV (one row per record: ``timestamp``, ``cadence``, ``speed``,
``distance``, … as fitparse, GoldenCheetah or Garmin Connect exports write them): the same
foot-pod stream a FIT file gives (:func:`footfall.recordings.fit.from_records`).

Columns are found by name, in any order: ``timestamp`` (ISO 8601, seconds since the epoch, or
a date as ``Sun Jun 11 07:34:09 PDT 2017``), ``cadence`` (per leg, as FIT records it; with
``fractional_cadence`` when present), ``enhanced_speed`` or ``speed`` (m/s) and optionally
``distance`` (m). A file whose cadence is already in steps per minute (a running median of
120 or more) is read as such.
"""

from __future__ import annotations

import csv
import logging
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dateutil import parser as dateparser
from dateutil import tz

from footfall.recordings.fit import FitImport, FitImportError, SportWindow, from_records, to_ns

log = logging.getLogger(__name__)

TIME_COLUMN = "timestamp"
CADENCE_COLUMN = "cadence"
SPEED_COLUMNS = ("enhanced_speed", "speed")
#: the US zone abbreviations US-made exports write (dateutil needs to be told them)
ZONES = {name: tz.gettz(zone) for name, zone in (
    ("PST", "America/Los_Angeles"), ("PDT", "America/Los_Angeles"),
    ("MST", "America/Denver"), ("MDT", "America/Denver"),
    ("CST", "America/Chicago"), ("CDT", "America/Chicago"),
    ("EST", "America/New_York"), ("EDT", "America/New_York"),
    ("UTC", "UTC"), ("GMT", "UTC"), ("CET", "Europe/Berlin"), ("CEST", "Europe/Berlin"),
    ("BST", "Europe/London"))}


def is_watch_csv(header: list[str]) -> bool:
    """A header with a time, a cadence and a speed column (and no accelerometer)."""
    names = {h.strip().lower() for h in header}
    return TIME_COLUMN in names and CADENCE_COLUMN in names and \
        any(c in names for c in SPEED_COLUMNS) and "ax_g" not in names


def _time(text: str) -> datetime:
    value = text.strip()
    try:
        return datetime.fromtimestamp(float(value), tz=UTC)
    except ValueError:
        pass
    parsed: datetime = dateparser.parse(value, tzinfos=ZONES)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _number(text: str | None) -> float | None:
    if text is None or not text.strip():
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def read_watch_csv(path: Path | str) -> FitImport:
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    except UnicodeDecodeError as exc:
        raise FitImportError(f"{path}: not a text file in UTF-8 ({exc.reason}): export it as "
                             "UTF-8 CSV") from None
    if not rows:
        raise FitImportError(f"{path}: no records")
    speed_column = next(c for c in SPEED_COLUMNS if c in rows[0])
    records: list[dict[str, Any]] = []
    for n, row in enumerate(rows, start=2):
        try:
            record: dict[str, Any] = {"timestamp": _time(row[TIME_COLUMN])}
            record["cadence"] = _number(row.get(CADENCE_COLUMN))
            record["fractional_cadence"] = _number(row.get("fractional_cadence"))
            record["enhanced_speed"] = _number(row.get(speed_column))
            record["distance"] = _number(row.get("distance"))
        except (ValueError, OverflowError, dateparser.ParserError) as exc:
            raise FitImportError(f"{path}, line {n}: {exc}") from None
        records.append(record)
    running = sorted(r["cadence"] for r in records if r["cadence"] and r["enhanced_speed"])
    if running and running[len(running) // 2] >= 120:  # already steps/min: FIT halves it
        for r in records:
            if r["cadence"] is not None:
                r["cadence"] = r["cadence"] / 2
        log.info("%s: cadence is in steps per minute", path)
    # an export holds the records only, no sessions: every record is taken as running
    whole = [SportWindow("running", to_ns(records[0]["timestamp"]),
                         to_ns(records[-1]["timestamp"]))]
    return from_records(path, records, whole, f"CSV export {path.name}")
