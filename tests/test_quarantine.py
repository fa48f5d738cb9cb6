"""The quarantine keeps what was set aside, within its caps, and does not flood the log."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from footfall.core.quarantine import LOG_PER_MINUTE, MAX_KEPT_PAYLOAD, Quarantine


def test_a_flood_is_kept_within_the_cap_newest_first(tmp_path: Path,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    """An ``ingest`` client sending 100 MB of garbage in seconds (the issue: no cap at all)."""
    caplog.set_level(logging.WARNING)
    now_s = [0.0]  # the log's minute, fixed: a run across a minute's end would log 10
    q = Quarantine(tmp_path, max_bytes=5_000_000, file_bytes=1_000_000,
                   clock=lambda: now_s[0])
    junk = b"\xff" * 20_000
    for i in range(1500):  # ≈ 60 MB of records (hex doubles the size)
        q.put("footfall/v1/a/s/x/meta", f"junk {i}", junk)
    files = sorted(tmp_path.glob("*.jsonl"))
    total = sum(p.stat().st_size for p in files)
    assert total <= 5_000_000 + 100_000  # the cap, plus at most one record over a file's size
    assert q.deleted_files > 40 and q.total == 1500
    newest = [json.loads(line) for line in max(files, key=lambda p: p.stat().st_mtime_ns)
              .read_text().splitlines()]
    assert newest[-1]["reason"] == "junk 1499"  # the latest is always kept
    per_message = [r for r in caplog.records if "set aside a malformed message" in r.message]
    assert len(per_message) == LOG_PER_MINUTE
    assert any("without a log line each" in r.message for r in caplog.records)
    assert any("deleted its oldest file" in r.message for r in caplog.records)
    now_s[0] = 60.0  # the next minute: its first messages are logged again
    q.put("footfall/v1/a/s/x/meta", "junk 1500", junk)
    per_message = [r for r in caplog.records if "set aside a malformed message" in r.message]
    assert len(per_message) == LOG_PER_MINUTE + 1 and "junk 1500" in per_message[-1].message


def test_a_huge_payload_keeps_its_start_and_its_length(tmp_path: Path) -> None:
    q = Quarantine(tmp_path)
    q.put("footfall/v1/a/s/x/rsc", "too large", b"x" * 10_000_000)
    (record,) = [json.loads(line) for line in next(tmp_path.glob("*.jsonl")).read_text()
                 .splitlines()]
    assert record["payload_bytes"] == 10_000_000
    assert len(bytes.fromhex(record["payload_hex"])) == MAX_KEPT_PAYLOAD
