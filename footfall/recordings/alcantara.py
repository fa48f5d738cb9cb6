"""The Alcantara et al. 2022 sacral accelerometer dataset → a 500 Hz sacrum IMU session.

Source: github.com/alcantarar/Recurrent_GRF_Prediction (Apache-2.0), "Predicting continuous
ground reaction forces from accelerometers during uphill and downhill running" (PeerJ 2022).
One runner, 31 treadmill trials of ~5 s at 2.5–4.17 m/s, slopes −10…+10°. The file has the
vertical and anterior-posterior sacral acceleration in g (already low-pass filtered by the
authors); the medio-lateral axis was not provided and is sent as 0 g.

Trials are played one after another, ``TRIAL_GAP_S`` apart; the first frame of each trial is
flagged as a gap. The force-plate truth (foot contacts from vertical GRF > 0.1 BW) is attached
as ``truth/<device>.json``, so a step detector on the sacrum can be scored.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from footfall.recordings.session_file import SessionInfo
from footfall.recordings.tracks import chunk_samples, imu_track, write_session
from footfall.simulators.framing import TimedFrame, frame_counts
from footfall.wire.events import DeviceMeta
from footfall.wire.frame import g_to_counts

SAMPLE_RATE_HZ = 500.0
SAMPLES_PER_TRIAL = 2480
TRIAL_GAP_S = 2.0
CONTACT_THRESHOLD_BW = 0.1
ACCEL_RANGE_G = 16
ACCEL_FILE = "Accelerometer_one_sub.csv"
GRF_FILE = "GRF_one_sub.csv"
INFO_FILE = "Sub_Info_one_sub.csv"


@dataclass(frozen=True, slots=True)
class Trial:
    index: int
    speed_mps: float
    slope_deg: float
    accel_g: npt.NDArray[np.float64]  # (2480, 3): vertical, anterior-posterior, 0
    grf_bw: npt.NDArray[np.float64]

    def contacts(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """(on_s, off_s) of every complete foot contact (GRF above 0.1 BW)."""
        loaded = self.grf_bw > CONTACT_THRESHOLD_BW
        edges = np.diff(loaded.astype(np.int8))
        on = np.flatnonzero(edges == 1) + 1
        off = np.flatnonzero(edges == -1) + 1
        off = off[off > on[0]] if on.size else off[:0]
        n = min(on.size, off.size)
        return on[:n] / SAMPLE_RATE_HZ, off[:n] / SAMPLE_RATE_HZ


def _data_file(root: Path, name: str) -> Path:
    """The dataset's file, as published or gzip-compressed (as kept under tests/data)."""
    for candidate in (root / name, root / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{root} has neither {name} nor {name}.gz: is it the "
                            "sacral-grf-alcantarar dataset directory?")


def load_trials(directory: Path | str) -> list[Trial]:
    root = Path(directory)
    accel = np.loadtxt(_data_file(root, ACCEL_FILE), delimiter=",")
    grf = np.loadtxt(_data_file(root, GRF_FILE), delimiter=",")
    with _data_file(root, INFO_FILE).open(encoding="utf-8") as f:
        info = list(csv.DictReader(f))
    trials = []
    for i, row in enumerate(info):
        vertical = accel[i, :SAMPLES_PER_TRIAL]
        fore_aft = accel[i, SAMPLES_PER_TRIAL:2 * SAMPLES_PER_TRIAL]
        xyz = np.column_stack([vertical, fore_aft, np.zeros(SAMPLES_PER_TRIAL)])
        trials.append(Trial(i, float(row["Speed"]), float(row["Slope"]), xyz, grf[i]))
    return trials


def write_alcantara_session(directory: Path | str, out: Path | str, *, athlete: str,
                            session: str, start_utc_ns: int, trials: Sequence[int] | None = None,
                            device: str = "sacrum") -> SessionInfo:
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
    meta = DeviceMeta(profile="dataset", placement="sacrum", side="none",
                      sample_rate_hz=SAMPLE_RATE_HZ, accel_range_g=ACCEL_RANGE_G,
                      model="Alcantara 2022 sacral accelerometer (dataset import)",
                      extra={"axes": ["vertical", "anterior-posterior", "none (0 g)"]})
    body = {"source": "github.com/alcantarar/Recurrent_GRF_Prediction (Apache-2.0)",
            "contact_threshold_bw": CONTACT_THRESHOLD_BW, "trials": truth}
    return write_session(out, [imu_track(device, meta, frames, start_utc_ns)], athlete=athlete,
                         session=session, source="dataset:alcantara2022",
                         extra={"imported_from": str(Path(directory).name)},
                         attachments={f"truth/{device}.json": json.dumps(body).encode()})
