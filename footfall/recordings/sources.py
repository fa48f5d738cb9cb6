"""Pick the importer for a source path, so commands can take any recording."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from footfall.core.errors import FootfallError
from footfall.recordings.session_file import SessionInfo

KINDS = ("session", "fit", "csv", "dataset")


class ImportKindError(FootfallError):
    """The kind of a source cannot be determined."""


def detect_kind(path: Path) -> str:
    if path.is_dir():
        return "dataset"
    suffix = path.suffix.lower()
    kinds = {".mcap": "session", ".fit": "fit", ".csv": "csv"}
    if suffix not in kinds:
        raise ImportKindError(f"cannot tell what {path} is from its name: use a .mcap session, "
                              "a .fit activity, a .csv (time_s,ax_g,ay_g,az_g) or the dataset "
                              "directory, or say which with --format")
    return kinds[suffix]


@dataclass(frozen=True, slots=True)
class ImportOptions:
    athlete: str
    session: str | None = None  # None: from the data's start time (FIT) or now
    start_utc_ns: int | None = None  # CSV/dataset: UTC of the first sample (default now)
    device: str | None = None
    placement: str = "tibia"
    side: str = "left"
    accel_range_g: int = 16
    trials: tuple[int, ...] | None = None


def session_id_at(time_ns: int) -> str:
    return datetime.fromtimestamp(time_ns / 1e9, tz=UTC).strftime("%Y%m%dT%H%M%SZ")


def import_file(kind: str, source: Path, out: Path, options: ImportOptions) -> SessionInfo:
    """Convert ``source`` (of ``kind``: fit, csv or dataset) into the session file ``out``."""
    start_ns = options.start_utc_ns if options.start_utc_ns is not None else time.time_ns()
    if kind == "fit":
        from footfall.recordings.fit import read_fit, write_fit_session

        session = options.session
        if session is None:
            samples = read_fit(source).samples
            session = session_id_at(samples[0].time_ns) if samples else "fit"
        return write_fit_session(source, out, athlete=options.athlete, session=session,
                                 device=options.device or "footpod")
    session = options.session or session_id_at(start_ns)
    if kind == "csv":
        from footfall.simulators.importers.csv_accel import write_csv_session

        return write_csv_session(source, out, athlete=options.athlete, session=session,
                                 start_utc_ns=start_ns, device=options.device or "imu",
                                 placement=options.placement, side=options.side,
                                 accel_range_g=options.accel_range_g)
    if kind == "dataset":
        from footfall.recordings.alcantara import write_alcantara_session

        return write_alcantara_session(source, out, athlete=options.athlete, session=session,
                                       start_utc_ns=start_ns, trials=options.trials,
                                       device=options.device or "sacrum")
    raise ImportKindError(f"cannot import {kind!r}: expected one of fit, csv, dataset")
