"""``footfall analyze``'s text output speaks the report's plain language: a header with the
athlete, the local date, duration and pace; the same findings; alerts in time order; no
jargon."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from footfall.cli import main
from footfall.demo.run import sample_session
from tests.report.test_load import _records_sums

FIT = Path(__file__).parents[1] / "data" / "fit-fitparse" / "activity-small-fenix2-run.fit"


def _out(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert main(argv) == 0
    return re.sub(r"[ \u00a0\u202f]+", " ", capsys.readouterr().out)


@pytest.fixture(autouse=True)
def _wide(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # one finding a line


def test_session_file_header_findings_and_alerts(capsys: pytest.CaptureFixture[str]) -> None:
    text = _out(capsys, ["analyze", str(sample_session()), "--timezone", "Europe/Berlin"])
    lines = text.splitlines()
    assert lines[0] == ("demo · Thursday 15 January 2026, 10:00 (CET) · 4 min · pace not "
                        "known (no belt speed given: --belt-speed)")
    assert "sensors: left tibia, right tibia" in lines[1]
    for jargon in ("strikes of this leg (strides)", "recording:", "foot none", "tibia left"):
        assert jargon not in text
    report = json.loads(_out(capsys, ["analyze", str(sample_session()), "--json"]))
    s = report["summary"]
    cadence = (s["tibia-left"]["cadence_spm"] + s["tibia-right"]["cadence_spm"]) / 2
    assert f"Cadence was {cadence:.0f} spm (median of every step)" in text
    assert f"left tibia: median {s['tibia-left']['impact_g']:.1f} g" in text
    # alerts: every start, in time order, with the time into the run
    starts = [a for a in report["alerts"] if a["state"] == "start"]
    shown = [line for line in lines if re.match(r"^ +\d+:\d\d ", line)]
    assert len(shown) == len(starts) >= 2
    for line, alert in zip(shown, starts, strict=True):
        clock = f"{round(alert['time_s']) // 60}:{round(alert['time_s']) % 60:02d}"
        assert line.split()[0] == clock and alert["message"][:30] in line


def test_fit_file_header_gives_distance_and_pace(capsys: pytest.CaptureFixture[str]) -> None:
    text = _out(capsys, ["analyze", str(FIT), "--timezone", "UTC"])
    ref = _records_sums(FIT)[0]
    seconds = round(ref["time_s"] / (ref["distance_m"] / 1000))
    assert text.splitlines()[0] == (
        f"athlete not recorded · Saturday 15 August 2015, 14:45 (UTC) · 47 min 13 s · "
        f"{ref['distance_m'] / 1000:.2f} km, pace {seconds // 60}:{seconds % 60:02d} min/km")
    assert "steps (from the pod's cadence)" not in text  # the table says it in its cell
    assert "from the pod's cadence" in text
    assert "Impact: not measured" in text


def test_help_teaches_the_new_commands(capsys: pytest.CaptureFixture[str]) -> None:
    for command, example in (("report", "footfall report --athlete anna --visits 6"),
                             ("sessions", "footfall sessions --athlete anna"),
                             ("load", "footfall load --athlete anna runs/*.fit")):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert example in re.sub(r"\s+", " ", capsys.readouterr().out), command
