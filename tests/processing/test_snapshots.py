"""Numeric outputs against stored snapshots, so any change in results is a visible diff.

Regenerate after an intended change (and review the diff in git):

    FOOTFALL_UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/processing/test_snapshots.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from footfall.processing.offline import AnalysisResult, analyze_accel
from footfall.recordings.alcantara import SAMPLE_RATE_HZ, load_trials

from .synth import leg_run

SNAPSHOTS = Path(__file__).parent / "snapshots"
DATA = Path(__file__).parents[1] / "data" / "sacral-grf-alcantarar"
UPDATE = os.environ.get("FOOTFALL_UPDATE_SNAPSHOTS") == "1"


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def _digest(result: AnalysisResult) -> dict[str, Any]:
    return {
        "steps": [[_r(s.sensor_time_s), _r(s.impact_g), _r(s.impact_axial_g),
                   s.clipped, _r(s.cadence_spm), _r(s.confidence)] for s in result.steps],
        "summary": {k: _r(v) if isinstance(v, float) else v
                    for k, v in result.summary().items()},
    }


def check_snapshot(name: str, digest: dict[str, Any]) -> None:
    """``digest`` equals the stored snapshot ``name`` (written when missing, or when
    ``FOOTFALL_UPDATE_SNAPSHOTS=1``)."""
    path = SNAPSHOTS / f"{name}.json"
    if UPDATE or not path.exists():
        path.write_text(json.dumps(digest, indent=1) + "\n", encoding="utf-8")
        if not UPDATE:
            pytest.fail(f"snapshot {path.name} was missing and has been written: review it")
    assert digest == json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("trial", [1, 12, 22])
def test_sacral_trials(trial: int) -> None:
    t = load_trials(DATA)[trial - 1]
    check_snapshot(f"sacral-trial-{trial:02d}",
           _digest(analyze_accel(t.accel_g, SAMPLE_RATE_HZ, placement="sacrum")))


def test_clipping_shank_143_hz() -> None:
    run = leg_run(duration_s=30, cadence_spm=168, sample_rate_hz=143, impact_g=10.0, seed=5)
    check_snapshot("synthetic-shank-143hz-8g",
           _digest(analyze_accel(run.accel_g, 143.0, accel_range_g=8, placement="tibia",
                                 side="left")))
