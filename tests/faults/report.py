"""Write the fault-injection results into docs/reliability.md (between its markers).

    .venv/bin/pytest -m faults tests/faults          # runs every case, writes the results
    .venv/bin/python -m tests.faults.report          # the table → docs/reliability.md
    .venv/bin/python -m tests.faults.report --print  # the table on stdout only
    .venv/bin/python -m tests.faults.report --before main=old.json  # main | now, on stdout

``--results FILE`` reads another results file (default: build/faults/results.json, or
``$FOOTFALL_FAULTS_RESULTS``), e.g. a run on another branch; ``--before LABEL=FILE`` (repeat
it) prints what each case lost in those runs next to this one's (for a closing note).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from tests.faults.cases import CASES, ROOT, CaseResult, load_results, results_path

DOC = ROOT / "docs" / "reliability.md"
BEGIN, END = "<!-- faults:begin -->", "<!-- faults:end -->"
COMMAND = ".venv/bin/pytest -m faults tests/faults && .venv/bin/python -m tests.faults.report"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _recovery(result: CaseResult) -> str:
    return f"; steps reach InfluxDB again {result.recovery_s:.1f} s later" \
        if result.recovery_s is not None else ""


def table(results: dict[str, CaseResult]) -> str:
    lines = ["| case | what happens | data lost |", "|---|---|---|"]
    for case, title in CASES.items():
        result = results.get(case)
        if result is None:
            lines.append(f"| {_cell(title)} (`{case}`) | not run | ? |")
            continue
        verdict = "**pass**" if result.passed else "**FAIL**: " + "; ".join(result.failures)
        lines.append(f"| {_cell(title)} (`{case}`) | {_cell(result.happened)}"
                     f"{_recovery(result)} | {_cell(result.lost_text)}. "
                     f"{_cell(verdict)} |")
    return "\n".join(lines)


def comparison(runs: dict[str, dict[str, CaseResult]]) -> str:
    """One row per case, one column per run: passed or not, and what it lost."""
    def lost(result: CaseResult | None) -> str:
        if result is None:
            return "not run"
        return f"{'pass' if result.passed else 'FAIL'}: {_cell(result.lost_text)}"

    lines = ["| case | " + " | ".join(runs) + " |", "|---" * (len(runs) + 1) + "|"]
    lines += [f"| {_cell(title)} | " + " | ".join(lost(r.get(case)) for r in runs.values())
              + " |" for case, title in CASES.items()]
    return "\n".join(lines)


def block(results: dict[str, CaseResult]) -> str:
    dates = sorted(r.finished_utc for r in results.values())
    when = f"{dates[0][:10]}" + (f" … {dates[-1][:10]}" if dates and
                                  dates[-1][:10] != dates[0][:10] else "") if dates else "never"
    return (f"{BEGIN}\nProduced by `{COMMAND}` (run {when}, UTC).\n\n{table(results)}\n{END}")


def render(doc: Path, results: dict[str, CaseResult]) -> None:
    text = doc.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
    if not pattern.search(text):
        raise SystemExit(f"{doc} has no {BEGIN} … {END} block to fill")
    doc.write_text(pattern.sub(lambda _m: block(results), text), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=Path, default=None)
    parser.add_argument("--doc", type=Path, default=DOC)
    parser.add_argument("--print", action="store_true", help="print the table, write nothing")
    parser.add_argument("--before", action="append", default=[], metavar="LABEL=FILE",
                        help="print what each case lost in this earlier run and now (repeat)")
    args = parser.parse_args(argv)
    path = args.results or results_path()
    results = load_results(path)
    if not results:
        print(f"no results in {path}: run `.venv/bin/pytest -m faults tests/faults` first",
              file=sys.stderr)
        return 1
    if args.before:
        runs = {label: load_results(Path(file))
                for label, _, file in (b.partition("=") for b in args.before)}
        print(comparison(runs | {"now": results}))
        return 0
    if args.print:
        print(table(results))
        return 0
    render(args.doc, results)
    print(f"wrote {len(results)} case(s) from {path} into {args.doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
