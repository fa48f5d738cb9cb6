"""A session recorded from a replay or simulation at --speed 10 is analysed in its own time."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from footfall.cli import main
from footfall.recordings.session_file import SessionWriter, data_span_ns, read_info
from footfall.simulators.framing import to_frames
from footfall.simulators.runner import RunnerParams, synthesize
from footfall.wire.events import DeviceMeta
from footfall.wire.frame import encode
from footfall.wire.topics import Stream, Topic

START_NS = 1_795_000_000_000_000_000
SPEED = 10.0


def test_baseline_window_follows_the_data_not_the_recorder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 160 spm for the first 3 s, then 176: a baseline 6-18 s into the data must be 176; the
    # same window taken on the recorder's clock (its 6 s span) would be ~160
    run = synthesize(RunnerParams(cadence_spm=((0.0, 160.0), (3.0, 160.0), (3.5, 176.0)),
                                  sample_rate_hz=500.0, side="left", seed=9), 60.0)
    frames, _ = to_frames(run, start_utc_ns=START_NS, samples_per_frame=25)
    path = tmp_path / "fast.mcap"
    meta = DeviceMeta(profile="sim", placement="tibia", side="left", sample_rate_hz=500.0,
                      accel_range_g=run.accel_range_g)
    with SessionWriter(path, source="synthetic") as writer:
        writer.write(Topic("a", "s", "tibia-left", Stream.META), meta.to_json(),
                     log_time_ns=START_NS)
        for timed in frames:  # received at ten times the data's pace
            writer.write(Topic("a", "s", "tibia-left", Stream.IMU), encode(timed.frame),
                         log_time_ns=START_NS + round(timed.due_s * 1e9 / SPEED))
    assert read_info(path).duration_s == pytest.approx(6.0, abs=0.2)
    first, last = data_span_ns(path) or (0, 0)
    assert (last - first) / 1e9 == pytest.approx(60.0, abs=0.2)

    assert main(["analyze", str(path), "--json", "--warmup-s", "6", "--baseline-s", "12"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["summary"]["tibia-left"]["cadence_baseline_spm"] == pytest.approx(176.0, abs=2.0)
    assert abs(report["summary"]["tibia-left"]["cadence_drift_pct"]) < 1.5
    times = np.array([s["time_s"] for s in report["steps"]])
    assert 0.0 <= times[0] < 1.0 and times[-1] == pytest.approx(60.0, abs=1.0)
