"""``python -m footfall.views.dashboards [--check] [--out DIR]``: (re)generate dashboards/."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from footfall.views.dashboards import REPO_DASHBOARDS, differences, write


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m footfall.views.dashboards",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO_DASHBOARDS,
                        help="output folder (default: the repository's dashboards/)")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if any file differs from the code")
    args = parser.parse_args(argv)
    if args.check:
        stale = differences(args.out)
        for rel in stale:
            print(f"{args.out / rel}: differs from footfall/dashboards (regenerate it)")
        return 1 if stale else 0
    for path in write(args.out):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
