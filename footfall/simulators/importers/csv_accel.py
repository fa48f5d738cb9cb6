"""A CSV accelerometer recording (``time_s,ax_g,ay_g,az_g``) → one IMU device stream.

The sample rate is the median sample interval. A jump of more than 1.5 intervals is a gap:
the samples after it start a new frame flagged ``FLAG_GAP_BEFORE`` (as a gateway reports
lost data). Values beyond ±``accel_range_g`` saturate, as they would on that sensor.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import numpy.typing as npt

from footfall.core.errors import FootfallError
from footfall.recordings.session_file import SessionInfo
from footfall.recordings.tracks import (
    DEFAULT_CHUNK_MS,
    DeviceTrack,
    chunk_samples,
    imu_track,
    write_session,
)
from footfall.simulators.framing import TimedFrame, frame_counts
from footfall.wire.events import DeviceMeta
from footfall.wire.frame import g_to_counts

log = logging.getLogger(__name__)

COLUMNS = ("time_s", "ax_g", "ay_g", "az_g")
#: more than this many intervals between two samples is a gap, not jitter
GAP_INTERVALS = 1.5
#: sample intervals may wobble this much (fraction) without being called irregular
MAX_JITTER = 0.25


class CsvImportError(FootfallError):
    """The CSV cannot be imported; the message says why and what to do."""


def read_accel_csv(path: Path | str) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """(time_s, accel_g (n, 3)); the header must be ``time_s,ax_g,ay_g,az_g``."""
    with Path(path).open(encoding="utf-8") as f:
        header = tuple(c.strip() for c in f.readline().split(","))
        if header != COLUMNS:
            raise CsvImportError(f"{path}: header is {','.join(header)!r}, expected "
                                 f"{','.join(COLUMNS)!r} (time in s, acceleration in g)")
        try:
            data = np.loadtxt(f, delimiter=",", dtype=np.float64, ndmin=2)
        except ValueError as exc:
            raise CsvImportError(f"{path}: not numeric CSV: {exc}") from exc
    if data.shape[0] < 2 or data.shape[1] != 4:
        raise CsvImportError(f"{path}: need at least 2 rows of 4 columns, got {data.shape}")
    return data[:, 0], data[:, 1:4]


def csv_track(time_s: npt.NDArray[np.float64], accel_g: npt.NDArray[np.float64], *,
              device: str, start_utc_ns: int, placement: str, side: str,
              accel_range_g: int = 16, chunk_ms: float = DEFAULT_CHUNK_MS) -> DeviceTrack:
    dt = np.diff(time_s)
    if np.any(dt <= 0):
        raise CsvImportError("time_s must increase strictly")
    interval = float(np.median(dt))
    gaps = np.flatnonzero(dt > GAP_INTERVALS * interval)
    regular = np.delete(dt, gaps)
    if regular.size and np.max(np.abs(regular - interval)) > MAX_JITTER * interval:
        raise CsvImportError(f"irregular sampling (median interval {interval * 1e3:.3f} ms): "
                             "resample to a fixed rate first")
    rate = 1.0 / interval
    counts = g_to_counts(accel_g, accel_range_g)
    clipped = int(np.count_nonzero(np.abs(accel_g) >= accel_range_g))
    if clipped:
        log.warning("%d values reach ±%d g and saturate, as on a ±%d g sensor", clipped,
                    accel_range_g, accel_range_g)
    per_frame = chunk_samples(rate, chunk_ms)
    frames: list[TimedFrame] = []
    seq = 0
    for k, (lo, hi) in enumerate(zip(np.r_[0, gaps + 1], np.r_[gaps + 1, time_s.size],
                                     strict=True)):
        segment_start_s = float(time_s[lo] - time_s[0])
        part, _ = frame_counts(counts[lo:hi], sample_rate_hz=rate, accel_range_g=accel_range_g,
                               start_utc_ns=start_utc_ns + round(segment_start_s * 1e9),
                               samples_per_frame=per_frame,
                               sensor_start_us=round(segment_start_s * 1e6), seq_start=seq,
                               gap_before=k > 0)
        frames += [TimedFrame(f.due_s + segment_start_s, f.frame) for f in part]
        seq += len(part)
    meta = DeviceMeta(profile="csv", placement=placement, side=side, sample_rate_hz=rate,
                      accel_range_g=accel_range_g, model="CSV import")
    return imu_track(device, meta, frames, start_utc_ns)


def write_csv_session(csv_path: Path | str, out: Path | str, *, athlete: str, session: str,
                      start_utc_ns: int, device: str = "imu", placement: str = "tibia",
                      side: str = "left", accel_range_g: int = 16) -> SessionInfo:
    time_s, accel_g = read_accel_csv(csv_path)
    track = csv_track(time_s, accel_g, device=device, start_utc_ns=start_utc_ns,
                      placement=placement, side=side, accel_range_g=accel_range_g)
    return write_session(out, [track], athlete=athlete, session=session, source="csv",
                         extra={"imported_from": Path(csv_path).name})
