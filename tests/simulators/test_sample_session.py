"""The shipped sample session is small, complete, and exactly what its script makes."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np

from footfall.recordings.session_file import iter_messages, read_attachments, read_info
from footfall.wire.topics import Stream

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "footfall" / "data" / "sample-session.mcap"
SCRIPT = ROOT / "scripts" / "make_sample_session.py"


def test_sample_session_is_small_and_describes_itself() -> None:
    assert SAMPLE.stat().st_size < 2 * 1024 * 1024
    info = read_info(SAMPLE)
    assert (info.athlete, info.session, info.source) == ("demo", "sample-treadmill", "synthetic")
    assert 239.9 < info.duration_s < 240.1  # warm-up 60 s, baseline 60 s, then 2 min
    assert {d: (i.placement, i.side, i.sample_rate_hz) for d, i in info.devices.items()} == {
        "tibia-left": ("tibia", "left", 500.0), "tibia-right": ("tibia", "right", 500.0)}
    truth = json.loads(read_attachments(SAMPLE)["truth/tibia-right.json"])
    cadence = np.asarray(truth["profile"]["cadence_spm"])
    assert cadence.min() > 160 and cadence.max() < 180  # the treadmill stages, 2.8-3.6 m/s


def test_script_reproduces_the_sample(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("make_sample_session", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / "again.mcap"
    assert module.main(["-o", str(out)]) == 0
    # compare content, not bytes: another zstd version may compress differently
    shipped = [(str(m.topic), m.log_time_ns, m.payload) for m in iter_messages(SAMPLE)]
    again = [(str(m.topic), m.log_time_ns, m.payload) for m in iter_messages(out)]
    assert shipped == again
    assert read_attachments(SAMPLE) == read_attachments(out)
    assert sum(1 for m in iter_messages(out, {Stream.IMU})) == 2 * 10000  # 12-sample frames
