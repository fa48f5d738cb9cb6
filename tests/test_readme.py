"""The README's walk-through, run as a new user runs it: every `footfall` command of "Using it",
in order, in a fresh directory, against a private broker and database (`footfall stack up`
on free ports), with the synthetic runner standing in for sensors.

Commands ending in ``&`` run in the background as the README says; `footfall monitor` runs in
an 80x24 tmux pane (our own tmux server) and is quit with `q`; without Bluetooth, `scan` and
`ingest --device` must fail with exit status 2 and say what to use instead. Each command's
output is checked for what the README promises of it.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from footfall.stack.servers import free_port, port_open
from tests.conftest import IN_CI, _require

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
FOOTFALL = [sys.executable, "-m", "footfall"]


def readme_commands() -> list[str]:
    """The `footfall …` lines of the README's "Using it" section, comments cut, in order."""
    text = README.read_text()
    section = text[text.index("## Using it"):text.index("## Documentation")]
    out = []
    for block in re.findall(r"```bash\n(.*?)```", section, re.S):
        for line in block.splitlines():
            command = line.split("  #")[0].strip()
            if command.startswith("footfall "):
                out.append(command)
    return out


def test_the_walkthrough_covers_the_whole_loop() -> None:
    """What the walk-through below runs, so a README that loses a step fails here."""
    verbs = [c.split()[1] for c in readme_commands()]
    for verb in ("stack", "process", "record", "monitor", "coach", "simulate", "scan",
                 "ingest", "analyze", "decode", "report", "sessions", "load"):
        assert verb in verbs, verb
    assert verbs[0] == "stack" and readme_commands()[-1] == "footfall stack down"
    assert verbs.index("record") < verbs.index("simulate")  # recording starts before the run


class Walk:
    def __init__(self, tmp: Path) -> None:
        self.cwd = tmp / "clone"
        self.cwd.mkdir()
        (self.cwd / "tests").symlink_to(ROOT / "tests")  # the README's sample files
        self.env = {**os.environ, "FOOTFALL_STATE_DIR": str(tmp / "state"),
                    "FOOTFALL_MQTT_URL": f"mqtt://127.0.0.1:{free_port()}",
                    "FOOTFALL_INFLUX_URL": f"http://127.0.0.1:{free_port()}",
                    "COLUMNS": "100"}
        self.env.pop("FOOTFALL_ATHLETE", None)
        self.env.pop("FOOTFALL_SESSION", None)
        self.background: dict[str, subprocess.Popen[str]] = {}
        self.tmux = f"footfall-readme-{uuid.uuid4().hex[:8]}"
        self.coach_port = 8080 if not port_open("127.0.0.1", 8080) else free_port()

    def argv(self, command: str) -> list[str]:
        words = shlex.split(command)
        if words[1] == "coach" and self.coach_port != 8080:  # 8080 is taken on this machine
            words += ["--port", str(self.coach_port)]
        return [*FOOTFALL, *words[1:]]

    def run(self, command: str, timeout_s: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.argv(command), cwd=self.cwd, env=self.env, text=True,
                              capture_output=True, timeout=timeout_s)

    def start(self, command: str) -> None:
        self.background[command.split()[1]] = subprocess.Popen(
            self.argv(command), cwd=self.cwd, env=self.env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def tmux_cmd(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.tmux, "-f", os.devnull, *args], check=True,
                              capture_output=True, text=True, env=self.env,
                              cwd=self.cwd).stdout

    def until(self, check: Callable[[], bool], what: str | Callable[[], str],
              timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while not check():
            if time.monotonic() > deadline:
                pytest.fail(f"timed out waiting for {what() if callable(what) else what}")
            time.sleep(0.2)

    def stop_all(self) -> None:
        for process in self.background.values():
            if process.poll() is None:
                process.kill()
        subprocess.run(["tmux", "-L", self.tmux, "kill-server"], check=False,
                       capture_output=True)
        self.run("footfall stack down", timeout_s=60)


@pytest.mark.servers
@pytest.mark.walkthrough
def test_the_readme_walkthrough_runs_as_written(tmp_path: Path) -> None:
    _require("mosquitto")
    _require("influxd")
    if shutil.which("tmux") is None:
        if IN_CI:
            pytest.fail("CI=true and tmux is not installed (scripts/setup installs it)")
        pytest.skip("tmux is not installed")
    walk = Walk(tmp_path)
    try:
        for command in readme_commands():
            verb = command.split()[1]
            if command.endswith("&"):
                walk.start(command[:-1].strip())
                if verb == "process":
                    walk.until(lambda: (Path(walk.env["FOOTFALL_STATE_DIR"]) /
                                        "processor-health.json").exists(), "the processor")
                elif verb == "coach":
                    walk.until(lambda: _answers(walk.coach_port), "the coach's web server")
                else:
                    time.sleep(1.0)  # subscribed before the run starts
                continue
            if verb == "monitor":
                walk.tmux_cmd("new-session", "-d", "-x", "80", "-y", "24", "-s", "monitor",
                              shlex.join(walk.argv(command)))
                walk.tmux_cmd("set-option", "-t", "monitor", "remain-on-exit", "on")
                walk.until(lambda: "DATA QUALITY" in walk.tmux_cmd(
                    "capture-pane", "-p", "-t", "monitor"),
                    lambda: "the monitor: " + walk.tmux_cmd("capture-pane", "-p", "-t",
                                                            "monitor"))
                continue
            if verb in ("report", "sessions") and "--athlete" in command:
                walk.until(lambda: walk.run("footfall sessions --athlete anna").returncode == 0,
                           "the session's summary in InfluxDB")
            done = walk.run(command)
            _check(walk, command, done)
        # the monitor followed the run; q prints what it saw
        screen = walk.tmux_cmd("capture-pane", "-p", "-t", "monitor")
        assert "anna/" in screen and "ended" in screen, screen
        walk.tmux_cmd("send-keys", "-t", "monitor", "q")
        walk.until(lambda: "time in target" in walk.tmux_cmd(
            "capture-pane", "-p", "-S", "-100", "-t", "monitor"), "the monitor's summary")
        # Ctrl-C ends the coach at once
        coach = walk.background["coach"]
        started = time.monotonic()
        coach.send_signal(signal.SIGINT)
        coach.wait(timeout=10)
        assert time.monotonic() - started < 3
    finally:
        walk.stop_all()


def _answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/runner", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _check(walk: Walk, command: str, done: subprocess.CompletedProcess[str]) -> None:
    verb = command.split()[1]
    out, err = done.stdout, done.stderr
    if verb == "scan" or (verb == "ingest" and "--emulate" not in command):
        if done.returncode == 0:
            return  # this machine has Bluetooth
        assert done.returncode == 2, err
        assert "`footfall simulate`" in err and "--emulate" in err, err
        return
    assert done.returncode == 0, f"{command}\n{out[-2000:]}\n{err[-3000:]}"
    if verb == "simulate":
        # the recording started before the run ends with it (--until-offline)
        record = walk.background["record"]
        record.wait(timeout=60)
        assert record.returncode == 0
        assert (walk.cwd / "anna.mcap").stat().st_size > 100_000
        process_out = walk.background["process"]
        assert process_out.poll() is None  # still serving
    elif verb == "analyze" and "anna.mcap" in command:
        assert "What we found" in out and "Cadence was" in out, out
        assert "drift" in out
    elif verb == "analyze":
        assert "Cadence was" in out and ("Breaks in running" in out or "No pauses" in out), out
    elif verb == "decode":
        assert '"total_distance_m": 1234.5' in out
    elif verb == "report":
        name = command.split("-o ")[1].split()[0]
        assert (walk.cwd / name).stat().st_size > 20_000, err
    elif verb == "sessions":
        assert "anna" in out or "sample" in out or "spm" in out, out
    elif verb == "load":
        assert "km" in out, out
    elif verb == "stack" and command.endswith("down"):
        assert "stopped: footfall process" in out, out
        process = walk.background["process"]
        process.wait(timeout=15)
        said = process.stdout.read() if process.stdout else ""
        assert re.search(r"session anna/\S+ started", said), said
        assert re.search(r"session anna/\S+ ended: tibia-left \d+ steps", said), said
