"""The on-disk spool: order, acknowledgement, restart recovery, torn tails, segment rotation."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from footfall.ingest.spool import Record, Spool


def _records(n: int, start: int = 0) -> list[Record]:
    return [Record(f"t/{i % 3}", i.to_bytes(4, "little") * (i % 5 + 1), 1, i % 7 == 0)
            for i in range(start, start + n)]


def test_read_in_order_ack_and_rewind(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    for r in _records(25):
        spool.append(r)
    got, end = spool.read(10)
    assert got == _records(10)
    spool.rewind()  # the publish failed: read the same again
    got, end = spool.read(10)
    assert got == _records(10)
    spool.ack(end, len(got))
    got, _ = spool.read(100)
    assert got == _records(15, 10) and spool.pending == 15


def test_restart_resumes_after_last_ack(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    for r in _records(30):
        spool.append(r)
    _got, end = spool.read(12)
    spool.ack(end, 12)
    spool.close()
    again = Spool(tmp_path)
    assert again.pending == 18
    assert again.read(100)[0] == _records(18, 12)


def test_torn_tail_is_cut_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    spool = Spool(tmp_path)
    for r in _records(3):
        spool.append(r)
    spool.close()
    seg = next(tmp_path.glob("*.spool"))
    seg.write_bytes(seg.read_bytes() + b"\x40\x00\x00\x00\x01\x02")  # a record cut mid-write
    with caplog.at_level(logging.WARNING):
        again = Spool(tmp_path)
    assert "torn record" in caplog.text
    assert again.read(10)[0] == _records(3)
    again.append(_records(1, 3)[0])
    assert again.read(10)[0] == _records(1, 3)


def test_segments_rotate_and_acked_ones_are_deleted(tmp_path: Path) -> None:
    spool = Spool(tmp_path, segment_bytes=200)
    for r in _records(40):
        spool.append(r)
    assert len(list(tmp_path.glob("*.spool"))) > 3
    got: list[Record] = []
    while spool.pending:
        batch, end = spool.read(7)
        got += batch
        spool.ack(end, len(batch))
    assert got == _records(40)
    assert len(list(tmp_path.glob("*.spool"))) == 1  # only the one being written


@settings(max_examples=40, deadline=None)
@given(sizes=st.lists(st.integers(0, 150_000), min_size=1, max_size=12),
       batch=st.integers(1, 5), segment=st.sampled_from([1_000, 100_000, 4_000_000]))
def test_any_sizes_any_batches_round_trip(sizes: list[int], batch: int, segment: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        spool = Spool(Path(tmp), segment_bytes=segment)
        want = [Record(f"t/{i}", bytes([i % 251]) * n, 1, False) for i, n in enumerate(sizes)]
        for r in want:
            spool.append(r)
        got: list[Record] = []
        while spool.pending:
            records, end = spool.read(batch)
            assert records
            got += records
            spool.ack(end, len(records))
        assert got == want
        spool.close()


@settings(max_examples=30, deadline=None)
@given(groups=st.lists(st.lists(st.integers(0, 3_000), max_size=6), min_size=1, max_size=8),
       segment=st.sampled_from([500, 100_000]))
def test_append_many_is_append_in_one_write(groups: list[list[int]], segment: int) -> None:
    """The journal's batched writes read back as the same records as one append each, across
    segment rotation and after a restart (torn-tail scan included)."""
    with tempfile.TemporaryDirectory() as tmp:
        spool = Spool(Path(tmp), segment_bytes=segment)
        want: list[Record] = []
        for g, sizes in enumerate(groups):
            batch = [(f"footfall/v1/a/s/d{g}/imu".encode(), bytes([i % 251]) * n)
                     for i, n in enumerate(sizes)]
            spool.append_many(batch)
            want += [Record(t.decode(), p, 1, False) for t, p in batch]
        assert spool.pending == len(want)
        spool.close()
        again = Spool(Path(tmp), segment_bytes=segment)
        got: list[Record] = []
        while batch_read := again.read(7)[0]:
            got += batch_read
        assert got == want
        again.close()
