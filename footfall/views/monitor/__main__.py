"""``python -m footfall.views.monitor`` = ``footfall monitor`` (usable before it is registered)."""

from __future__ import annotations

import argparse
import sys

from footfall.commands import monitor


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="footfall")
    monitor.register(parser.add_subparsers())
    args = parser.parse_args(["monitor", *(sys.argv[1:] if argv is None else argv)])
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
