"""A FIT activity (watch or foot pod) → an RSC foot-pod stream, as the pod would have sent it.

Each FIT ``record`` with a cadence and a speed becomes one :class:`RscSample` at the record's
timestamp. FIT stores running cadence in strides/min, so steps/min = 2 × (cadence +
fractional_cadence); speed is ``enhanced_speed`` (else ``speed``) in m/s. In a multisport
file only records inside a *running* session are kept (a bike cadence in rpm is no step
rate). Decoding uses Garmin's own SDK (``garmin_fit_sdk``).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from garmin_fit_sdk import Decoder, Stream

from footfall.core.errors import FootfallError
from footfall.core.vocab import Placement, Side
from footfall.recordings.tracks import DeviceTrack
from footfall.wire.events import DeviceMeta, RscSample
from footfall.wire.topics import Stream as WireStream

log = logging.getLogger(__name__)

RUNNING_SPORTS = frozenset({"running"})
#: RSC's walking/running flag: below this step rate we call it walking
RUNNING_MIN_SPM = 140.0


class FitImportError(FootfallError):
    """The FIT file cannot be imported; the message says why."""


@dataclass(frozen=True, slots=True)
class SportWindow:
    sport: str
    start_ns: int
    end_ns: int


@dataclass(frozen=True, slots=True)
class FitImport:
    samples: list[RscSample]
    windows: list[SportWindow]  # every session in the file, running or not
    model: str
    records_total: int
    records_not_running: int
    records_incomplete: int  # no cadence or no speed


def to_ns(value: datetime) -> int:
    return int(value.timestamp()) * 1_000_000_000 + value.microsecond * 1000


def steps_per_min(record: dict[str, Any]) -> float | None:
    cadence = record.get("cadence")
    if cadence is None:
        return None
    return 2.0 * (float(cadence) + float(record.get("fractional_cadence") or 0.0))


def _windows(messages: dict[str, list[dict[str, Any]]]) -> list[SportWindow]:
    out = []
    for session in messages.get("session_mesgs", []):
        start, elapsed = session.get("start_time"), session.get("total_elapsed_time")
        if not isinstance(start, datetime) or elapsed is None:
            continue
        start_ns = to_ns(start)
        end_ns = start_ns + round(float(elapsed) * 1e9)
        # the session's timestamp is its end; elapsed time is rounded down on some watches
        # (the Fenix 2 file's last record lies 1 s after start + elapsed)
        stamp = session.get("timestamp")
        if isinstance(stamp, datetime):
            end_ns = max(end_ns, to_ns(stamp))
        out.append(SportWindow(str(session.get("sport", "")), start_ns, end_ns))
    return out


def read_fit(path: Path | str) -> FitImport:
    """Decode ``path`` and keep the running records as RSC samples."""
    try:
        decoder = Decoder(Stream.from_file(str(path)))
        if not decoder.is_fit():
            raise FitImportError(f"{path} is not a FIT file")
        raw_messages, errors = decoder.read()
    except OSError as exc:
        raise FitImportError(f"cannot read {path}: {exc.strerror}") from exc
    # plain dicts: the SDK's TypedDicts do not cover developer or unknown fields
    messages = cast(dict[str, list[dict[str, Any]]], raw_messages)
    for error in errors:
        log.warning("%s: FIT decoder: %s", path, error)
    records = [r for r in messages.get("record_mesgs", []) if isinstance(r.get("timestamp"),
                                                                         datetime)]
    if not records:
        raise FitImportError(f"{path} has no timestamped records")
    windows = _windows(messages)
    running = [w for w in windows if w.sport in RUNNING_SPORTS]
    if windows and not running:
        raise FitImportError(f"{path} has no running session (sports: "
                             f"{', '.join(sorted({w.sport for w in windows}))})")
    if not windows:
        log.warning("%s has no session messages: treating every record as running", path)
    samples: list[RscSample] = []
    not_running = incomplete = 0
    for record in records:
        time_ns = to_ns(record["timestamp"])
        if running and not any(w.start_ns <= time_ns <= w.end_ns for w in running):
            not_running += 1
            continue
        spm = steps_per_min(record)
        speed = record.get("enhanced_speed", record.get("speed"))
        if spm is None or speed is None:
            incomplete += 1
            continue
        distance = record.get("distance")
        samples.append(RscSample(
            time_ns=time_ns, speed_mps=float(speed), cadence_spm=spm,
            running=spm >= RUNNING_MIN_SPM,
            total_distance_m=None if distance is None else float(distance),
            seq=len(samples)))
    if incomplete:
        log.info("%s: %d records without cadence or speed skipped", path, incomplete)
    file_id = (messages.get("file_id_mesgs") or [{}])[0]
    model = " ".join(str(file_id[k]) for k in ("manufacturer", "garmin_product", "product")
                     if k in file_id and (k != "product" or "garmin_product" not in file_id))
    return FitImport(samples, windows, model or "unknown", len(records), not_running, incomplete)


def fit_track(fit: FitImport, device: str = "footpod") -> DeviceTrack:
    """The pod's stream: each sample published at its own time (a pod sends ~1/s)."""
    if not fit.samples:
        raise FitImportError("the FIT file has no running record with cadence and speed")
    times = [s.time_ns for s in fit.samples]
    intervals = sorted(b - a for a, b in itertools.pairwise(times) if b > a)
    rate = 1e9 / intervals[len(intervals) // 2] if intervals else 1.0
    meta = DeviceMeta(profile="rsc", placement=Placement.FOOT, side=Side.NONE,
                      sample_rate_hz=rate, model=f"{fit.model} (FIT import)"[:100])
    return DeviceTrack(device, meta, [(s.time_ns, WireStream.RSC, s.to_json())
                                      for s in fit.samples])


__all__: Sequence[str] = ["FitImport", "FitImportError", "fit_track", "read_fit",
                          "steps_per_min"]
