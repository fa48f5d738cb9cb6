"""A watch's records exported as CSV are read as the foot pod they are, like the FIT file
they came from (the Fenix 5 run: the FIT and fitparse's CSV export of its records)."""

from __future__ import annotations

from pathlib import Path

import pytest

from footfall.processing.offline import analyze_file
from footfall.recordings.sources import ImportKindError

DATA = Path(__file__).resolve().parents[1] / "data" / "fit-fitparse"


def test_a_watch_csv_gives_what_its_fit_file_gives() -> None:
    from_csv = analyze_file(DATA / "garmin-fenix-5-run-records.csv")
    from_fit = analyze_file(DATA / "garmin-fenix-5-run.fit")
    csv_summary = from_csv.results["footpod"].device_summary
    fit_summary = from_fit.results["footpod"].device_summary
    assert csv_summary is not None and fit_summary is not None
    assert csv_summary.source == "rsc" and csv_summary.start_ns == fit_summary.start_ns
    # the CSV has no fractional_cadence column: whole strides per minute, 1 step of 179
    assert abs(csv_summary.cadence_spm - fit_summary.cadence_spm) <= 2  # type: ignore[operator]
    assert abs(csv_summary.steps - fit_summary.steps) <= 0.02 * fit_summary.steps
    assert any("a watch's records" in n for n in from_csv.notes)


def test_a_csv_of_neither_kind_names_both(tmp_path: Path) -> None:
    odd = tmp_path / "odd.csv"
    odd.write_text("when,what\n1,2\n2,3\n")
    with pytest.raises(ImportKindError) as info:
        analyze_file(odd)
    message = str(info.value)
    assert "ax_g" in message and "timestamp, cadence and speed" in message
