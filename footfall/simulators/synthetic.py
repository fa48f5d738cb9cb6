"""Synthetic runner sensors → a session file, with each sensor's ground truth attached."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from footfall.recordings.session_file import SessionInfo
from footfall.recordings.tracks import (
    DEFAULT_CHUNK_MS,
    DeviceTrack,
    chunk_samples,
    imu_track,
    write_session,
)
from footfall.simulators.framing import to_frames
from footfall.simulators.runner import AXIS_NAMES, SyntheticRun
from footfall.wire.events import DeviceMeta

TRUTH_PREFIX = "truth/"


def run_meta(run: SyntheticRun) -> DeviceMeta:
    return DeviceMeta(profile="sim", placement=run.placement, side=run.side,
                      sample_rate_hz=run.sample_rate_hz, accel_range_g=run.accel_range_g,
                      model="footfall synthetic runner",
                      axes=AXIS_NAMES[run.placement])


def truth_json(run: SyntheticRun, start_utc_ns: int) -> bytes:
    """The run's truth: strikes (sensor time and UTC) and the 1 Hz cadence/speed/PTA profile."""
    truth, profile = run.truth, run.profile
    every_s = slice(None, None, 10)  # the profile is at 10 Hz; 1 Hz is plenty for scoring
    body: dict[str, Any] = {
        "placement": run.placement,
        "side": run.side,
        "strikes": {
            "time_s": np.round(truth.time_s, 4).tolist(),
            "time_ns": (start_utc_ns + np.round(truth.time_s * 1e9)).astype(np.int64).tolist(),
            "impact_g": np.round(truth.impact_g, 3).tolist(),
            "impact_axial_g": np.round(truth.impact_axial_g, 3).tolist(),
            "side": truth.side.tolist(),
            "own_leg": truth.own_leg.tolist(),
            "clipped": truth.clipped.tolist(),
        },
        "profile": {
            "time_s": np.round(profile.time_s[every_s], 3).tolist(),
            "cadence_spm": np.round(profile.cadence_spm[every_s], 2).tolist(),
            "speed_mps": np.round(profile.speed_mps[every_s], 3).tolist(),
            "pta_g": np.round(profile.pta_g[every_s], 3).tolist(),
        },
    }
    return json.dumps(body, separators=(",", ":")).encode()


def synthetic_tracks(runs: Mapping[str, SyntheticRun], start_utc_ns: int,
                     chunk_ms: float = DEFAULT_CHUNK_MS) -> list[DeviceTrack]:
    tracks = []
    for device, run in runs.items():
        frames, _ = to_frames(run, start_utc_ns=start_utc_ns,
                              samples_per_frame=chunk_samples(run.sample_rate_hz, chunk_ms))
        tracks.append(imu_track(device, run_meta(run), frames, start_utc_ns))
    return tracks


def write_synthetic_session(
    path: Path | str,
    runs: Mapping[str, SyntheticRun],
    *,
    athlete: str,
    session: str,
    start_utc_ns: int,
    chunk_ms: float = DEFAULT_CHUNK_MS,
    extra: Mapping[str, str] | None = None,
    extra_tracks: Sequence[DeviceTrack] = (),
) -> SessionInfo:
    """One IMU device per run (key = device id), truth as ``truth/<device>.json``;
    ``extra_tracks`` adds other devices, e.g. :func:`footfall.simulators.footpod.rsc_track`."""
    return write_session(
        path, [*synthetic_tracks(runs, start_utc_ns, chunk_ms), *extra_tracks],
        athlete=athlete, session=session,
        source="synthetic", extra=extra, created_ns=start_utc_ns,
        attachments={f"{TRUTH_PREFIX}{device}.json": truth_json(run, start_utc_ns)
                     for device, run in runs.items()})
