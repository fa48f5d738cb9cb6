"""`footfall record --from` and `footfall replay` argument handling (no broker needed)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from footfall.commands import record, replay
from footfall.core.errors import CommandError
from footfall.recordings.session_file import read_info

from .test_importers import FENIX2


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="footfall")
    sub = parser.add_subparsers(required=True)
    record.register(sub)
    replay.register(sub)
    args = parser.parse_args(argv)
    return int(args.func(args))


def test_record_from_fit_names_the_session_after_the_run(tmp_path: Path) -> None:
    out = tmp_path / "run.mcap"
    assert run(["record", "--from", str(FENIX2), "-o", str(out), "--athlete", "ana"]) == 0
    info = read_info(out)
    assert (info.athlete, info.session, info.source) == ("ana", "20150815T144508Z", "fit")


def test_bad_inputs_are_command_errors(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="does not exist"):
        run(["record", "--from", str(tmp_path / "none.fit"), "-o", str(tmp_path / "o.mcap")])
    with pytest.raises(CommandError, match="time zone"):
        run(["record", "--from", str(FENIX2), "-o", str(tmp_path / "o.mcap"),
             "--start-utc", "2026-01-01T00:00:00"])
    with pytest.raises(CommandError, match="cannot tell what"):
        run(["replay", str(tmp_path / "notes.txt")])
    (tmp_path / "empty.mcap").write_bytes(b"")
    with pytest.raises(CommandError, match="not a readable MCAP"):
        run(["replay", str(tmp_path / "empty.mcap"), "--mqtt-url", "mqtt://127.0.0.1:1"])
