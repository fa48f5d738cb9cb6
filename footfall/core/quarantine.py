"""Where malformed input goes: counted, logged with the reason, and kept on disk.

Nothing a device or the broker sends is silently dropped: a payload that cannot be decoded is
appended to ``<state_dir>/quarantine/<UTC date>.jsonl`` with its topic, reason and bytes, so it
can be inspected (``footfall decode``) or replayed after a fix.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger(__name__)


class Quarantine:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.counts: Counter[str] = Counter()  # per source (topic or device)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def put(self, source: str, reason: str, payload: bytes) -> None:
        self.counts[source] += 1
        log.warning("set aside a malformed message from %s: %s (%d bytes)",
                    source, reason, len(payload))
        now = datetime.now(UTC)
        record = {"time_utc": now.isoformat().replace("+00:00", "Z"), "time_ns": time.time_ns(),
                  "source": source, "reason": reason, "payload_hex": payload.hex()}
        self.folder.mkdir(parents=True, exist_ok=True)
        with (self.folder / f"{now:%Y-%m-%d}.jsonl").open("a") as out:
            out.write(json.dumps(record) + "\n")
