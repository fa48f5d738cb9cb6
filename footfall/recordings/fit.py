"""A FIT activity (watch or foot pod) → an RSC foot-pod stream, as the pod would have sent it.

Each FIT ``record`` with a cadence and a speed becomes one :class:`RscSample` at the record's
timestamp. FIT stores running cadence in strides/min, so steps/min = 2 × (cadence +
fractional_cadence); speed is ``enhanced_speed`` (else ``speed``) in m/s. In a multisport
file only records inside a *running* session are kept (a bike cadence in rpm is no step
rate), and each running session is a **run leg** of its own (an Ironman's marathon, the two
runs of a duathlon): :func:`fit_tracks` makes one foot-pod stream per leg, so its baseline,
drift and pauses are its own. Decoding uses Garmin's own SDK (``garmin_fit_sdk``).
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
from pydantic import ValidationError

from footfall.config.analysis import WALKING_BELOW_SPM
from footfall.core.errors import FootfallError
from footfall.core.vocab import Placement, Side
from footfall.recordings.tracks import DeviceTrack
from footfall.wire.events import DeviceMeta, RscSample
from footfall.wire.topics import Stream as WireStream

log = logging.getLogger(__name__)

RUNNING_SPORTS = frozenset({"running"})
#: a session ends at start + elapsed time; its last record may lie up to a second later (the
#: Fenix 2 rounds elapsed time down). The session's own timestamp is no end: the Ironman's run
#: is stamped 7.6 h after its last record
SESSION_END_TOLERANCE_S = 2.0


class FitImportError(FootfallError):
    """The FIT file cannot be imported; the message says why."""


@dataclass(frozen=True, slots=True)
class SportWindow:
    sport: str
    start_ns: int
    end_ns: int


@dataclass(frozen=True, slots=True)
class RunLeg:
    """One running session of the file (``number`` 1 = the first) and its samples."""

    number: int
    window: SportWindow
    samples: list[RscSample]

    def describe(self) -> str:
        start = datetime.fromtimestamp(self.window.start_ns / 1e9).astimezone()
        minutes = (self.window.end_ns - self.window.start_ns) / 60e9
        return f"leg {self.number}: {start:%Y-%m-%d %H:%M} ({minutes:.0f} min)"


@dataclass(frozen=True, slots=True)
class FitImport:
    samples: list[RscSample]  # every running record, all legs
    windows: list[SportWindow]  # every session in the file, running or not
    model: str
    records_total: int
    records_not_running: int
    records_incomplete: int  # no cadence or no speed, or a value out of range
    legs: list[RunLeg]  # the running sessions (one leg when the file has no sessions)


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
        end_ns = start_ns + round((float(elapsed) + SESSION_END_TOLERANCE_S) * 1e9)
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
    file_id = (messages.get("file_id_mesgs") or [{}])[0]
    model = " ".join(str(file_id[k]) for k in ("manufacturer", "garmin_product", "product")
                     if k in file_id and (k != "product" or "garmin_product" not in file_id))
    return from_records(path, records, windows, model or "unknown")


def from_records(path: Path | str, records: list[dict[str, Any]], windows: list[SportWindow],
                 model: str) -> FitImport:
    """Watch records (``timestamp`` a datetime; ``cadence`` per leg and ``fractional_cadence``
    as FIT has them; ``enhanced_speed`` or ``speed`` in m/s; ``distance`` in m) as running
    foot-pod samples: a FIT file's, or a CSV export's (:mod:`.watch_csv`)."""
    running = [w for w in windows if w.sport in RUNNING_SPORTS]
    if not windows:
        log.warning("%s has no session messages: treating every record as running", path)
    samples: list[RscSample] = []
    legs: dict[int, list[RscSample]] = {}
    not_running = incomplete = out_of_order = 0
    last_ns = -1
    for record in records:
        time_ns = to_ns(record["timestamp"])
        if time_ns <= last_ns:  # a watch's clock correction: time must go forward
            out_of_order += 1
            continue
        last_ns = time_ns
        # a record on the edge of two sessions belongs to the later one
        leg = next((i for i in range(len(running) - 1, -1, -1)
                    if running[i].start_ns <= time_ns <= running[i].end_ns), None)
        if running and leg is None:
            not_running += 1
            continue
        spm = steps_per_min(record)
        speed = record.get("enhanced_speed", record.get("speed"))
        if spm is None or speed is None:
            incomplete += 1
            continue
        distance = record.get("distance")
        try:
            sample = RscSample(
                time_ns=time_ns, speed_mps=float(speed), cadence_spm=spm,
                running=spm >= WALKING_BELOW_SPM,
                total_distance_m=None if distance is None else float(distance),
                seq=len(samples))
        except ValidationError as exc:  # e.g. a GPS speed glitch beyond any runner
            incomplete += 1
            log.info("%s: skipped a record at %s: %s", path, record["timestamp"],
                     exc.errors()[0]["msg"])
            continue
        samples.append(sample)
        legs.setdefault(leg or 0, []).append(sample)
    if incomplete:
        log.info("%s: %d records without cadence or speed skipped", path, incomplete)
    if out_of_order:
        log.info("%s: %d records not after the previous one skipped", path, out_of_order)
    whole = SportWindow("running", samples[0].time_ns, samples[-1].time_ns) if samples \
        else SportWindow("running", 0, 0)
    run_legs = [RunLeg(i + 1, running[i] if running else whole, legs[i])
                for i in sorted(legs)]
    return FitImport(samples, windows, model, len(records), not_running,
                     incomplete, run_legs)


def fit_tracks(fit: FitImport, device: str = "footpod",
               leg: int | None = None) -> list[DeviceTrack]:
    """One pod stream per run leg (or only leg ``leg``): each sample published at its own
    time (a pod sends ~1/s). With several legs in the file, each device is named
    ``<device>-leg<N>`` and its meta carries the leg."""
    if not fit.samples:
        raise FitImportError("the FIT file has no running record with cadence and speed")
    legs = fit.legs
    if leg is not None:
        legs = [g for g in fit.legs if g.number == leg]
        if not legs:
            raise FitImportError(f"the FIT file has no run leg {leg}: its run legs are "
                                 + "; ".join(g.describe() for g in fit.legs))
    several = len(fit.legs) > 1
    return [_leg_track(fit, g, f"{device}-leg{g.number}" if several else device,
                       g.number if several else None) for g in legs]


def _leg_track(fit: FitImport, leg: RunLeg, device: str, number: int | None) -> DeviceTrack:
    times = [s.time_ns for s in leg.samples]
    intervals = sorted(b - a for a, b in itertools.pairwise(times) if b > a)
    rate = 1e9 / intervals[len(intervals) // 2] if intervals else 1.0
    meta = DeviceMeta(profile="rsc", placement=Placement.FOOT, side=Side.NONE,
                      sample_rate_hz=rate, model=f"{fit.model} (FIT import)"[:100], leg=number)
    return DeviceTrack(device, meta, [(s.time_ns, WireStream.RSC, s.to_json())
                                      for s in leg.samples])


__all__: Sequence[str] = ["FitImport", "FitImportError", "RunLeg", "fit_tracks", "from_records",
                          "read_fit", "steps_per_min"]
