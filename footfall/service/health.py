"""The live processor's heartbeat: a small JSON file it rewrites every few seconds.

``python -m footfall.service.health STATE_DIR`` exits 0 when the processor is alive (the
file is fresh), connected to the broker, not stuck on one message, accepted by InfluxDB and
not piling up points for it; otherwise it prints why and exits 1. docker-compose.yml uses it
as the processor's healthcheck.

The :class:`Watchdog` is a thread beside the event loop: a message whose handling takes more
than :data:`STUCK_AFTER_S` is named in the heartbeat (and the log) while it blocks the loop,
instead of the heartbeat just going stale. :class:`Capacity` says when the processor no longer
keeps up with its input (the log, and ``at_capacity`` in the heartbeat).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
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


#: a processor whose input waited less than this share of the time …
BUSY_IDLE_SHARE = 0.02
#: … over this long is at or past its capacity, or catching up a backlog: said in the log
BUSY_WARN_S = 10.0
#: and said again this often while it lasts
BUSY_REPEAT_S = 60.0


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


class Capacity:
    """Whether the processor keeps up with its input, from the time its input connection
    waited with nothing to analyse (wire/intake.py ``idle_s``): one that keeps up waits now
    and then, however busy; one that has waited less than ``idle_share`` of the last
    ``warn_after_s`` is at or past its capacity (or catching up a backlog, after a restart).

    Said early because past its capacity a processor does not just lag: the broker's queue
    for it fills, the broker drops what comes in, and each frame after a lost one starts a
    new segment of its stream (1,000 sensors, 10 % lost: 22 → 48 µs a message in-process,
    docs/benchmarks.md, the eighth round). It slows further, and every sensor's data thins.
    Not a reason for the healthcheck to fail: a restart would make the backlog longer."""

    def __init__(self, *, warn_after_s: float = BUSY_WARN_S,
                 idle_share: float = BUSY_IDLE_SHARE, repeat_s: float = BUSY_REPEAT_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.warn_after_s = warn_after_s
        self.idle_share = idle_share
        self.repeat_s = repeat_s
        self.clock = clock
        self.messages = 0
        self.at_capacity = False
        self.idle_pct: float | None = None  # of the last window (None: not a window yet)
        self._samples: deque[tuple[float, float, int]] = deque()  # (time, idle_s, messages)
        self._warned_at: float | None = None

    def reset(self) -> None:
        """A new input connection: its idle time starts from 0, and the time away (reconnecting,
        nothing observed) says nothing about keeping up."""
        self._samples.clear()
        self.at_capacity = False
        self.idle_pct = None

    def observe(self, idle_s: float, handled: int = 0) -> None:
        """After each batch (``handled`` messages) and at each heartbeat: the input's idle
        time so far (a new connection's starts from 0)."""
        now = self.clock()
        self.messages += handled
        samples = self._samples
        if samples and idle_s < samples[-1][1]:
            samples.clear()  # a new connection
        if not samples or now - samples[-1][0] >= self.warn_after_s / 100:  # (bounded)
            samples.append((now, idle_s, self.messages))
        while len(samples) > 2 and samples[1][0] <= now - self.warn_after_s:
            samples.popleft()
        start, idle_then, messages_then = samples[0]
        span_s = now - start
        if span_s < self.warn_after_s:
            return
        share = (idle_s - idle_then) / span_s
        self.idle_pct = round(100 * share, 1)
        busy = share < self.idle_share
        if busy and (self._warned_at is None or now - self._warned_at >= self.repeat_s):
            self._warned_at = now
            log.warning(
                "the processor's input waited %.1f %% of the last %.0f s: it is catching up a "
                "backlog, or it is at its capacity (%.0f messages/s analysed). Past it the "
                "broker drops messages and every sensor's data thins: move sensors to another "
                "processor (docs/scaling.md)", 100 * share, span_s,
                (self.messages - messages_then) / span_s)
        elif not busy and self._warned_at is not None:
            self._warned_at = None
            log.warning("the processor keeps up again (its input waited %.0f %% of the last "
                        "%.0f s)", 100 * share, span_s)
        self.at_capacity = busy


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
