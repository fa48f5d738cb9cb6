"""The Alcantara et al. 2022 sacral accelerometer dataset → a 500 Hz sacrum IMU session.

Source: github.com/alcantarar/Recurrent_GRF_Prediction (Apache-2.0), "Predicting continuous
ground reaction forces from accelerometers during uphill and downhill running" (PeerJ 2022).
One runner, 31 treadmill trials of ~5 s at 2.5–4.17 m/s, slopes −10…+10°. The file has the
vertical and anterior-posterior sacral acceleration in g (already low-pass filtered by the
authors); the medio-lateral axis was not provided and is sent as 0 g.

Trials are played one after another, ``TRIAL_GAP_S`` apart; the first frame of each trial is
flagged as a gap. The force-plate truth (:func:`grf_contacts`: foot contacts from vertical
GRF > 0.1 BW for ≥ 20 ms) goes with it as ``truth/<device>.json``, so a step detector on the
sacrum can be scored.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

from footfall.core.vocab import Placement, Side
from footfall.recordings.framing import TimedFrame, frame_counts
from footfall.recordings.tracks import DeviceTrack, chunk_samples, imu_track
from footfall.wire.events import DeviceMeta
from footfall.wire.frame import g_to_counts

SAMPLE_RATE_HZ = 500.0
SAMPLES_PER_TRIAL = 2480
TRIAL_GAP_S = 2.0
CONTACT_THRESHOLD_BW = 0.1
#: a contact lasts at least 20 ms (running stance is 95–270 ms, Kiernan 2023)
MIN_CONTACT_SAMPLES = 10
ACCEL_RANGE_G = 16
FloatArray: TypeAlias = npt.NDArray[np.float64]
IntArray: TypeAlias = npt.NDArray[np.intp]
ACCEL_FILE = "Accelerometer_one_sub.csv"
GRF_FILE = "GRF_one_sub.csv"
INFO_FILE = "Sub_Info_one_sub.csv"


@dataclass(frozen=True, slots=True)
class Contacts:
    """Foot contacts from a force trace: [on, off) sample ranges; ``complete`` ones are inside
    the recording (a contact cut by its start or end has unknown timing)."""

    on: IntArray
    off: IntArray
    complete: npt.NDArray[np.bool_]


def grf_contacts(force_bw: FloatArray, threshold_bw: float = CONTACT_THRESHOLD_BW,
                 min_samples: int = MIN_CONTACT_SAMPLES) -> Contacts:
    """The dataset's truth: a foot contact is where vertical GRF exceeds ``threshold_bw`` for
    at least ``min_samples`` (20 ms at 500 Hz)."""
    above = force_bw > threshold_bw
    edges = np.diff(np.concatenate(([0], above.astype(np.int8), [0])))
    on, off = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    long = (off - on) >= min_samples
    on, off = on[long], off[long]
    complete = (on > 0) & (off < force_bw.size)
    return Contacts(on, off, complete)


@dataclass(frozen=True, slots=True)
class Trial:
    index: int  # 0-based, as in the files
    speed_mps: float
    slope_deg: float
    accel_g: FloatArray  # (2480, 3): vertical, anterior-posterior, 0
    grf_bw: FloatArray

    @property
    def number(self) -> int:
        """1-based, as the paper numbers its trials."""
        return self.index + 1

    def contacts(self) -> tuple[FloatArray, FloatArray]:
        """(on_s, off_s) of every complete foot contact (:func:`grf_contacts`)."""
        c = grf_contacts(self.grf_bw)
        return (c.on[c.complete] / SAMPLE_RATE_HZ, c.off[c.complete] / SAMPLE_RATE_HZ)


def _data_file(root: Path, name: str) -> Path:
    """The dataset's file, as published or gzip-compressed (as kept under tests/data)."""
    for candidate in (root / name, root / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{root} has neither {name} nor {name}.gz: is it the "
                            "sacral-grf-alcantarar dataset directory?")


def load_trials(directory: Path | str) -> list[Trial]:
    """Every trial of the dataset (the one loader: imports, validation and tests use it)."""
    root = Path(directory)
    accel = np.loadtxt(_data_file(root, ACCEL_FILE), delimiter=",", ndmin=2)
    grf = np.loadtxt(_data_file(root, GRF_FILE), delimiter=",", ndmin=2)
    with _data_file(root, INFO_FILE).open(encoding="utf-8") as f:
        info = list(csv.DictReader(f))
    trials = []
    for i, row in enumerate(info):
        vertical = accel[i, :SAMPLES_PER_TRIAL]
        fore_aft = accel[i, SAMPLES_PER_TRIAL:2 * SAMPLES_PER_TRIAL]
        xyz = np.column_stack([vertical, fore_aft, np.zeros(SAMPLES_PER_TRIAL)])
        trials.append(Trial(i, float(row["Speed"]), float(row["Slope"]), xyz, grf[i]))
    return trials


def alcantara_track(directory: Path | str, *, start_utc_ns: int,
                    trials: Sequence[int] | None = None,
                    device: str = "sacrum") -> tuple[DeviceTrack, bytes]:
    """The selected trials (0-based) one after another as one sacrum device, and the
    force-plate truth as JSON."""
    selected = load_trials(directory)
    if trials is not None:
        selected = [selected[i] for i in trials]
    frames: list[TimedFrame] = []
    truth: list[dict[str, Any]] = []
    per_frame = chunk_samples(SAMPLE_RATE_HZ)
    offset_s, seq = 0.0, 0
    for k, trial in enumerate(selected):
        part, _ = frame_counts(
            g_to_counts(trial.accel_g, ACCEL_RANGE_G), sample_rate_hz=SAMPLE_RATE_HZ,
            accel_range_g=ACCEL_RANGE_G, start_utc_ns=start_utc_ns + round(offset_s * 1e9),
            samples_per_frame=per_frame, sensor_start_us=round(offset_s * 1e6), seq_start=seq,
            gap_before=k > 0)
        frames += [TimedFrame(f.due_s + offset_s, f.frame) for f in part]
        seq += len(part)
        on, off = trial.contacts()
        truth.append({"trial": trial.index, "speed_mps": trial.speed_mps,
                      "slope_deg": trial.slope_deg, "start_s": offset_s,
                      "contact_on_s": np.round(on + offset_s, 4).tolist(),
                      "contact_off_s": np.round(off + offset_s, 4).tolist(),
                      "step_rate_spm": round(60 / float(np.median(np.diff(on))), 2)
                      if on.size > 1 else None})
        offset_s += SAMPLES_PER_TRIAL / SAMPLE_RATE_HZ + TRIAL_GAP_S
    meta = DeviceMeta(profile="dataset", placement=Placement.SACRUM, side=Side.NONE,
                      sample_rate_hz=SAMPLE_RATE_HZ, accel_range_g=ACCEL_RANGE_G,
                      model="Alcantara 2022 sacral accelerometer (dataset import)",
                      axes=("vertical", "anterior-posterior", "none (0 g)"))
    body = {"source": "github.com/alcantarar/Recurrent_GRF_Prediction (Apache-2.0)",
            "contact_threshold_bw": CONTACT_THRESHOLD_BW, "trials": truth}
    return imu_track(device, meta, frames, start_utc_ns), json.dumps(body).encode()
