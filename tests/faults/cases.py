"""The fault-injection cases, and what each run of one found (the rows of docs/reliability.md).

Every case of the suite is named here once; ``tests/test_reliability_doc.py`` checks that each
has a test and a row in docs/reliability.md, so the document cannot silently go stale. A test
records its :class:`CaseResult` *before* it asserts, so a failing case still gets its row.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: where the runs write their results (``FOOTFALL_FAULTS_RESULTS`` overrides it)
DEFAULT_RESULTS = ROOT / "build" / "faults" / "results.json"

CASES: dict[str, str] = {
    "broker-kill-processor-first": "broker kill -9 mid-run, processor reconnects first",
    "broker-kill-gateways-first": "broker kill -9 mid-run, gateways reconnect first",
    "processor-kill": "processor kill -9 and restart",
    "influx-stop": "InfluxDB stopped (SIGTERM) for 60 s",
    "influx-kill": "InfluxDB kill -9 and restart",
    "hostile-corpus": "hostile messages from an `ingest` client",
    "soak": "soak: 1 h of session time at full speed",
}


@dataclass
class StepCount:
    """What InfluxDB holds against what the gateway published (its recording, analysed)."""

    expected: int = 0  # steps in: the offline analysis of everything the gateway published
    stored: int = 0  # step points in InfluxDB
    missing: int = 0  # expected, not stored
    missing_last: int = 0  # ... of which the last strike of a stream
    extra: int = 0  # stored, not expected: duplicates and phantom steps
    side_none: int = 0  # stored with side=none although the sensor sits on a leg
    missing_at_s: list[float] = field(default_factory=list)  # sensor times, for the lead
    extra_at_s: list[float] = field(default_factory=list)

    @property
    def lost_text(self) -> str:
        if not self.expected:
            return "no steps expected?"
        parts = []
        if self.missing:
            end = f", {self.missing_last} of them a stream's last" if self.missing_last else ""
            parts.append(f"{self.missing} of {self.expected} steps missing{end}")
        if self.extra:
            parts.append(f"{self.extra} extra (duplicate/phantom)")
        if self.side_none:
            parts.append(f"{self.side_none} tagged side=none")
        return "; ".join(parts) if parts else f"none ({self.stored}/{self.expected} steps)"


@dataclass
class CaseResult:
    case: str
    passed: bool
    happened: str  # what the run saw, in a sentence or two
    steps: StepCount
    recovery_s: float | None = None  # from "everything back" to new steps in InfluxDB
    failures: list[str] = field(default_factory=list)
    details: dict[str, object] = field(default_factory=dict)
    finished_utc: str = field(
        default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    @property
    def lost_text(self) -> str:
        return self.steps.lost_text


def results_path() -> Path:
    return Path(os.environ.get("FOOTFALL_FAULTS_RESULTS", DEFAULT_RESULTS))


def load_results(path: Path | None = None) -> dict[str, CaseResult]:
    path = path or results_path()
    if not path.exists():
        return {}
    out = {}
    for case, raw in json.loads(path.read_text()).items():
        steps = StepCount(**raw.pop("steps"))
        out[case] = CaseResult(**raw, steps=steps)
    return out


def record(result: CaseResult) -> None:
    """Add (or replace) this case's row in the results file."""
    assert result.case in CASES, f"add {result.case!r} to tests/faults/cases.py"
    path = results_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    everything = {case: asdict(r) for case, r in load_results(path).items()}
    everything[result.case] = asdict(result)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(everything, indent=1, sort_keys=True))
    tmp.replace(path)
