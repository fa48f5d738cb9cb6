"""The report of the shipped sample session, read back as a person would read the PDF.

``footfall report`` renders it; pdftoppm turns it into pages (colour and grey), pdfimages
lists and extracts each plot, pdftotext reads its text — and every figure in the text must
be the one ``footfall analyze --json`` gives for the same file and settings.

``FOOTFALL_UPDATE_DOCS=1 .venv/bin/pytest tests/report`` also writes docs/report-sample.pdf.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageChops

from footfall.cli import main
from footfall.commands import report as report_command
from footfall.config.analysis import AlertConfig
from footfall.config.settings import load_settings
from footfall.demo.run import sample_session
from footfall.views.report import render
from footfall.views.report import text as t
from tests.report import pdf

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "docs" / "report-sample.toml"
TZ = "Europe/Berlin"
NOTES = ["--pain", "2", "--shoes", "Pegasus 40", "--note", "felt easy"]
UPDATE_DOCS = os.environ.get("FOOTFALL_UPDATE_DOCS") == "1"


@pytest.fixture(scope="module")
def analysis(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """``footfall analyze --json`` of the sample, with the report's settings."""
    out = tmp_path_factory.mktemp("analyze") / "analyze.json"
    with out.open("w") as f, contextlib.redirect_stdout(f):
        assert main(["analyze", str(sample_session()), "--config", str(CONFIG), "--json"]) == 0
    result: dict[str, Any] = json.loads(out.read_text())
    return result


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pdf.require_poppler()
    out = tmp_path_factory.mktemp("report") / "report-sample.pdf"
    assert main(["report", str(sample_session()), "--config", str(CONFIG), "--timezone", TZ,
                 *NOTES, "-o", str(out)]) == 0
    if UPDATE_DOCS:
        shutil.copyfile(out, ROOT / "docs" / "report-sample.pdf")
    return out


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def _signed(value: float, decimals: int = 1) -> str:
    return f"{value:+.{decimals}f} %".replace("-", "\u2212")


def test_the_pdf_has_two_pages_that_show_something(rendered: Path, tmp_path: Path) -> None:
    assert pdf.pages(rendered) == 2
    for gray in (False, True):
        pages = pdf.render_pages(rendered, tmp_path / str(gray), gray=gray)
        assert len(pages) == 2
        for page in pages:
            image = Image.open(page).convert("RGB")
            if gray:  # pdftoppm -gray writes R = G = B
                r, g, b = image.split()
                assert ImageChops.difference(r, g).getbbox() is None
                assert ImageChops.difference(g, b).getbbox() is None
            assert pdf.ink_share(page) > 0.01, page


def test_each_plot_is_one_image_on_its_page(rendered: Path) -> None:
    rows = pdf.images(rendered)
    assert [(r.page, r.kind, r.color) for r in rows] == [
        (1, "image", "rgb"), (2, "image", "rgb"), (2, "image", "rgb")]
    assert all(r.x_ppi >= 190 and r.width >= 1300 for r in rows)
    assert "Figure 1 – Cadence" in pdf.text(rendered, 1)
    page2 = pdf.text(rendered, 2)
    assert "Figure 2 – Impact" in page2 and "Figure 3 – Left/right symmetry" in page2


def test_the_images_are_the_figures_pixel_for_pixel(tmp_path: Path) -> None:
    pdf.require_poppler()
    args = argparse.Namespace(config=CONFIG, warmup_s=None, baseline_s=None, belt_speed=None)
    settings = load_settings(CONFIG)
    session = report_command.session_from_file(sample_session(), args, settings)
    report = render.session_report(session, t.zone(TZ))
    out = tmp_path / "report.pdf"
    render.write(report, out)
    extracted = pdf.extract_images(out, tmp_path / "images")
    assert len(extracted) == len(report.figures) == 3
    for path, figure in zip(extracted, report.figures, strict=True):
        mine = Image.open(io.BytesIO(figure.png)).convert("RGB")
        theirs = Image.open(path).convert("RGB")
        assert mine.size == theirs.size
        assert ImageChops.difference(mine, theirs).getbbox() is None, figure.key


def test_the_text_gives_analyze_s_numbers(rendered: Path, analysis: dict[str, Any]) -> None:
    text = pdf.text(rendered)
    s = analysis["summary"]
    left, right = s["tibia-left"], s["tibia-right"]
    both = [left, right]
    cadence = _mean([x["cadence_spm"] for x in both])
    base = _mean([x["cadence_baseline_spm"] for x in both])
    final = _mean([x["cadence_final_spm"] for x in both])
    change = _mean([x["cadence_change_pct"] for x in both])
    assert f"Cadence was {cadence:.0f} spm" in text
    assert f"went from {base:.0f} spm in the baseline" in text
    assert f"to {final:.0f} spm at the end: {_signed(change)}" in text
    target = _mean([x["cadence_target_spm"] for x in both])
    in_band = _mean([x["time_in_target_pct"] for x in both])
    assert f"The cadence target was {target:.0f} spm" in text
    tolerance = AlertConfig().cadence_below_target_pct / 100  # the file does not change it
    assert (f"({target * (1 - tolerance):.0f}–{target * (1 + tolerance):.0f} spm) for "
            f"{in_band:.0f} % of the time") in text
    assert (f"left tibia: median {left['impact_g']:.1f} g; from "
            f"{left['impact_baseline_g']:.1f} g in the baseline to "
            f"{left['impact_final_g']:.1f} g at the end: "
            f"{_signed(left['impact_drift_pct'])}") in text
    assert (f"right tibia: median {right['impact_g']:.1f} g; from "
            f"{right['impact_baseline_g']:.1f} g in the baseline to "
            f"{right['impact_final_g']:.1f} g at the end: "
            f"{_signed(right['impact_drift_pct'])}") in text
    sym = 100 * (right["impact_g"] - left["impact_g"]) / max(right["impact_g"], left["impact_g"])
    assert f"the right leg's median impact was {abs(sym):.1f} % higher (symmetry index " \
           f"{_signed(sym)})" in text
    for leg, name in ((left, "left"), (right, "right")):
        assert (f"PTA is a lower bound on {leg['clipped_pct']:.1f} % of the {name} tibia's "
                f"steps ({leg['clipped_steps']} of {leg['steps']})") in text
    assert f"{left['steps'] + right['steps']}, both legs" in text
    starts = [a for a in analysis["alerts"] if a["state"] == "start"]
    assert starts
    clocks = [f"{round(a['time_s']) // 60}:{round(a['time_s']) % 60:02d}" for a in starts]
    positions = [text.index(f"{c} ") for c in clocks]
    assert positions == sorted(positions), "alerts are not in time order"


def test_the_text_has_the_session_details(rendered: Path) -> None:
    text = pdf.text(rendered, 1)
    for expected in ("Runner demo", "Thursday 15 January 2026, 10:00 (CET)", "Duration 4 min",
                     "Shoes Pegasus 40", "Pain (0–10) 2 of 10", "Notes felt easy",
                     "Belt speed not recorded", "Sensors left tibia, right tibia",
                     "Feedback periods: not recorded", "No pauses.",
                     "The belt speed was not recorded"):
        assert expected in text, expected
    # negative numbers carry a real minus sign, never a hyphen
    assert not re.search(r"(?<![\w–-])-\d", pdf.text(rendered)), "a hyphen as a minus sign"


def test_html_is_one_self_contained_file(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    assert main(["report", str(sample_session()), "--config", str(CONFIG), "-o", str(out)]) == 0
    html = out.read_text()
    assert html.count("<img ") == 3
    assert html.count('src="data:image/png;base64,') == 3
    assert "http://" not in html and "https://" not in html


def test_a_broken_image_is_an_error_not_its_alt_text() -> None:
    broken = render.Report("broken", '<html><body><img src="data:image/png;base64,AAAA" '
                                     'alt="Cadence"></body></html>', ())
    with pytest.raises(render.ReportRenderError):
        render.pdf_bytes(broken.html)


def test_a_bad_output_name_says_what_to_do(capsys: pytest.CaptureFixture[str],
                                           tmp_path: Path) -> None:
    assert main(["report", str(sample_session()), "-o", str(tmp_path / "r.docx")]) == 2
    assert ".pdf or .html" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "missing.mcap"), "-o", str(tmp_path / "r.pdf")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_a_watch_file_report_has_its_distance_pace_and_cadence(tmp_path: Path) -> None:
    """A FIT file: one page, the cadence plot only (no impact sensor), the watch's distance and
    pace from its records, the cadence figures of analyze, and the step counts explained."""
    from tests.report.test_load import DATA, _records_sums

    pdf.require_poppler()
    fit = DATA / "fit-activitylog2" / "920xt-run.fit"
    out = tmp_path / "watch.pdf"
    assert main(["report", str(fit), "--timezone", "UTC", "-o", str(out)]) == 0
    assert pdf.pages(out) == 1
    assert [r.kind for r in pdf.images(out)] == ["image"]
    text = pdf.text(out)
    ref = _records_sums(fit)[0]
    seconds = round(ref["time_s"] / (ref["distance_m"] / 1000))
    assert (f"Distance {ref['distance_m'] / 1000:.2f} km in 1 h 06 min (pace "
            f"{seconds // 60}:{seconds % 60:02d} min/km)") in text
    assert "Impact: not measured" in text
    report = tmp_path / "analyze.json"
    with report.open("w") as f, contextlib.redirect_stdout(f):
        assert main(["analyze", str(fit), "--json"]) == 0
    (pod,) = json.loads(report.read_text())["summary"].values()
    # analyze counts the watch's own steps (smart recording's gaps included): one count, so
    # the report has no second one to explain
    assert abs(pod["steps"] - ref["steps"]) <= 0.02 * ref["steps"]
    assert "the training-load count" not in text
    assert f"Cadence was {pod['cadence_spm']:.0f} spm" in text
    assert f"{pod['steps']:,}".replace(",", " ") + ", both legs" in text


def test_a_run_with_a_stop_reports_it(tmp_path: Path) -> None:
    """The Fenix 2 run stops once for 10 s and walks five times (its records say so): the
    report lists the breaks by kind."""
    pdf.require_poppler()
    fit = Path(__file__).resolve().parents[1] / "data" / "fit-fitparse" / \
        "activity-small-fenix2-run.fit"
    out = tmp_path / "fenix2.pdf"
    assert main(["report", str(fit), "--timezone", "UTC", "-o", str(out)]) == 0
    text = pdf.text(out)
    assert "Breaks in running: 1 stop (10 s in all) and 5 walking breaks" in text, text[:3000]
