"""Any recording a user brings, as the device tracks a live session would have published.

One place decides what a file is (:func:`detect_kind`) and how it becomes tracks
(:func:`load`), so ``footfall analyze``, ``record --from`` and ``replay`` read a file the same
way and give the same numbers:

- ``session``: a footfall session file (MCAP) — already messages, read by
  :mod:`.session_file`;
- ``fit``: a watch or foot-pod activity — its running records as an RSC foot pod (:mod:`.fit`);
- ``csv``: one accelerometer (:mod:`.csv`), or a watch's records exported as CSV
  (:mod:`.watch_csv`: time, cadence, speed — read as a foot pod, like a FIT file);
- ``dataset``: the Alcantara 2022 sacral dataset directory (:mod:`.alcantara`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from footfall.core.errors import FootfallError
from footfall.core.vocab import Placement, Side
from footfall.recordings.framing import UNDATED_UTC_NS
from footfall.recordings.session_file import SessionInfo
from footfall.recordings.tracks import DeviceTrack, track_messages, write_session
from footfall.wire.topics import Topic

KINDS = ("session", "fit", "csv", "dataset")
SUFFIXES = {".mcap": "session", ".fit": "fit", ".csv": "csv"}


class ImportKindError(FootfallError):
    """The kind of a source cannot be determined, or it cannot be read as that kind."""


def detect_kind(path: Path) -> str:
    """By the name, else by the content: an MCAP or FIT header, else text (CSV)."""
    if path.is_dir():
        return "dataset"
    if not path.exists():
        raise ImportKindError(f"cannot tell what {path} is: it does not exist")
    suffix = path.suffix.lower()
    if suffix == ".gz":  # a compressed CSV (run.csv.gz)
        suffix = Path(path.stem).suffix.lower()
    kind = SUFFIXES.get(suffix)
    if kind is not None:
        return kind
    try:
        with path.open("rb") as f:
            head = f.read(16)
    except OSError as exc:
        raise ImportKindError(f"cannot read {path}: {exc.strerror}") from None
    if head.startswith(b"\x89MCAP"):
        return "session"
    if head[8:12] == b".FIT":
        return "fit"
    if head[:1].isascii() and head[:1].decode("ascii").isprintable():
        return "csv"
    raise ImportKindError(f"cannot tell what {path} is: use a .mcap session, a .fit activity, "
                          "a .csv (time_s,ax_g,ay_g,az_g) or the dataset directory, or say "
                          "which (--format)")


@dataclass(frozen=True, slots=True)
class ImportOptions:
    """How to read a recording that does not say it itself (every field has the one default
    all commands share)."""

    athlete: str = "offline"
    session: str | None = None  # None: from the data's start time
    #: CSV/dataset: UTC of the first sample; None: undated (``UNDATED_UTC_NS``) or, where a
    #: session file is written, the time of the import
    start_utc_ns: int | None = None
    device: str | None = None  # default footpod / imu / sacrum
    placement: Placement = Placement.TIBIA  # CSV
    side: Side = Side.NONE  # CSV
    #: CSV: the sensor's full-scale range; None: the smallest standard range covering the data
    accel_range_g: int | None = None
    sample_rate_hz: float | None = None  # CSV: replaces its time column
    trials: tuple[int, ...] | None = None  # dataset
    leg: int | None = None  # FIT: only this run leg (1 = the first); None: every run leg


@dataclass(slots=True)
class Loaded:
    """A recording as tracks, with what the user should know about how it was read."""

    kind: str
    tracks: list[DeviceTrack]
    athlete: str
    session: str
    source: str
    extra: dict[str, str] = field(default_factory=dict)
    attachments: dict[str, bytes] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    #: False: the data carries no date of its own (times are relative)
    dated: bool = True
    #: UTC of the first sample, and that instant in the input's own timebase (a CSV's time_s)
    start_ns: int = 0
    time0_s: float = 0.0

    def messages(self) -> Iterator[tuple[int, Topic, bytes]]:
        return track_messages(self.tracks, athlete=self.athlete, session=self.session)


def session_id_at(time_ns: int) -> str:
    return datetime.fromtimestamp(time_ns / 1e9, tz=UTC).strftime("%Y%m%dT%H%M%SZ")


def _watch_records(path: Path) -> bool:
    """A CSV of watch records (cadence and speed) rather than of accelerometer samples."""
    from footfall.recordings.watch_csv import is_watch_csv

    if path.suffix.lower() == ".gz":
        return False
    try:
        with path.open(encoding="utf-8", errors="replace") as f:
            return is_watch_csv(f.readline().split(","))
    except OSError:
        return False


def load(kind: str, source: Path, options: ImportOptions) -> Loaded:
    """Read ``source`` (of ``kind``: fit, csv or dataset) as tracks."""
    from footfall.recordings.fit import FitImportError, fit_tracks

    if kind == "fit":
        from footfall.recordings.fit import read_fit

        try:
            fit = read_fit(source)
            tracks = fit_tracks(fit, options.device or "footpod", options.leg)
        except FitImportError as exc:
            raise ImportKindError(str(exc)) from exc
        first_ns = min(t.messages[0][0] for t in tracks)
        session = options.session or session_id_at(first_ns)
        notes = []
        if len(fit.legs) > 1:
            notes.append(f"{len(fit.legs)} run legs, each analysed on its own (--leg N for "
                         "one): " + "; ".join(g.describe() for g in fit.legs))
        others = sorted({w.sport for w in fit.windows} - {"running"})
        if others:
            notes.append(f"skipped the other sports' records ({', '.join(others)}): "
                         f"{fit.records_not_running} records")
        return Loaded("fit", tracks, options.athlete, session, "fit", start_ns=first_ns,
                      notes=notes,
                      extra={"imported_from": source.name,
                             "fit_sports": ",".join(w.sport for w in fit.windows),
                             "fit_records_not_running": str(fit.records_not_running)})
    start_ns = options.start_utc_ns if options.start_utc_ns is not None else UNDATED_UTC_NS
    session = options.session or session_id_at(start_ns)
    dated = options.start_utc_ns is not None
    if kind == "csv" and _watch_records(source):
        from footfall.recordings.watch_csv import read_watch_csv

        try:
            records = read_watch_csv(source)
            tracks = fit_tracks(records, options.device or "footpod")
        except FitImportError as exc:
            raise ImportKindError(str(exc)) from exc
        first_ns = tracks[0].messages[0][0]
        return Loaded("csv", tracks, options.athlete, options.session or session_id_at(first_ns),
                      "csv", start_ns=first_ns, extra={"imported_from": source.name},
                      notes=["a watch's records (time, cadence, speed): read as a foot pod"])
    if kind == "csv":
        from footfall.recordings.csv import CsvFormatError, choose_range_g, csv_track, read_csv

        try:
            rec = read_csv(source, options.sample_rate_hz)
        except CsvFormatError as exc:
            raise ImportKindError(str(exc)) from exc
        range_g = options.accel_range_g or choose_range_g(rec.accel_g)
        peak = float(abs(rec.accel_g).max())
        how = "the smallest standard range covering the data" if peak <= range_g else \
            f"the data pile up at {peak:.3f} g, just beyond it: its rail"
        notes = [f"sensor range ±{range_g} g" + (
            f" assumed ({how}; pass --range-g): samples within 0.1 % of it count as clipped"
            if options.accel_range_g is None else "")]
        track = csv_track(rec, device=options.device or "imu", start_utc_ns=start_ns,
                          placement=options.placement, side=options.side,
                          accel_range_g=range_g)
        return Loaded("csv", [track], options.athlete, session, "csv",
                      extra={"imported_from": source.name}, notes=notes, dated=dated,
                      start_ns=start_ns, time0_s=float(rec.time_s[0]))
    if kind == "dataset":
        from footfall.recordings.alcantara import alcantara_track

        track, truth = alcantara_track(source, start_utc_ns=start_ns, trials=options.trials,
                                       device=options.device or "sacrum")
        return Loaded("dataset", [track], options.athlete, session, "dataset:alcantara2022",
                      extra={"imported_from": source.name},
                      attachments={f"truth/{track.device}.json": truth}, dated=dated,
                      start_ns=start_ns)
    raise ImportKindError(f"cannot import {kind!r}: expected one of fit, csv, dataset")


def import_file(kind: str, source: Path, out: Path, options: ImportOptions) -> SessionInfo:
    """Convert ``source`` into the session file ``out``; an undated CSV or dataset is dated
    at the time of the import."""
    if kind in ("csv", "dataset") and options.start_utc_ns is None:
        from dataclasses import replace

        options = replace(options, start_utc_ns=time.time_ns())
    loaded = load(kind, source, options)
    return write_session(out, loaded.tracks, athlete=loaded.athlete, session=loaded.session,
                         source=loaded.source, extra=loaded.extra,
                         attachments=loaded.attachments)
