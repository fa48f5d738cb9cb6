"""Training load: the shared real watch files against independent sums of their own records
(decoded here with Garmin's SDK directly, not through footfall's reader), against the watches'
own session totals, and the weekly rules (ramp, acute:chronic) on hand-made weeks."""

from __future__ import annotations

import functools
import itertools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from garmin_fit_sdk import Decoder, Stream

from footfall.cli import main
from footfall.core.vocab import Placement, Side
from footfall.processing.load import (
    MAX_RECORD_GAP_S,
    Activity,
    fit_activities,
    session_impact_load,
    session_steps,
    weeks,
)
from footfall.recordings.fit import read_fit
from footfall.wire.events import DeviceSummary

DATA = Path(__file__).parents[1] / "data"
WATCH_FILES = [DATA / "fit-activitylog2" / "920xt-run.fit",
               DATA / "fit-fitparse" / "activity-small-fenix2-run.fit",
               DATA / "fit-fitparse" / "developer-types-sample.fit",
               DATA / "fit-fitparse" / "garmin-fenix-5-run.fit",
               DATA / "fit-multisport" / "activity-large-fenxi2-multisport.fit"]


@functools.cache
def _records_sums(path: Path) -> list[dict[str, Any]]:
    """Per running session: its records' own distance increments, running time (intervals up
    to the stop gap) and steps (2 × strides/min, trapezoid), and the session's totals."""
    messages, errors = Decoder(Stream.from_file(str(path))).read()
    assert not errors
    records = [r for r in messages["record_mesgs"] if isinstance(r.get("timestamp"), datetime)]
    out = []
    for session in messages["session_mesgs"]:
        if session.get("sport") != "running":
            continue
        start = session["start_time"]
        end = max(start + timedelta(seconds=float(session["total_elapsed_time"])),
                  session["timestamp"])
        legs = [r for r in records if start <= r["timestamp"] <= end
                and r.get("cadence") is not None
                and r.get("enhanced_speed", r.get("speed")) is not None]
        distance = time_s = steps = 0.0
        for a, b in itertools.pairwise(legs):
            if a.get("distance") is not None and b.get("distance") is not None:
                distance += max(0.0, b["distance"] - a["distance"])
            gap = (b["timestamp"] - a["timestamp"]).total_seconds()
            if gap <= MAX_RECORD_GAP_S:
                spm_a = 2 * (a["cadence"] + (a.get("fractional_cadence") or 0))
                spm_b = 2 * (b["cadence"] + (b.get("fractional_cadence") or 0))
                time_s += gap
                steps += (spm_a + spm_b) / 2 / 60 * gap
        out.append({"start": legs[0]["timestamp"], "distance_m": distance, "time_s": time_s,
                    "steps": steps, "watch_distance_m": session.get("total_distance"),
                    "watch_time_s": session.get("total_timer_time"),
                    "watch_strides": session.get("total_strides")})
    return out


@pytest.mark.parametrize("path", WATCH_FILES, ids=lambda p: p.name)
def test_each_run_equals_the_sums_of_its_records(path: Path) -> None:
    mine = fit_activities(read_fit(path), path.name)
    theirs = _records_sums(path)
    assert len(mine) == len(theirs) >= 1
    for a, ref in zip(mine, theirs, strict=True):
        assert a.kind == "watch"
        assert a.start_ns == int(ref["start"].timestamp()) * 10**9
        assert a.distance_m == pytest.approx(ref["distance_m"], rel=1e-9)
        assert a.time_s == pytest.approx(ref["time_s"], rel=1e-9)
        assert a.steps == round(ref["steps"])
        # and the watch's own totals, an independent reference
        assert a.distance_m == pytest.approx(ref["watch_distance_m"], rel=1e-3)
        assert a.time_s == pytest.approx(ref["watch_time_s"], rel=2e-3, abs=2.0)
        if ref["watch_strides"] and ref["watch_strides"] * 2 > 0.5 * (a.steps or 0):
            assert a.steps == pytest.approx(2 * ref["watch_strides"], rel=0.01, abs=2)


def test_a_multisport_file_counts_its_run_legs_only() -> None:
    path = DATA / "fit-multisport" / "activity-large-fenxi2-multisport.fit"
    runs = fit_activities(read_fit(path), path.name)
    assert [r.name for r in runs] == [f"{path.name} (run 1 of 2)", f"{path.name} (run 2 of 2)"]
    assert 35 * 60 < runs[0].time_s < 40 * 60 and 110 * 60 < runs[1].time_s < 115 * 60


def test_footfall_load_weeks_of_the_watch_files(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["load", "--no-sessions", "--timezone", "UTC", "--json",
                 *map(str, WATCH_FILES)]) == 0
    report = json.loads(capsys.readouterr().out)
    by_week: dict[str, dict[str, float]] = {}
    for path in WATCH_FILES:
        for ref in _records_sums(path):
            day = ref["start"].astimezone(UTC).date()
            monday = (day - timedelta(days=day.weekday())).isoformat()
            week = by_week.setdefault(monday, {"distance_m": 0.0, "time_s": 0.0, "runs": 0})
            week["distance_m"] += ref["distance_m"]
            week["time_s"] += ref["time_s"]
            week["runs"] += 1
    found = {w["start"]: w for w in report["weeks"] if w["watch_runs"]}
    assert set(found) == set(by_week)
    for monday, ref in by_week.items():
        assert found[monday]["distance_m"] == pytest.approx(ref["distance_m"], rel=1e-9)
        assert found[monday]["time_s"] == pytest.approx(ref["time_s"], rel=1e-9)
        assert found[monday]["watch_runs"] == ref["runs"]
    # every week from the first run to the last is listed, empty ones too
    starts = [w["start"] for w in report["weeks"]]
    assert starts == sorted(starts) and len(starts) > len(found)


def _run(week: int, km: float | None, kind: str = "watch", time_s: float = 1800.0,
         steps: int = 5000) -> Activity:
    start = int(datetime(2026, 1, 5, 8, tzinfo=UTC).timestamp() * 1e9) + week * 7 * 86_400 * 10**9
    return Activity(start, kind, f"w{week}", time_s,  # type: ignore[arg-type]
                    None if km is None else km * 1000, steps)


def test_ramp_is_flagged_past_30_percent_and_acwr_is_this_week_over_the_last_four() -> None:
    found = weeks([_run(0, 10), _run(1, 10), _run(2, 10), _run(3, 14), _run(4, 12.9)], UTC)
    assert [w.ramp_pct for w in found][1:] == pytest.approx([0.0, 0.0, 40.0, -7.857142857])
    assert [w.ramp_flagged for w in found] == [False, False, False, True, False]
    assert [w.acwr for w in found][:3] == [None, None, None]
    assert found[3].acwr == pytest.approx(14 / ((10 + 10 + 10 + 14) / 4))
    assert found[4].acwr == pytest.approx(12.9 / ((10 + 10 + 14 + 12.9) / 4))


def test_a_week_off_is_a_week_of_zero_and_ends_no_ramp() -> None:
    found = weeks([_run(0, 10), _run(2, 10)], UTC)
    assert [w.distance_m for w in found] == [10000, 0, 10000]
    assert [w.ramp_pct for w in found] == [None, -100.0, None]  # from nothing: no percentage


def test_a_treadmill_session_without_belt_speed_leaves_the_distance_incomplete() -> None:
    found = weeks([_run(0, 10), _run(0, None, "treadmill", 600, 1700)], UTC)
    assert found[0].distance_m == 10000 and not found[0].distance_complete
    assert found[0].time_s == 2400 and found[0].steps == 6700


def _summary(placement: str, side: str, steps: int, impact: float | None,
             **extra: Any) -> DeviceSummary:
    return DeviceSummary(time_ns=2 * 10**18, start_ns=2 * 10**18 - 10**12, duration_s=1000.0,
                         steps=steps, source=extra.pop("source", "imu"),
                         placement=Placement(placement), side=Side(side), impact_g=impact,
                         **extra)


def test_session_steps_and_impact_load_follow_the_sensors() -> None:
    pair = [_summary("tibia", "left", 500, 10.0, steps_both_legs_estimate=1000),
            _summary("tibia", "right", 498, 11.0, steps_both_legs_estimate=996)]
    assert session_steps(pair) == 998
    assert session_impact_load(pair) == (500 * 10.0 + 498 * 11.0, 998)
    one = [pair[0]]
    assert session_steps(one) == 1000  # one leg: its estimate
    assert session_impact_load(one) == (5000.0, 500)  # only what was measured
    trunk = [_summary("sacrum", "none", 1003, 3.0), pair[0]]
    assert session_steps(trunk) == 1003
    clipped = [_summary("tibia", "left", 500, None), _summary("tibia", "right", 498, None)]
    assert session_impact_load(clipped) is None
    pod = [_summary("foot", "none", 1500, None, source="rsc")]
    assert session_steps(pod) == 1500
