"""`footfall record --from` and `footfall replay` argument handling (no broker needed)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from footfall.commands import record, replay
from footfall.config.settings import Settings
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


@pytest.mark.servers
def test_a_replay_of_old_data_says_where_it_will_show_up(
        settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    """Without --now the sample lands under 2026-01-15: the Live dashboard shows nothing,
    and the user is told so, with the fix."""
    from footfall.cli import main

    sample = Path(__file__).resolve().parents[2] / "footfall" / "data" / "sample-session.mcap"
    flags = ["--mqtt-url", settings.mqtt_url, "--athlete", settings.athlete, "--session",
             settings.session, "--speed", "0"]
    assert main(["replay", str(sample), *flags]) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert "keep their own time, 15 Jan 2026" in err and "Add --now" in err
    assert main(["replay", str(sample), *flags, "--now"]) == 0
    assert "keep their own time" not in capsys.readouterr().err
