"""Progress over six visits, from the per-session summaries in a real InfluxDB: `footfall
sessions`, `footfall report --visits`, and the latest session's report with its feedback
periods and retention probe. Every number is checked against the test's own InfluxQL reading
of what the processor stored.

``FOOTFALL_UPDATE_DOCS=1 .venv/bin/pytest tests/report`` also writes docs/report-visits.pdf.
"""

from __future__ import annotations

import json
import re
import shutil
import statistics
from pathlib import Path
from typing import Any

import pytest

from footfall.cli import main
from tests.report import pdf
from tests.report.conftest import History
from tests.report.history import PLANS, WATCH_WEEKS_KM, session_id, write_watch_runs
from tests.report.test_sample_report import ROOT, UPDATE_DOCS

pytestmark = pytest.mark.servers
TZ = "Europe/Berlin"


def _signed(value: float) -> str:
    return f"{value:+.1f} %".replace("-", "\u2212")


def _summaries(history: History) -> dict[str, dict[str, dict[str, Any]]]:
    """session → side → summary row, read with the test's own query."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for row in history.query(f"SELECT * FROM \"summary\" WHERE \"athlete\" = "
                             f"'{history.athlete}' GROUP BY *"):
        out.setdefault(row["session"], {})[row["side"]] = row
    return out


def _symmetry(legs: dict[str, dict[str, Any]]) -> float:
    left, right = legs["left"]["impact_g"], legs["right"]["impact_g"]
    return 100 * (right - left) / max(left, right)


def _probe_pct(history: History, session: str, legs: dict[str, dict[str, Any]]
               ) -> dict[str, float]:
    """Median unclipped impact in the probe (300 s to the end) vs the leg's baseline, %."""
    start_ms = legs["left"]["start_ns"] // 1_000_000
    end_ms = max(leg["time"] for leg in legs.values())
    out = {}
    for side, leg in legs.items():
        rows = history.query(
            f"SELECT \"impact_g\" FROM \"step\" WHERE \"athlete\" = '{history.athlete}' AND "
            f"\"session\" = '{session}' AND \"side\" = '{side}' AND \"clipped\" = false AND "
            f"time >= {start_ms + 300_000}ms AND time < {end_ms}ms")
        out[side] = 100 * (statistics.median(r["impact_g"] for r in rows)
                           / leg["impact_baseline_g"] - 1)
    return out


def test_sessions_lists_every_visit_with_its_headline_numbers(
        history: History, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(["sessions", *history.flags, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    stored = _summaries(history)
    assert [v["session"] for v in listed] == [session_id(k) for k in range(len(PLANS))]
    for visit in listed:
        legs = stored[visit["session"]]
        assert visit["cadence_spm"] == pytest.approx(
            statistics.fmean(leg["cadence_spm"] for leg in legs.values()), abs=1e-9)
        assert visit["impact_left_g"] == legs["left"]["impact_g"]
        assert visit["impact_right_g"] == legs["right"]["impact_g"]
        assert visit["symmetry_pct"] == pytest.approx(_symmetry(legs), abs=1e-9)
        assert visit["steps"] == legs["left"]["steps"] + legs["right"]["steps"]
    assert listed[0]["time_in_target_pct"] is None  # the assessment had no target
    assert all(v["time_in_target_pct"] is not None for v in listed[1:])
    assert [v["pain_0_10"] for v in listed] == [p.pain for p in PLANS]
    # the programme worked: the runner's own cadence up, impact and asymmetry down
    assert listed[-1]["cadence_baseline_spm"] > listed[0]["cadence_baseline_spm"] + 5
    assert listed[-1]["impact_left_g"] < listed[0]["impact_left_g"] - 2
    assert abs(listed[-1]["symmetry_pct"]) < abs(listed[0]["symmetry_pct"])

    # piped (not a terminal) and no COLUMNS: the table keeps its columns whole, not 80 wide
    monkeypatch.delenv("COLUMNS", raising=False)
    assert main(["sessions", *history.flags, "--timezone", TZ, "--last", "2"]) == 0
    text = re.sub(r"\s+", " ", capsys.readouterr().out.replace("\u202f", " ")
                  .replace("\u00a0", " "))
    assert "2 Feb 2026 10:00" in text and "9 Feb 2026 10:00" in text  # local time (CET)
    assert "26 Jan" not in text


@pytest.fixture(scope="module")
def visits_pdf(history: History, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    pdf.require_poppler()
    folder = tmp_path_factory.mktemp("visits")
    watch = write_watch_runs(folder / "watch")
    out = folder / "report-visits.pdf"
    assert main(["report", *history.flags, "--visits", str(len(PLANS)), "--timezone", TZ,
                 "--load", *map(str, watch), "-o", str(out)]) == 0
    if UPDATE_DOCS:
        shutil.copyfile(out, ROOT / "docs" / "report-visits.pdf")
    return out, folder


def test_visits_report_pages_and_plots(visits_pdf: tuple[Path, Path]) -> None:
    out, folder = visits_pdf
    assert pdf.pages(out) == 3
    for page in pdf.render_pages(out, folder / "pages", gray=True):
        assert pdf.ink_share(page) > 0.01
    rows = pdf.images(out)
    assert [(r.page, r.kind) for r in rows] == [(2, "image"), (3, "image")]
    assert "Figure 1 – Across visits" in pdf.text(out, 2)
    assert "Figure 2 – Training load" in pdf.text(out, 3)


def test_visits_table_has_each_visit_s_stored_numbers(history: History,
                                                      visits_pdf: tuple[Path, Path]) -> None:
    text = pdf.text(visits_pdf[0], 1, layout=True)
    stored = _summaries(history)
    for k, plan in enumerate(PLANS):
        legs = stored[session_id(k)]
        cadence = statistics.fmean(leg["cadence_spm"] for leg in legs.values())
        base = statistics.fmean(leg["cadence_baseline_spm"] for leg in legs.values())
        if plan.target:
            in_target = statistics.fmean(leg["time_in_target_pct"] for leg in legs.values())
            target = f"{in_target:.0f} %"
            probe = ", ".join(_signed(v) for v in _probe_pct(history, session_id(k),
                                                             legs).values())
        else:
            target, probe = "no target", "not recorded"
        day = 5 + 7 * k
        date = f"{day} Jan 2026" if day <= 31 else f"{day - 31} Feb 2026"
        row = (f"{k + 1} {date} 6 min {cadence:.0f} spm {base:.0f} spm "
               f"{legs['left']['impact_g']:.1f} g {legs['right']['impact_g']:.1f} g "
               f"{_signed(_symmetry(legs))}")
        assert row in text, row
        after = text[text.index(row) + len(row):]
        assert after.lstrip(" ▲").startswith(f"{target} {probe} {plan.pain:.0f}"), \
            (row, after[:60])
    assert "\u2212" in text and not re.search(r"(?<![\w–-])-\d", text)


def test_visits_findings_say_what_changed(history: History,
                                          visits_pdf: tuple[Path, Path]) -> None:
    text = pdf.text(visits_pdf[0], 1)
    stored = _summaries(history)
    first, last = stored[session_id(0)], stored[session_id(len(PLANS) - 1)]
    for side in ("left", "right"):
        a, b = first[side]["impact_g"], last[side]["impact_g"]
        assert (f"Impact (PTA), {side} leg, went from {a:.1f} g at the first visit to "
                f"{b:.1f} g at the last ({_signed(100 * (b / a - 1))})") in text
    assert "6 visit(s), from 5 Jan 2026 to 9 Feb 2026" in text
    assert "Beyond ±10 % at visit(s) 1" in text
    assert "Pain went from 6 to 2 of 10" in text


def test_load_section_counts_watch_runs_and_treadmill_sessions(
        history: History, visits_pdf: tuple[Path, Path]) -> None:
    text = pdf.text(visits_pdf[0], 3, layout=True)
    stored = _summaries(history)
    for week, runs in enumerate(WATCH_WEEKS_KM):
        legs = stored[session_id(week)]
        treadmill_km = 3.0 * max(leg["duration_s"] for leg in legs.values()) / 1000
        # pdftotext -layout may close up "2 + 1"
        assert re.search(rf"{len(runs)} ?\+ ?1 {sum(runs) + treadmill_km:.1f} km", text), week
    assert "week of 26 Jan +45.9 %" in text  # 19.1 km after 13.1 km
    assert "contested" in text


def test_latest_session_report_from_influxdb(history: History, tmp_path: Path) -> None:
    pdf.require_poppler()
    out = tmp_path / "latest.pdf"
    assert main(["report", *history.flags, "--timezone", TZ, "-o", str(out)]) == 0
    assert pdf.pages(out) == 2
    assert len(pdf.images(out)) == 3
    text = pdf.text(out)
    last = session_id(len(PLANS) - 1)
    legs = _summaries(history)[last]
    cadence = statistics.fmean(leg["cadence_spm"] for leg in legs.values())
    assert f"Session {last}, from the InfluxDB" in text
    assert "Monday 9 February 2026, 10:00 (CET)" in text
    assert f"Cadence was {cadence:.0f} spm" in text
    assert "Belt speed 10.8 km/h (pace 5:33 min/km)" in text
    assert "Shoes Pegasus 40" in text and "Pain (0–10) 2 of 10" in text
    assert "Feedback was on for 3 min of the 6 min run" in text
    probe = _probe_pct(history, last, legs)
    assert (f"impact {_signed(probe['left'])} (left tibia), {_signed(probe['right'])} "
            "(right tibia) vs the baseline") in text
    for side in ("left", "right"):
        leg = legs[side]
        assert (f"{side} tibia: median {leg['impact_g']:.1f} g; from "
                f"{leg['impact_baseline_g']:.1f} g in the baseline to "
                f"{leg['impact_final_g']:.1f} g at the end: "
                f"{_signed(leg['impact_drift_pct'])}") in text


def test_an_unknown_athlete_or_session_says_what_to_do(
        history: History, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    flags = [f for f in history.flags if f != history.athlete and f != "--athlete"]
    assert main(["report", *flags, "--athlete", "nobody", "-o", str(tmp_path / "r.pdf")]) == 2
    assert "footfall sessions --athlete" in capsys.readouterr().err
    assert main(["sessions", *flags, "--athlete", "nobody"]) == 2
    assert "no session of athlete 'nobody'" in capsys.readouterr().err


def test_watch_runs_in_the_fixture_are_what_they_say(tmp_path: Path) -> None:
    """The synthetic watch files decode (official SDK) to the distances they were made for."""
    from garmin_fit_sdk import Decoder, Stream

    for path in write_watch_runs(tmp_path)[:3]:
        messages, errors = Decoder(Stream.from_file(str(path))).read()
        assert not errors
        km = messages["session_mesgs"][0]["total_distance"] / 1000
        assert km == pytest.approx(WATCH_WEEKS_KM[0][0] if "w1" in path.name else 5.5, abs=0.01)


def test_a_chosen_session_and_html(history: History, tmp_path: Path) -> None:
    out = tmp_path / "visit3.html"
    assert main(["report", *history.flags, "--session", session_id(2), "--timezone", TZ,
                 "-o", str(out)]) == 0
    html = out.read_text()
    assert f"Session {session_id(2)}, from the InfluxDB" in html
    assert "Monday 19 January 2026, 10:00 (CET)" in html
    assert html.count('src="data:image/png;base64,') == 3
