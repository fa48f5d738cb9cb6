"""The live processor's heartbeat: a small JSON file it rewrites every few seconds.

``python -m footfall.service.health STATE_DIR`` exits 0 when the processor is alive (the
file is fresh), connected to the broker, not stuck on one message, accepted by InfluxDB and
not piling up points for it; otherwise it prints why and exits 1. docker-compose.yml uses it
as the processor's healthcheck.

The :class:`Watchdog` is a thread beside the event loop: a message whose handling takes more
than :data:`STUCK_AFTER_S` is named in the heartbeat (and the log) while it blocks the loop,
instead of the heartbeat just going stale.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

FILE_NAME = "processor-health.json"
INTERVAL_S = 5.0
STALE_AFTER_S = 30.0
MAX_SPOOLED_BATCHES = 100
#: one message's handling longer than this is reported as stuck (the slowest legitimate one,
#: a 65,535-sample frame, takes a few ms)
STUCK_AFTER_S = 5.0


def write(state_dir: Path, status: dict[str, Any]) -> None:
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / FILE_NAME
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"time_ns": time.time_ns(), **status}))
    os.replace(tmp, path)  # readers never see half a file


def running_processor(state_dir: Path) -> tuple[int, str] | None:
    """The pid and broker URL of a ``footfall process`` that beats in ``state_dir``, if one
    still runs (``footfall stack down`` stops the one that used its broker)."""
    try:
        status = json.loads((state_dir / FILE_NAME).read_text())
        pid = int(status["pid"])
        os.kill(pid, 0)
    except (OSError, ValueError, KeyError, TypeError, json.JSONDecodeError):
        return None
    return pid, str(status.get("mqtt_url", ""))


def check(state_dir: Path, *, now_ns: int | None = None) -> str | None:
    """None when healthy, else the reason."""
    path = state_dir / FILE_NAME
    try:
        status = json.loads(path.read_text())
    except FileNotFoundError:
        return f"no heartbeat at {path}: is `footfall process` running with this state dir?"
    except (OSError, json.JSONDecodeError) as exc:
        return f"unreadable heartbeat {path}: {exc}"
    age_s = ((now_ns or time.time_ns()) - int(status.get("time_ns", 0))) / 1e9
    if age_s > STALE_AFTER_S:
        return f"heartbeat is {age_s:.0f} s old: the processor is stuck or gone"
    stuck = status.get("stuck")
    if isinstance(stuck, dict):
        return (f"the processor has been handling one message (from {stuck.get('message')}) "
                f"for {float(stuck.get('for_s', 0)):.0f} s: it is stuck")
    if status.get("influx_error"):
        return str(status["influx_error"])
    if not status.get("connected"):
        return "the processor is not connected to the broker"
    if int(status.get("spooled_batches", 0)) > MAX_SPOOLED_BATCHES:
        return (f"{status['spooled_batches']} batches wait for InfluxDB: is it reachable and "
                "accepting writes?")
    return None


class Watchdog:
    """Writes the heartbeat, and watches the message being handled from a thread."""

    def __init__(self, state_dir: Path, *, stuck_after_s: float = STUCK_AFTER_S,
                 check_every_s: float = 1.0) -> None:
        self.state_dir = state_dir
        self.stuck_after_s = stuck_after_s
        self.check_every_s = check_every_s
        self._lock = threading.Lock()
        self._status: dict[str, Any] = {}
        self._current: tuple[str, float] | None = None
        self._reported: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def write(self, status: dict[str, Any]) -> None:
        with self._lock:
            self._status = status
            write(self.state_dir, status)

    @contextlib.contextmanager
    def handling(self, what: str) -> Iterator[None]:
        """Around the handling of one message (``what``: its topic)."""
        self.begin(what)
        try:
            yield
        finally:
            self.end()

    def begin(self, what: str) -> None:
        """:meth:`handling` without a context manager (the processor's per-message path:
        a generator-based one costs ~1.5 µs a message); pair it with :meth:`end`."""
        self._current = (what, time.monotonic())

    def end(self) -> None:
        self._current = None
        if self._reported is not None:
            log.warning("the message from %s is handled after all", self._reported)
            self._reported = None
            self.write(self._status)

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._watch, name="watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _watch(self) -> None:
        while not self._stop.wait(self.check_every_s):
            current = self._current
            if current is None:
                continue
            what, since = current
            for_s = time.monotonic() - since
            if for_s < self.stuck_after_s:
                continue
            if self._reported != what:
                log.error("stuck: handling one message from %s for %.0f s", what, for_s)
                self._reported = what
            with self._lock:
                write(self.state_dir, {**self._status, "stuck": {"message": what,
                                                                 "for_s": round(for_s, 1)}})


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m footfall.service.health STATE_DIR", file=sys.stderr)
        return 2
    reason = check(Path(argv[0]))
    if reason:
        print(f"unhealthy: {reason}")
        return 1
    print("healthy")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
