"""How footfall writes numbers, times and dates for people: one place, so the report, ``footfall
analyze``, ``sessions`` and ``load`` (and the tests that read the PDF) agree.

- a no-break space between a number and its unit (``178 spm``), a narrow one before ``%``;
- a real minus sign (U+2212) in signed values, never a hyphen;
- local time for people (the clinic's zone), UTC in storage.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from footfall.core.errors import SettingError

NBSP = "\u00a0"
NNBSP = "\u202f"  # before %: French-style narrow no-break space, pdftotext reads a space
MINUS = "\u2212"
DASH = "\u2013"  # ranges: 172–178 spm
NONE = "—"
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")


def _signed(text: str) -> str:
    return text.replace("-", MINUS)


def number(value: float | None, decimals: int = 1, *, signed: bool = False) -> str:
    if value is None:
        return NONE
    text = f"{value:+.{decimals}f}" if signed else f"{value:.{decimals}f}"
    if text.lstrip("+-").strip("0.") == "":  # −0.0 and +0.0 are 0.0
        text = f"{0:.{decimals}f}"
        return ("+" + text) if signed else text
    return _signed(text)


def unit(value: float | None, name: str, decimals: int = 1, *, signed: bool = False) -> str:
    return NONE if value is None else f"{number(value, decimals, signed=signed)}{NBSP}{name}"


def spm(value: float | None) -> str:
    """Cadence, whole steps per minute: ``170 spm``."""
    return unit(value, "spm", 0)


def g(value: float | None) -> str:
    """Impact, one decimal: ``10.9 g``."""
    return unit(value, "g", 1)


def pct(value: float | None, decimals: int = 0, *, signed: bool = False) -> str:
    """A share or change: ``84 %``, ``+0.7 %``, ``−18 %``."""
    return NONE if value is None else f"{number(value, decimals, signed=signed)}{NNBSP}%"


def change(value: float | None) -> str:
    """A relative change, one decimal, signed: ``+0.7 %``, ``−18.2 %``."""
    return pct(value, 1, signed=True)


def kmh(speed_mps: float | None) -> str:
    return NONE if speed_mps is None else unit(speed_mps * 3.6, "km/h", 1)


def km(distance_m: float | None, decimals: int = 1) -> str:
    return NONE if distance_m is None else unit(distance_m / 1000, "km", decimals)


def pace(speed_mps: float | None) -> str:
    """Minutes per km: ``5:33 min/km``."""
    if not speed_mps or speed_mps <= 0:
        return NONE
    seconds = round(1000 / speed_mps)
    return f"{seconds // 60}:{seconds % 60:02d}{NBSP}min/km"


def duration(seconds: float | None) -> str:
    """``4 min 0 s``, ``1 h 05 min``, ``45 s``."""
    if seconds is None:
        return NONE
    s = round(seconds)
    if s < 60:
        return f"{s}{NBSP}s"
    if s < 3600:
        return f"{s // 60}{NBSP}min {s % 60}{NBSP}s" if s % 60 else f"{s // 60}{NBSP}min"
    return f"{s // 3600}{NBSP}h {(s % 3600) // 60:02d}{NBSP}min"


def clock(seconds: float) -> str:
    """Time into the run: ``2:25``, ``1:02:05``."""
    s = max(0, round(seconds))
    if s >= 3600:
        return f"{s // 3600}:{(s % 3600) // 60:02d}:{s % 60:02d}"
    return f"{s // 60}:{s % 60:02d}"


def zone(name: str | None = None) -> tzinfo:
    """The IANA zone ``name`` (e.g. ``Europe/Berlin``), or this machine's local zone."""
    if not name:
        local = datetime.now().astimezone().tzinfo
        return local if local is not None else UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingError(f"unknown time zone {name!r}: give an IANA name such as "
                           "Europe/Berlin or America/New_York") from None


def local(time_ns: int, tz: tzinfo) -> datetime:
    return datetime.fromtimestamp(time_ns / 1e9, tz=UTC).astimezone(tz)


def date_time(time_ns: int, tz: tzinfo) -> str:
    """``Thursday 15 January 2026, 10:00 (CET)``: English names built here, so the output
    does not depend on the machine's locale."""
    t = local(time_ns, tz)
    return (f"{WEEKDAYS[t.weekday()]} {t.day} {MONTHS[t.month - 1]} {t.year}, "
            f"{t:%H:%M} ({t.tzname() or 'local time'})")


def short_date(time_ns: int, tz: tzinfo) -> str:
    """``15 Jan 2026``."""
    t = local(time_ns, tz)
    return f"{t.day} {MONTHS[t.month - 1][:3]} {t.year}"


def short_date_time(time_ns: int, tz: tzinfo) -> str:
    """``15 Jan 2026 10:00``."""
    return f"{short_date(time_ns, tz)} {local(time_ns, tz):%H:%M}"


def short_date_day(day: date) -> str:
    """A calendar day: ``12 Jan``."""
    return f"{day.day} {MONTHS[day.month - 1][:3]}"


def count(value: int | None) -> str:
    """``11 063``: thousands apart by a narrow no-break space."""
    return NONE if value is None else f"{value:,}".replace(",", NNBSP)


def impact_load(value_g: float | None) -> str:
    """Cumulative impact, steps × PTA: ``110 000 g·steps``."""
    return NONE if value_g is None else f"{count(round(value_g))}{NBSP}g·steps"
