"""The README's main job: `footfall demo` replays the sample session through the whole
pipeline and prints what it read back from InfluxDB — the same figures as `footfall analyze`
gives for the file."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from footfall.demo.run import sample_session
from tests.conftest import _require

pytestmark = pytest.mark.servers
#: times differ (the demo replays the session as if now), and at ms precision in InfluxDB
TIME_FIELDS = {"time_ns", "time_utc", "start_ns", "duration_s"}


def _demo(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    _require("mosquitto")
    _require("influxd")
    done = subprocess.run(
        [sys.executable, "-m", "footfall", "demo", "--state-dir", str(tmp_path), *args],
        capture_output=True, text=True, timeout=300, env={**os.environ, "COLUMNS": "120"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert not list((tmp_path / "demo" / "stack").glob("*/pid"))  # nothing left running
    return done


def test_demo_prints_steps_and_a_summary_read_back_from_influxdb(tmp_path: Path) -> None:
    out = _demo(tmp_path).stdout
    assert re.search(r"tibia-left\s+impact\s+\d+\.\d g\s+cadence\s+1[6-7]\d\.\d spm", out)
    # the summary table: per sensor, steps and the cadence baseline → end of the run
    for side in ("left", "right"):
        row = re.search(rf"tibia-{side}\s+(\d+)\s+(\d+\.\d) → (\d+\.\d)", out)
        assert row is not None, out[-3000:]
        steps, baseline = int(row.group(1)), float(row.group(2))
        assert 335 <= steps <= 345  # ~340 strikes of each leg in the 4-minute sample
        assert 165.0 <= baseline <= 173.0
    assert "Alerts" in out and "impact" in out


def test_piped_demo_output_has_no_escape_codes_and_whole_lines(tmp_path: Path) -> None:
    """Through a pipe (here: captured) at the default 80 columns: plain text, and a long
    alert sentence stays on one line."""
    done = subprocess.run(
        [sys.executable, "-m", "footfall", "demo", "--state-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=300,
        env={k: v for k, v in os.environ.items() if k not in ("COLUMNS", "FORCE_COLOR")})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "\x1b[" not in done.stdout + done.stderr
    clipping = [line for line in done.stdout.splitlines() if "full-scale range" in line]
    assert clipping and all(line.rstrip().endswith("range)") for line in clipping), clipping


def _figures(summary: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in summary.items() if k not in TIME_FIELDS}


def test_demo_and_analyze_give_the_same_numbers_for_the_sample_session(
        tmp_path: Path) -> None:
    demo = json.loads(_demo(tmp_path, "--json").stdout)
    analyzed = subprocess.run([sys.executable, "-m", "footfall", "analyze",
                               str(sample_session()), "--json"],
                              capture_output=True, text=True, timeout=300, check=True)
    offline = json.loads(analyzed.stdout)["summary"]
    assert set(demo["summary"]) == set(offline) == {"tibia-left", "tibia-right"}
    for device, summary in offline.items():
        live = demo["summary"][device]
        assert _figures(live) == _figures(summary), device
        assert summary["cadence_drift_pct"] is not None  # the default run shows drift
        assert live["duration_s"] == pytest.approx(summary["duration_s"], abs=0.002)
