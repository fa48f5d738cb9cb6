"""Where malformed input goes: counted, logged with the reason, and kept on disk.

Nothing a device or the broker sends is silently dropped: a payload that cannot be decoded is
appended to ``<state_dir>/quarantine/<UTC date>-<n>.jsonl`` with its topic, reason and bytes
(hex), so it can be inspected (``footfall decode``) or replayed after a fix.

Bounded, because a client that floods garbage must not fill the disk or the log: a file
rotates at ``file_bytes``, the oldest files are deleted once all of them pass ``max_bytes``
(with a log line), a payload keeps its first :data:`MAX_KEPT_PAYLOAD` bytes (and its full
length), and each source gets :data:`LOG_PER_MINUTE` log lines a minute (then one saying the
rest are counted and kept without one).
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger(__name__)

MAX_KEPT_PAYLOAD = 64 * 1024
LOG_PER_MINUTE = 5


class Quarantine:
    def __init__(self, folder: Path, *, max_bytes: int = 100_000_000,
                 file_bytes: int = 10_000_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.folder = folder
        self.clock = clock  # seconds, for the log lines' minutes (a test's own clock)
        self.max_bytes = max_bytes
        self.file_bytes = file_bytes
        self.counts: Counter[str] = Counter()  # per source (topic or device)
        self.deleted_files = 0
        self._logged: Counter[str] = Counter()
        self._log_minute = 0
        self._file: Path | None = None

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def put(self, source: str, reason: str, payload: bytes) -> None:
        self.counts[source] += 1
        self._log(source, reason, len(payload))
        now = datetime.now(UTC)
        record = {"time_utc": now.isoformat().replace("+00:00", "Z"), "time_ns": time.time_ns(),
                  "source": source[:500], "reason": reason[:1000],
                  "payload_bytes": len(payload),
                  "payload_hex": payload[:MAX_KEPT_PAYLOAD].hex()}
        path = self._current(now)
        with path.open("a") as out:
            out.write(json.dumps(record) + "\n")

    def _log(self, source: str, reason: str, size: int) -> None:
        minute = int(self.clock() // 60)
        if minute != self._log_minute:
            self._log_minute, self._logged = minute, Counter()
        self._logged[source] += 1
        n = self._logged[source]
        if n <= LOG_PER_MINUTE:
            log.warning("set aside a malformed message from %s: %s (%d bytes)", source,
                        reason, size)
        elif n == LOG_PER_MINUTE + 1:
            log.warning("more malformed messages from %s: this minute's are kept in %s "
                        "without a log line each", source, self.folder)

    def _current(self, now: datetime) -> Path:
        """The file to append to: today's newest, or a new one once it is full."""
        day = f"{now:%Y-%m-%d}"
        path = self._file
        if path is None or not path.name.startswith(day) or \
                (path.exists() and path.stat().st_size >= self.file_bytes):
            self.folder.mkdir(parents=True, exist_ok=True)
            taken = sorted(self.folder.glob(f"{day}-*.jsonl"), key=_number)
            n = _number(taken[-1]) if taken else 0
            if taken and taken[-1].stat().st_size < self.file_bytes:
                path = taken[-1]
            else:
                path = self.folder / f"{day}-{n + 1}.jsonl"
                self._trim()
            self._file = path
        return path

    def _trim(self) -> None:
        """Delete the oldest files while all of them hold more than ``max_bytes``."""
        files = sorted(self.folder.glob("*.jsonl"), key=lambda p: (p.name[:10], _number(p)))
        total = sum(p.stat().st_size for p in files)
        while files and total + self.file_bytes > self.max_bytes:
            oldest = files.pop(0)
            total -= oldest.stat().st_size
            oldest.unlink()
            self.deleted_files += 1
            log.warning("quarantine %s passed %.0f MB (limits.quarantine_max_mb): deleted its "
                        "oldest file %s", self.folder, self.max_bytes / 1e6, oldest.name)


def _number(path: Path) -> int:
    tail = path.stem.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else 0
