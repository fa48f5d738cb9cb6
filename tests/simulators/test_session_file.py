"""Session files: what is written is read back exactly, with its metadata."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from mcap.reader import make_reader

from footfall.recordings.session_file import (
    PROFILE,
    SessionFileError,
    SessionWriter,
    iter_messages,
    read_attachments,
    read_info,
)
from footfall.simulators.replay import relabel, retime_payload
from footfall.simulators.synthetic import write_synthetic_session
from footfall.wire.events import RscSample, StepEvent
from footfall.wire.frame import decode
from footfall.wire.topics import INPUT_STREAMS, Stream, Topic

from .conftest import START_UTC_NS, two_tibias


def test_synthetic_session_round_trips_every_sample(tmp_path: Path) -> None:
    runs = two_tibias(3.0)
    path = tmp_path / "s.mcap"
    info = write_synthetic_session(path, runs, athlete="sim", session="s1",
                                   start_utc_ns=START_UTC_NS)
    assert (info.athlete, info.session, info.source) == ("sim", "s1", "synthetic")
    assert set(info.devices) == {"tibia-left", "tibia-right"}
    left = info.devices["tibia-left"]
    assert (left.placement, left.side, left.sample_rate_hz, left.accel_range_g) == \
        ("tibia", "left", 1000.0, 16)
    for device, run in runs.items():
        frames = [decode(m.payload) for m in iter_messages(path, {Stream.IMU})
                  if m.topic.device == device]
        assert [f.seq for f in frames] == list(range(len(frames)))
        assert np.array_equal(np.concatenate([f.counts for f in frames]), run.counts)
        assert frames[0].utc_ns == START_UTC_NS
    truth = json.loads(read_attachments(path)["truth/tibia-left.json"])
    assert truth["strikes"]["time_s"] == pytest.approx(runs["tibia-left"].truth.time_s, abs=1e-4)


def test_messages_come_in_log_time_order_with_meta_first(short_session: Path) -> None:
    messages = list(iter_messages(short_session))
    times = [m.log_time_ns for m in messages]
    assert times == sorted(times)
    assert {m.topic.stream for m in messages[:4]} == {Stream.META, Stream.STATUS}
    assert all(m.retain == (m.topic.stream in (Stream.META, Stream.STATUS)) for m in messages)
    imu = next(m for m in messages if m.topic.stream is Stream.IMU)
    assert imu.publish_time_ns == decode(imu.payload).utc_ns  # the data's own UTC


def test_file_is_plain_indexed_mcap_for_other_tools(short_session: Path) -> None:
    with short_session.open("rb") as f:
        reader = make_reader(f)
        assert reader.get_header().profile == PROFILE
        summary = reader.get_summary()
        assert summary is not None and summary.chunk_indexes
        encodings = {c.topic.rsplit("/", 1)[1]: c.message_encoding
                     for c in summary.channels.values()}
        assert encodings == {"imu": "footfall.frame.v1", "meta": "json", "status": "json"}
        assert {c.metadata["mqtt_retain"] for c in summary.channels.values()
                if c.topic.endswith("/meta")} == {"true"}


def test_unreadable_files_say_why(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mcap"
    bad.write_bytes(b"not an mcap file")
    with pytest.raises(SessionFileError, match="not a readable MCAP"):
        read_info(bad)
    with pytest.raises(SessionFileError, match="cannot open"):
        read_info(tmp_path / "missing.mcap")


def test_writer_records_derived_events_too(tmp_path: Path) -> None:
    path = tmp_path / "d.mcap"
    step = StepEvent(time_ns=START_UTC_NS, sensor_time_s=1.0, impact_g=9.5, cadence_spm=170,
                     interval_s=0.7, side="left", placement="tibia", clipped=False,
                     confidence=1.0)
    with SessionWriter(path, source="test") as writer:
        writer.write("footfall/v1/a/s/tibia-left/step", step.to_json(), log_time_ns=START_UTC_NS)
    (message,) = iter_messages(path)
    assert message.publish_time_ns == START_UTC_NS
    assert not set(iter_messages(path, INPUT_STREAMS))


def test_retime_moves_utc_and_nothing_else(short_session: Path) -> None:
    imu = next(m for m in iter_messages(short_session, {Stream.IMU}))
    shifted = decode(retime_payload(Stream.IMU, imu.payload, 5_000_000_000))
    original = decode(imu.payload)
    assert shifted.utc_ns == original.utc_ns + 5_000_000_000
    assert np.array_equal(shifted.counts, original.counts)
    assert shifted.sensor_time_us == original.sensor_time_us
    rsc = RscSample(time_ns=START_UTC_NS, speed_mps=3.0, cadence_spm=170.0)
    moved = RscSample.from_json(retime_payload(Stream.RSC, rsc.to_json(), 1_000_000_000))
    assert moved.time_ns == START_UTC_NS + 1_000_000_000
    assert json.loads(retime_payload(Stream.RSC, rsc.to_json(), 1_000_000_000))["time_utc"] == \
        "2026-01-15T09:00:01.000Z"


def test_relabel_keeps_device_and_stream() -> None:
    topic = Topic("a", "s", "tibia-left", Stream.IMU)
    assert str(relabel(topic, "ana", None)) == "footfall/v1/ana/s/tibia-left/imu"
    assert relabel(topic, None, None) == topic


def test_a_file_cut_off_while_written_is_read_up_to_where_it_ends(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A recorder killed mid-session leaves no summary: its complete chunks still count."""
    source = tmp_path / "source.mcap"
    write_synthetic_session(source, two_tibias(30.0), athlete="sim", session="s1",
                            start_utc_ns=START_UTC_NS)
    whole = tmp_path / "whole.mcap"
    with SessionWriter(whole, source="test", chunk_size=16 * 1024) as writer:
        for m in iter_messages(source):
            writer.write(m.topic, m.payload, log_time_ns=m.log_time_ns,
                         publish_time_ns=m.publish_time_ns)
    full = list(iter_messages(whole))
    cut = tmp_path / "cut.mcap"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 2 // 3])
    info = read_info(cut)
    assert not info.complete and read_info(whole).complete
    assert (info.athlete, info.session) == ("sim", "s1")
    assert set(info.devices) == {"tibia-left", "tibia-right"}
    messages = list(iter_messages(cut))
    assert 0.3 * len(full) < len(messages) < len(full)
    assert info.message_count == len(messages)
    # what was read is exactly the start of the session, message for message
    kept = {(m.topic.device, m.topic.stream, m.payload) for m in messages}
    assert kept <= {(m.topic.device, m.topic.stream, m.payload) for m in full}
    assert "ends early" in caplog.text
