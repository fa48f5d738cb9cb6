"""The README's main job: `footfall demo` replays the sample session through the whole
pipeline and prints what it read back from InfluxDB."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import _require

pytestmark = pytest.mark.servers


def test_demo_prints_steps_and_a_summary_read_back_from_influxdb(tmp_path: Path) -> None:
    _require("mosquitto")
    _require("influxd")
    done = subprocess.run(
        [sys.executable, "-m", "footfall", "demo", "--state-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=300, env={**os.environ, "COLUMNS": "120"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    assert re.search(r"tibia-left\s+impact\s+\d+\.\d g\s+cadence\s+1[6-7]\d\.\d spm", out)
    # the summary table: per sensor, steps and median cadence read back from InfluxDB
    for side in ("left", "right"):
        row = re.search(rf"tibia-{side}\s*│\s*(\d+)\s*│\s*(\d+\.\d)", out)
        assert row is not None, out[-3000:]
        steps, cadence = int(row.group(1)), float(row.group(2))
        assert 165 <= steps <= 176  # ~170 strikes of each leg in the 2-minute sample
        assert 168.0 <= cadence <= 173.0
    assert "Alerts" in out and "impact" in out
    assert not list((tmp_path / "demo" / "stack").glob("*/pid"))  # nothing left running
