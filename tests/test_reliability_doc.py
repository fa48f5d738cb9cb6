"""docs/reliability.md is produced by the fault-injection suite: it must list every case the
suite has, and every case must have a test (so neither can go stale silently)."""

from __future__ import annotations

import re

from tests.faults.cases import CASES, ROOT
from tests.faults.report import BEGIN, DOC, END


def test_the_reliability_doc_lists_every_fault_case() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert BEGIN in text and END in text, "docs/reliability.md lost its generated table"
    table = text.split(BEGIN, 1)[1].split(END, 1)[0]
    listed = set(re.findall(r"^\| .*?\(`([a-z0-9-]+)`\) \|", table, re.M))
    assert listed == set(CASES), ("run `.venv/bin/pytest -m faults tests/faults && "
                                  ".venv/bin/python -m tests.faults.report`: the table lists "
                                  f"{sorted(listed)}, the suite has {sorted(CASES)}")
    assert "| not run |" not in table, "a case of the table was never run"


def test_every_fault_case_has_a_test() -> None:
    sources = "\n".join(p.read_text(encoding="utf-8")
                        for p in (ROOT / "tests" / "faults").glob("test_*.py"))
    used = set(re.findall(r'"([a-z0-9]+(?:-[a-z0-9]+)+|soak)"', sources)) & set(CASES)
    assert used == set(CASES), f"cases without a test: {sorted(set(CASES) - used)}"
