"""Importers: FIT → RSC foot pod, CSV → IMU, the sacral dataset → sacrum IMU."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from garmin_fit_sdk import Decoder, Encoder, Profile, Stream

from footfall.core.vocab import Placement, Side
from footfall.recordings.fit import FitImportError, read_fit
from footfall.recordings.session_file import iter_messages, read_attachments
from footfall.recordings.sources import ImportKindError, ImportOptions, import_file
from footfall.wire.events import RscSample
from footfall.wire.frame import FLAG_GAP_BEFORE, decode, g_to_counts
from footfall.wire.topics import Stream as WireStream

from .conftest import DATA, START_UTC_NS

FENIX2 = DATA / "fit-fitparse" / "activity-small-fenix2-run.fit"
STRYD = DATA / "fit-fitparse" / "developer-types-sample.fit"


def fit_records(path: Path) -> list[dict[str, Any]]:
    messages, errors = Decoder(Stream.from_file(str(path))).read()
    assert not errors
    return list(messages["record_mesgs"])  # type: ignore[arg-type]


def file_spm(record: dict[str, Any]) -> float:
    """The file's own step rate, computed independently of the importer."""
    return 2.0 * (float(record["cadence"]) + float(record.get("fractional_cadence") or 0))


@pytest.mark.parametrize("path", [FENIX2, STRYD], ids=["fenix2", "stryd"])
def test_fit_import_keeps_every_record_cadence(path: Path) -> None:
    records = [r for r in fit_records(path) if r.get("cadence") is not None]
    fit = read_fit(path)
    assert len(fit.samples) == len(records)
    for sample, record in zip(fit.samples, records, strict=True):
        assert sample.time_ns == int(record["timestamp"].timestamp()) * 10**9
        assert sample.cadence_spm == pytest.approx(file_spm(record), abs=1e-9)
        assert sample.speed_mps == pytest.approx(record["enhanced_speed"])


def test_fit_session_carries_the_pod_stream(tmp_path: Path) -> None:
    info = import_file("fit", FENIX2, tmp_path / "f.mcap", ImportOptions(athlete="a", session="s"))
    pod = info.devices["footpod"]
    assert (pod.profile, pod.placement, pod.sample_rate_hz) == ("rsc", "foot", 1.0)
    samples = [RscSample.from_json(m.payload)
               for m in iter_messages(tmp_path / "f.mcap", {WireStream.RSC})]
    assert len(samples) == 2809  # every record of the run
    # the run's mean step rate as the file says (Fenix 2 stores whole strides/min)
    mean_file = np.mean([file_spm(r) for r in fit_records(FENIX2)
                         if r.get("cadence") is not None])
    assert np.mean([s.cadence_spm for s in samples]) == pytest.approx(mean_file, abs=1e-6)
    # the pod publishes each sample at its own time: replay pacing follows the watch
    assert all(m.log_time_ns == RscSample.from_json(m.payload).time_ns
               for m in iter_messages(tmp_path / "f.mcap", {WireStream.RSC}))


def multisport_fit(path: Path) -> tuple[int, int]:
    """A triathlon-like FIT: 10 min cycling (85 rpm), transition, then the real Fenix 2 run's
    first 10 min of records. No file in ../shared/data is multisport, so the file is
    assembled with Garmin's encoder around real running records. Returns (bike, run) counts."""
    run = fit_records(FENIX2)[:600]
    mesg = Profile["mesg_num"]
    run_start = run[0]["timestamp"]
    t0 = run_start - timedelta(minutes=12)
    enc = Encoder()
    enc.write_mesg({"mesg_num": mesg["FILE_ID"], "type": "activity", "manufacturer":
                    "development", "product": 0, "serial_number": 1, "time_created": t0})
    bike = [{"mesg_num": mesg["RECORD"], "timestamp": t0 + timedelta(seconds=i),
             "cadence": 85, "speed": 8.0, "distance": 8.0 * i} for i in range(600)]
    for record in bike:
        enc.write_mesg(record)
    for record in run:
        enc.write_mesg({"mesg_num": mesg["RECORD"], "timestamp": record["timestamp"],
                        "cadence": record["cadence"], "speed": record["speed"],
                        "distance": record["distance"]})
    run_s = (run[-1]["timestamp"] - run_start).total_seconds()
    for sport, start, seconds in (("cycling", t0, 599.0),
                                  ("transition", t0 + timedelta(seconds=600), 119.0),
                                  ("running", run_start, run_s)):
        enc.write_mesg({"mesg_num": mesg["SESSION"], "timestamp": start + timedelta(
            seconds=seconds), "start_time": start, "total_elapsed_time": seconds,
            "sport": sport})
    path.write_bytes(enc.close())
    return len(bike), len(run)


def test_multisport_fit_replays_only_the_run(tmp_path: Path) -> None:
    path = tmp_path / "multisport.fit"
    n_bike, n_run = multisport_fit(path)
    fit = read_fit(path)
    assert [w.sport for w in fit.windows] == ["cycling", "transition", "running"]
    assert fit.records_not_running == n_bike
    assert len(fit.samples) == n_run
    real = [file_spm(r) for r in fit_records(FENIX2)[:n_run]]
    assert [s.cadence_spm for s in fit.samples] == real  # no 170 spm "bike steps"


def test_fit_without_running_is_refused(tmp_path: Path) -> None:
    mesg = Profile["mesg_num"]
    t0 = datetime(2024, 5, 1, tzinfo=UTC)
    enc = Encoder()
    enc.write_mesg({"mesg_num": mesg["FILE_ID"], "type": "activity", "manufacturer":
                    "development", "product": 0, "serial_number": 1, "time_created": t0})
    enc.write_mesg({"mesg_num": mesg["RECORD"], "timestamp": t0, "cadence": 90, "speed": 9.0})
    enc.write_mesg({"mesg_num": mesg["SESSION"], "timestamp": t0, "start_time": t0,
                    "total_elapsed_time": 1.0, "sport": "cycling"})
    (tmp_path / "bike.fit").write_bytes(enc.close())
    with pytest.raises(FitImportError, match="no running session"):
        read_fit(tmp_path / "bike.fit")


def test_csv_import_frames_with_gap_and_clipping(tmp_path: Path) -> None:
    rate = 200.0
    t = np.arange(400) / rate
    t[200:] += 1.0  # one second lost after sample 200
    accel = np.column_stack([np.sin(t), np.cos(t), np.zeros_like(t)])
    accel[50, 0] = 20.0  # beyond ±16 g: saturates
    csv = tmp_path / "a.csv"
    np.savetxt(csv, np.column_stack([t, accel]), delimiter=",", header="time_s,ax_g,ay_g,az_g",
               comments="")
    info = import_file("csv", csv, tmp_path / "a.mcap", ImportOptions(
        athlete="a", session="s", start_utc_ns=START_UTC_NS, placement=Placement.TIBIA,
        side=Side.RIGHT, accel_range_g=16))
    assert info.devices["imu"].sample_rate_hz == pytest.approx(rate)
    frames = [decode(m.payload) for m in iter_messages(tmp_path / "a.mcap", {WireStream.IMU})]
    counts = np.concatenate([f.counts for f in frames])
    assert np.array_equal(counts, g_to_counts(accel, 16))
    assert counts[50, 0] == 32767
    gaps = [f for f in frames if f.flags & FLAG_GAP_BEFORE]
    assert len(gaps) == 1 and gaps[0].utc_ns == START_UTC_NS + round(t[200] * 1e9)


def test_csv_with_wrong_header_says_what_is_expected(tmp_path: Path) -> None:
    csv = tmp_path / "b.csv"
    csv.write_text("t,x,y,z\n0,0,0,1\n")
    with pytest.raises(ImportKindError, match="time_s,ax_g,ay_g,az_g"):
        import_file("csv", csv, tmp_path / "b.mcap", ImportOptions(
            athlete="a", session="s", start_utc_ns=START_UTC_NS))


def test_sacral_dataset_becomes_a_500_hz_sacrum_stream_with_force_truth(tmp_path: Path) -> None:
    out = tmp_path / "sacrum.mcap"
    info = import_file("dataset", DATA / "sacral-grf-alcantarar", out, ImportOptions(
        athlete="a", session="s", start_utc_ns=START_UTC_NS, trials=(2, 3)))
    sacrum = info.devices["sacrum"]
    assert (sacrum.placement, sacrum.sample_rate_hz) == ("sacrum", 500.0)
    frames = [decode(m.payload) for m in iter_messages(out, {WireStream.IMU})]
    assert sum(f.n_samples for f in frames) == 2 * 2480
    assert sum(bool(f.flags & FLAG_GAP_BEFORE) for f in frames) == 1
    vertical = np.concatenate([f.accel_g()[:, 0] for f in frames])
    assert 1.0 < vertical.mean() < 1.4  # gravity included; flight phases near 0 g
    truth = json.loads(read_attachments(out)["truth/sacrum.json"])
    rates = [t["step_rate_spm"] for t in truth["trials"]]
    assert all(170 < r < 220 for r in rates)
