"""The live processor's heartbeat: a small JSON file it rewrites every few seconds.

``python -m footfall.service.health STATE_DIR`` exits 0 when the processor is alive (the
file is fresh), connected to the broker, and not piling up points for InfluxDB; otherwise it
prints why and exits 1. docker-compose.yml uses it as the processor's healthcheck.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

FILE_NAME = "processor-health.json"
INTERVAL_S = 5.0
STALE_AFTER_S = 30.0
MAX_SPOOLED_BATCHES = 100


def write(state_dir: Path, status: dict[str, Any]) -> None:
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / FILE_NAME
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"time_ns": time.time_ns(), **status}))
    os.replace(tmp, path)  # readers never see half a file


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
    if not status.get("connected"):
        return "the processor is not connected to the broker"
    if int(status.get("spooled_batches", 0)) > MAX_SPOOLED_BATCHES:
        return (f"{status['spooled_batches']} batches wait for InfluxDB: is it reachable and "
                "accepting writes?")
    return None


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
