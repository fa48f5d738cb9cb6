"""``footfall analyze``: CSV, FIT and session files through the same processor."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from footfall.commands import analyze
from footfall.core.errors import CommandError

from .synth import leg_run

DATA = Path(__file__).parents[1] / "data"
UTC0 = 1_795_000_000_000_000_000


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="footfall")
    analyze.register(parser.add_subparsers())
    args = parser.parse_args(["analyze", *argv, "--json"])
    assert args.func(args) == 0
    out: dict[str, Any] = json.loads(capsys.readouterr().out)
    return out


def _summary(out: dict[str, Any]) -> dict[str, Any]:
    """The recording's one device's summary."""
    (summary,) = out["summary"].values()
    return summary  # type: ignore[no-any-return]


def _write_csv(path: Path, time_s: np.ndarray, accel_g: np.ndarray) -> Path:
    np.savetxt(path, np.column_stack([time_s, accel_g]), delimiter=",", fmt="%.6f",
               header="time_s,ax_g,ay_g,az_g", comments="")
    return path


def test_csv_clipping_shank_at_143_hz(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = leg_run(duration_s=40, cadence_spm=170, sample_rate_hz=143, impact_g=11.0)
    clipped = np.clip(run.accel_g, -8.0, 8.0)  # a ±8 g sensor saturates
    time_s = 100.0 + np.arange(clipped.shape[0]) / 143  # the file's own timebase
    out = _run(capsys, str(_write_csv(tmp_path / "shank.csv", time_s, clipped)),
               "--range-g", "8", "--side", "left")
    steps = out["steps"]
    assert abs(len(steps) - len(run.strike_times_s)) <= 1
    found = np.array([s["time_s"] for s in steps])
    assert np.allclose(found, 100.0 + run.strike_times_s, atol=1.5 / 143)
    assert all(s["clipped"] for s in steps)  # every 11 g peak hits the ±8 g rail
    assert _summary(out)["cadence_spm"] == pytest.approx(170, abs=2)
    assert _summary(out)["impact_g"] is None  # never a clipped value as a true PTA
    assert steps[1]["side"] == "left" and steps[1]["cadence_spm"] > 0
    assert any(a["rule"] == "clipping" and a["state"] == "start" for a in out["alerts"])


def test_csv_without_time_needs_a_rate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = leg_run(duration_s=10)
    path = tmp_path / "notime.csv"
    np.savetxt(path, run.accel_g, delimiter=",", header="ax_g,ay_g,az_g", comments="")
    with pytest.raises(CommandError, match="--sample-rate"):
        _run(capsys, str(path))
    out = _run(capsys, str(path), "--sample-rate", "1000")
    assert abs(len(out["steps"]) - len(run.strike_times_s)) <= 1


def test_fit_file_cadence_in_steps_per_minute(capsys: pytest.CaptureFixture[str]) -> None:
    out = _run(capsys, str(DATA / "fit-fitparse" / "activity-small-fenix2-run.fit"))
    summary = _summary(out)
    assert summary["source"] == "rsc" and out["steps"] == []
    # the watch stores ~83 strides/min: that is ~166 steps/min
    assert 150 < summary["cadence_spm"] < 185
    assert summary["cadence_change_pct"] is not None


def test_session_file_every_device(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from footfall.simulators.runner import RunnerParams, Side, synthesize
    from footfall.simulators.synthetic import write_synthetic_session

    sides: tuple[Side, ...] = ("left", "right")
    runs = {side: synthesize(RunnerParams(placement="tibia", side=side, accel_range_g=32,
                                          cadence_spm=176.0, seed=2), 30.0)
            for side in sides}
    path = tmp_path / "s.mcap"
    write_synthetic_session(path, {f"tib-{k[0]}": r for k, r in runs.items()}, athlete="ann",
                            session="s1", start_utc_ns=UTC0)
    out = _run(capsys, str(path))
    for side, run in runs.items():
        mine = [s for s in out["steps"] if s["device"] == f"tib-{side[0]}"]
        assert abs(len(mine) - len(run.truth.own())) <= 1
        assert all(s["side"] == side for s in mine)
        assert out["summary"][f"tib-{side[0]}"]["cadence_spm"] == pytest.approx(176, abs=1)


def test_csv_time_gap_is_a_gap(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = leg_run(duration_s=30, cadence_spm=170)
    keep = np.ones(run.accel_g.shape[0], dtype=bool)
    keep[10_000:12_000] = False  # 2 s missing from the file
    time_s = np.arange(run.accel_g.shape[0]) / 1000.0
    path = _write_csv(tmp_path / "gap.csv", time_s[keep], run.accel_g[keep])
    out = _run(capsys, str(path))
    found = np.array([s["time_s"] for s in out["steps"]])
    assert not np.any((found > 10.0) & (found < 12.0))
    nearest = np.abs(found[:, None] - run.strike_times_s[None, :]).min(axis=1)
    assert np.all(nearest < 0.005)  # times after the gap are still right
    assert _summary(out)["packet_loss_pct"] == pytest.approx(100 * 2 / 30, abs=0.5)
    assert _summary(out)["cadence_spm"] == pytest.approx(170, abs=1)


def test_gzip_csv_and_a_rail_just_beyond_the_standard_range(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]
                                                            ) -> None:
    import gzip

    from footfall.recordings.csv import choose_range_g

    run = leg_run(duration_s=20, impact_g=12.0, sample_rate_hz=500)
    accel = np.clip(run.accel_g, -8.016, 8.016)  # a ±8 g sensor, its gain trimmed 0.2 % high
    assert choose_range_g(accel) == 8  # the data pile up at 8.016 g: ±8 g's rail
    single = np.zeros((100, 3))
    single[10, 0] = 8.05  # one true peak a little above 8 g: a ±16 g sensor
    assert choose_range_g(single) == 16
    time_s = np.arange(accel.shape[0]) / 500
    plain = _write_csv(tmp_path / "shank.csv", time_s, accel)
    packed = tmp_path / "shank.csv.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    out = _run(capsys, str(packed), "--side", "left")
    assert out["kind"] == "csv" and "±8 g assumed" in out["notes"][0]
    summary = _summary(out)
    assert summary["clipped_steps"] > 0 and summary["clipping_rules"] == "full_scale"
    assert any("full_scale" in note for note in out["notes"][1:])


def test_fit_leg_option(capsys: pytest.CaptureFixture[str]) -> None:
    path = DATA / "fit-multisport" / "activity-large-fenxi2-multisport.fit"
    out = _run(capsys, str(path), "--leg", "1")
    assert set(out["summary"]) == {"footpod-leg1"} and out["summary"]["footpod-leg1"]["leg"] == 1
    assert out["pauses"] and {p["device"] for p in out["pauses"]} == {"footpod-leg1"}
    assert any("2 run legs" in note for note in out["notes"])
    with pytest.raises(CommandError, match="no run leg 3: its run legs are leg 1"):
        _run(capsys, str(path), "--leg", "3")
