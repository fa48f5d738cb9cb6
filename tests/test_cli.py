"""The command line: what --help teaches, and the local stack driven as a user would."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from footfall.cli import build_parser, main
from footfall.commands import COMMANDS
from footfall.commands._common import HelpFormatter
from footfall.stack.servers import free_port
from tests.conftest import _require


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for command in ("demo", "stack", "simulate", "process", "analyze", "scan", "ingest",
                    "decode", "record", "replay"):
        assert f"    {command} " in out, command


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_help_prints_its_text_as_written(command: str,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """rich markup would turn ``:foot:`` of a device spec into an emoji and eat
    ``[[device]]``: every command's help must come out as it was written."""
    with pytest.raises(SystemExit):
        main([command, "--help"])
    out = capsys.readouterr().out
    assert out.isascii() or all(ord(ch) < 0x2600 for ch in out), "an emoji in the help"
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert sub.choices[command].formatter_class is HelpFormatter


def test_config_errors_exit_2_with_the_fix(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stack", "status", "--athlete", "bad/id"]) == 2
    assert "FOOTFALL_ATHLETE" in capsys.readouterr().err


def test_analyze_of_a_folder_that_is_no_dataset_says_what_to_give(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``footfall analyze ""`` (an empty path is the current folder) ended in a traceback."""
    for path in ("", str(tmp_path)):
        assert main(["analyze", path]) == 2
        err = capsys.readouterr().err
        assert "dataset" in err and "give a recording file" in err and "Traceback" not in err


@pytest.mark.servers
def test_stack_up_status_down(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _require("mosquitto")
    _require("influxd")
    flags = ["--state-dir", str(tmp_path), "--mqtt-url", f"mqtt://127.0.0.1:{free_port()}",
             "--influx-url", f"http://127.0.0.1:{free_port()}"]
    try:
        assert main(["stack", "up", *flags]) == 0
        assert main(["stack", "up", *flags]) == 0  # idempotent
        capsys.readouterr()
        assert main(["stack", "status", *flags]) == 0
        status = capsys.readouterr().out
        assert "mosquitto" in status and "influxdb" in status and "not running" not in status
        assert (tmp_path / "stack" / "mosquitto" / "mosquitto.conf").is_file()
    finally:
        assert main(["stack", "down", *flags]) == 0
    assert main(["stack", "status", *flags]) == 1
    assert "not running" in capsys.readouterr().out


def test_log_lines_go_to_stderr_not_into_json_output() -> None:
    """A warning during a command must not corrupt its stdout (``analyze --json``)."""
    import subprocess
    import sys

    script = ("import logging, sys\n"
              "from footfall.cli import main\n"
              "code = main(['-v', 'decode', 'rsc', '07 00 03 12 56 00 01 00 00 F0'])\n"
              "logging.getLogger('footfall.test').warning('a warning while decoding')\n"
              "sys.exit(code)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, check=True)
    assert json.loads(done.stdout)["cadence_raw"] == 18
    assert "a warning while decoding" in done.stderr


@pytest.mark.servers
def test_stack_down_stops_the_processor_that_used_it(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """`footfall process &` then `footfall stack down`: the processor would otherwise retry
    the stopped broker for ever, printing into the user's shell."""
    import subprocess
    import sys
    import time

    from footfall.service.health import running_processor

    _require("mosquitto")
    _require("influxd")
    flags = ["--state-dir", str(tmp_path), "--mqtt-url", f"mqtt://127.0.0.1:{free_port()}",
             "--influx-url", f"http://127.0.0.1:{free_port()}"]
    assert main(["stack", "up", *flags]) == 0
    process = subprocess.Popen([sys.executable, "-m", "footfall", "process", *flags],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while running_processor(tmp_path) is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert running_processor(tmp_path) is not None
        capsys.readouterr()
        assert main(["stack", "down", *flags]) == 0
        said = capsys.readouterr().out
        assert "stopped: footfall process" in said and "mosquitto" in said
        assert process.wait(timeout=15) == 0
    finally:
        process.kill()
        main(["stack", "down", *flags])


def test_ctrl_c_ends_the_processor_at_once_even_with_nothing_to_talk_to(tmp_path: Path) -> None:
    """No broker, no database: Ctrl-C still ends it promptly, and it does not print a line
    a second while it waits."""
    import signal
    import subprocess
    import sys
    import time

    flags = ["--state-dir", str(tmp_path), "--mqtt-url", f"mqtt://127.0.0.1:{free_port()}",
             "--influx-url", f"http://127.0.0.1:{free_port()}"]
    process = subprocess.Popen([sys.executable, "-m", "footfall", "process", *flags],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(6)  # several reconnect attempts
    started = time.monotonic()
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    took_s = time.monotonic() - started
    assert process.returncode == 0, err
    assert took_s < 3, f"Ctrl-C took {took_s:.1f} s"
    assert err.count("unreachable") == 1, err  # said once, not once a second


def test_a_default_simulated_run_outlasts_the_default_baseline() -> None:
    """With every default, a simulated run has a baseline and at least a minute against it:
    drift and a relative target are never "—" for the whole run."""
    from footfall.commands.simulate import DEFAULT_DURATION_S
    from footfall.config.analysis import AnalysisConfig

    config = AnalysisConfig()
    assert config.warmup_s + config.baseline_s + 60 <= DEFAULT_DURATION_S
