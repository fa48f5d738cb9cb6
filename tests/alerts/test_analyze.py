"""``footfall analyze`` lists the same alerts: a 12-minute fatigue run as a session file."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest

from footfall.commands import analyze
from footfall.recordings.framing import frame_counts
from footfall.recordings.session_file import SessionWriter
from footfall.simulators.runner import RunnerParams, synthesize
from footfall.wire.events import DeviceMeta
from footfall.wire.frame import encode
from footfall.wire.topics import Stream, Topic

from .helpers import UTC0


def _analyze(capsys: pytest.CaptureFixture[str], path: Path) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="footfall")
    analyze.register(parser.add_subparsers())
    args = parser.parse_args(["analyze", str(path), "--json"])
    assert args.func(args) == 0
    out: dict[str, Any] = json.loads(capsys.readouterr().out)
    return out


def test_analyze_of_a_fatigue_session_lists_a_cadence_and_an_impact_alert(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = synthesize(RunnerParams(sample_rate_hz=500, accel_range_g=32, seed=2,
                                  fatigue_start_fraction=1 / 6, fatigue_cadence_drop_pct=6,
                                  fatigue_pta_rise_pct=30), 720)
    path = tmp_path / "fatigue.mcap"
    device = Topic("ann", "fatigue", "tibia-left", Stream.META)
    with SessionWriter(path, source="test", created_ns=UTC0) as writer:
        meta = DeviceMeta(profile="sim", placement="tibia", side="left", sample_rate_hz=500.0,
                          accel_range_g=32).to_json()
        writer.write(device, meta, log_time_ns=UTC0)
        imu = Topic("ann", "fatigue", "tibia-left", Stream.IMU)
        timed, _ = frame_counts(run.counts, sample_rate_hz=500.0, accel_range_g=32,
                                start_utc_ns=UTC0, samples_per_frame=25)
        for frame in (t.frame for t in timed):
            writer.write(imu, encode(frame), log_time_ns=frame.utc_ns)
    report = _analyze(capsys, path)
    starts = [(a["device"], a["rule"]) for a in report["alerts"] if a["state"] == "start"]
    assert sorted(starts) == [("session", "cadence_drift"), ("tibia-left", "impact")]
    assert all(a["state"] == "start" for a in report["alerts"])  # fatigue only grows
    by_rule = {a["rule"]: a for a in report["alerts"]}
    # the same times as the processor-driven test (seed 2): ~450 s and ~519 s into the run
    assert by_rule["cadence_drift"]["time_s"] == pytest.approx(450, abs=15)
    assert by_rule["impact"]["time_s"] == pytest.approx(519, abs=15)
