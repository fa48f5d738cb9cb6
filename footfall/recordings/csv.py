"""Accelerometer CSV files: ``time_s,ax_g,ay_g,az_g`` (+ optional ``gx_dps,gy_dps,gz_dps``):
the one CSV reader (``footfall analyze``, ``record --from`` and ``replay`` all use it); a
``.gz`` file is read through gzip.

Columns may come in any order; ``time_s`` may be missing when the sample rate is given. The
sample rate is 1 / the median sample interval; a jump of more than ``GAP_INTERVALS`` intervals
is a gap (lost data), anything else off by more than ``MAX_JITTER`` makes the time column
unusable — then pass the rate explicitly and the time column is ignored. :func:`csv_track` makes
the device stream a sensor at ``accel_range_g`` would have sent: values beyond it saturate.
"""

from __future__ import annotations

import gzip
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

import numpy as np
import numpy.typing as npt

from footfall.core.errors import FootfallError
from footfall.core.vocab import Placement, Side
from footfall.recordings.framing import frame_counts
from footfall.recordings.tracks import DEFAULT_CHUNK_MS, DeviceTrack, chunk_samples, imu_track
from footfall.wire.events import DeviceMeta
from footfall.wire.frame import g_to_counts

log = logging.getLogger(__name__)

FloatArray: TypeAlias = npt.NDArray[np.float64]
#: standard accelerometer full-scale ranges, g
STANDARD_RANGES_G = (2, 4, 8, 16, 32, 64, 100, 200, 400)
#: the gyro channels' full scale in frames made from a CSV
GYRO_RANGE_DPS = 4000

ACCEL_COLUMNS = ("ax_g", "ay_g", "az_g")
GYRO_COLUMNS = ("gx_dps", "gy_dps", "gz_dps")
TIME_COLUMN = "time_s"
GAP_INTERVALS = 1.5
MAX_JITTER = 0.25
#: a factory-trimmed sensor's rail may read up to this much beyond its nominal range (MEMS
#: sensitivity tolerance is about ±1 %): data that pile up there hit that range's rail
RANGE_TOLERANCE = 0.01
#: samples at exactly the data's extreme value that make it a rail, not a true peak
RAIL_SAMPLES = 3


class CsvFormatError(FootfallError, ValueError):
    """The file is not a usable accelerometer CSV; the message says what to change."""


@dataclass(frozen=True, slots=True)
class CsvRecording:
    """Samples in g (and °/s); ``time_s`` is per sample, in the file's own timebase."""

    time_s: FloatArray
    accel_g: FloatArray  # (n, 3)
    gyro_dps: FloatArray | None  # (n, 3) or None
    sample_rate_hz: float
    time_from_file: bool  # False: time_s was made from the given rate, starting at 0

    @property
    def gaps(self) -> npt.NDArray[np.intp]:
        """Indices i where a gap lies between sample i - 1 and i."""
        if not self.time_from_file:
            return np.zeros(0, dtype=np.intp)
        dt = np.diff(self.time_s)
        return np.flatnonzero(dt > GAP_INTERVALS / self.sample_rate_hz) + 1


def read_csv(path: Path | str, sample_rate_hz: float | None = None) -> CsvRecording:
    """Read ``path``; ``sample_rate_hz`` overrides (and replaces) the time column."""
    try:
        return _read_csv(Path(path), sample_rate_hz)
    except UnicodeDecodeError as exc:
        raise CsvFormatError(f"{path}: not a text file in UTF-8 ({exc.reason} at byte "
                             f"{exc.start}): export it as UTF-8 CSV") from None


def _read_csv(path: Path, sample_rate_hz: float | None) -> CsvRecording:
    with (gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz"
          else path.open(encoding="utf-8")) as f:
        header = [c.strip() for c in f.readline().split(",")]
        missing = [c for c in ACCEL_COLUMNS if c not in header]
        if missing:
            raise CsvFormatError(
                f"{path}: header {','.join(header)!r} lacks {', '.join(missing)}; footfall "
                f"reads two kinds of CSV: an accelerometer's {TIME_COLUMN},"
                f"{','.join(ACCEL_COLUMNS)} (time in s, acceleration in g, optionally "
                f"{','.join(GYRO_COLUMNS)}), or a watch's records with timestamp, cadence and "
                "speed columns")
        try:
            data = np.loadtxt(f, delimiter=",", dtype=np.float64, ndmin=2)
        except ValueError as exc:
            raise CsvFormatError(f"{path}: not a numeric CSV: {exc}") from exc
    if data.shape[0] < 2 or data.shape[1] != len(header):
        raise CsvFormatError(f"{path}: need ≥ 2 rows of {len(header)} columns, got "
                             f"{data.shape}")
    if not np.isfinite(data).all():
        raise CsvFormatError(f"{path}: contains NaN or infinite values")
    col = {name: i for i, name in enumerate(header)}
    accel = data[:, [col[c] for c in ACCEL_COLUMNS]]
    gyro = data[:, [col[c] for c in GYRO_COLUMNS]] if all(c in col for c in GYRO_COLUMNS) \
        else None
    if sample_rate_hz is not None:
        if not sample_rate_hz > 0:
            raise CsvFormatError(f"sample rate must be positive, got {sample_rate_hz}")
        time = np.arange(data.shape[0]) / sample_rate_hz
        return CsvRecording(time, accel, gyro, float(sample_rate_hz), False)
    if TIME_COLUMN not in col:
        raise CsvFormatError(f"{path}: no {TIME_COLUMN} column: give the sample rate "
                             "(--sample-rate HZ)")
    time = data[:, col[TIME_COLUMN]]
    dt = np.diff(time)
    if np.any(dt <= 0):
        raise CsvFormatError(f"{path}: {TIME_COLUMN} does not increase strictly: give the "
                             "sample rate (--sample-rate HZ) to ignore it")
    interval = float(np.median(dt))
    regular = dt[dt <= GAP_INTERVALS * interval]
    if np.max(np.abs(regular - interval)) > MAX_JITTER * interval:
        raise CsvFormatError(f"{path}: irregular sampling around {interval * 1e3:.3f} ms: "
                             "resample it, or give the rate (--sample-rate HZ)")
    return CsvRecording(time, accel, gyro, 1.0 / interval, True)


def csv_track(rec: CsvRecording, *, device: str, start_utc_ns: int, placement: Placement,
              side: Side, accel_range_g: int, chunk_ms: float = DEFAULT_CHUNK_MS) -> DeviceTrack:
    """The recording as the device stream a ±``accel_range_g`` sensor would have sent."""
    counts = g_to_counts(rec.accel_g, accel_range_g)
    gyro_range = 0
    if rec.gyro_dps is not None:
        gyro_range = GYRO_RANGE_DPS
        counts = np.concatenate((counts, g_to_counts(rec.gyro_dps, gyro_range)), axis=1)
    clipped = int(np.count_nonzero(np.abs(rec.accel_g) >= accel_range_g))
    if clipped:
        log.info("%d values reach ±%d g and saturate, as on a ±%d g sensor", clipped,
                 accel_range_g, accel_range_g)
    frames, _ = frame_counts(counts, sample_rate_hz=rec.sample_rate_hz,
                             accel_range_g=accel_range_g, start_utc_ns=start_utc_ns,
                             samples_per_frame=chunk_samples(rec.sample_rate_hz, chunk_ms),
                             time_s=rec.time_s if rec.time_from_file else None,
                             gyro_range_dps=gyro_range)
    meta = DeviceMeta(profile="csv", placement=placement, side=side,
                      sample_rate_hz=rec.sample_rate_hz, accel_range_g=accel_range_g,
                      gyro_range_dps=gyro_range, model="CSV import")
    return imu_track(device, meta, frames, start_utc_ns)


def choose_range_g(accel_g: FloatArray) -> int:
    """The sensor's full-scale range as far as the data show it: the smallest standard range
    covering the data — or a smaller one when the data pile up (``RAIL_SAMPLES`` samples at
    exactly their extreme value) within ``RANGE_TOLERANCE`` beyond it: a rail trimmed a little
    outside its nominal range (values beyond the range then saturate at it)."""
    if not accel_g.size:
        return STANDARD_RANGES_G[0]
    peak = float(np.max(np.abs(accel_g)))
    covering = next((r for r in STANDARD_RANGES_G if peak <= r), STANDARD_RANGES_G[-1])
    below = [r for r in STANDARD_RANGES_G if r < covering]
    if below and peak <= below[-1] * (1 + RANGE_TOLERANCE):
        extremes = np.concatenate((accel_g.max(axis=0), -accel_g.min(axis=0)))
        piled = [int(np.count_nonzero(np.abs(accel_g) == e)) for e in extremes
                 if e > below[-1]]
        if any(n >= RAIL_SAMPLES for n in piled):
            return below[-1]
    return covering
