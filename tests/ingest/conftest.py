"""A restartable Mosquitto for the gateway tests (the shared session broker must not restart).

Unlike the shared fixture this broker keeps ``persistence true`` (in its temp dir): a restart
mid-test must keep the test subscriber's persistent session and its queued QoS 1 messages,
exactly what a production broker is configured to do. Under ``CI=true`` a missing mosquitto
fails the test instead of skipping it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
CANDIDATES = ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto")


def _mosquitto_binary() -> str | None:
    found = shutil.which("mosquitto")
    if found:
        return found
    return next((c for c in CANDIDATES if Path(c).exists()), None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Broker:
    binary: str
    folder: Path
    port: int = field(default_factory=_free_port)
    host: str = "127.0.0.1"
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def start(self) -> None:
        conf = self.folder / "m.conf"
        conf.write_text(
            f"listener {self.port} {self.host}\n"
            "allow_anonymous true\n"
            "persistence true\n"
            f"persistence_location {self.folder}/\n"
            "max_queued_messages 100000\n"
            "log_dest none\n"
        )
        self.proc = subprocess.Popen([self.binary, "-c", str(conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                raise RuntimeError(f"mosquitto exited with {self.proc.returncode}: {err}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not open its port within 10 s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


@pytest.fixture
def ingest_broker(tmp_path: Path) -> Iterator[Broker]:
    binary = _mosquitto_binary()
    if binary is None:
        message = "mosquitto is not installed (Debian/Ubuntu: apt-get install mosquitto)"
        if IN_CI:
            pytest.fail(f"CI=true and {message}", pytrace=False)
        pytest.skip(message)
    folder = tmp_path / "mosquitto"
    folder.mkdir()
    broker = Broker(binary, folder)
    broker.start()
    yield broker
    broker.stop()
