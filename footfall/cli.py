"""``footfall``: one command line, a subcommand per job."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from footfall import __version__
from footfall.commands import COMMANDS
from footfall.commands._common import HelpFormatter
from footfall.core.errors import FootfallError

DESCRIPTION = """\
Real-time running gait monitoring: step rate (cadence) and impact (peak tibial acceleration)
from BLE foot pods and IMUs, streamed over MQTT, analysed live, stored in InfluxDB.

First time? `footfall demo` starts a local broker and database, replays a run through the whole
pipeline and prints what it measured.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="footfall", description=DESCRIPTION, formatter_class=HelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"footfall {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="more log output (-vv for debug)")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    for name in COMMANDS:
        module = importlib.import_module(f"footfall.commands.{name}")
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = [logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)]
    from rich.logging import RichHandler

    from footfall.views.terminal import console as terminal_console

    # logs go to stderr: stdout belongs to the command's output (`analyze --json`, `decode`);
    # piped, one plain line per record (no columns, no wrapping, no escape codes)
    err = terminal_console(stderr=True)
    handler: logging.Handler = (
        RichHandler(console=err, show_path=False, rich_tracebacks=False) if err.is_terminal
        else logging.StreamHandler(sys.stderr))
    logging.basicConfig(level=level, datefmt="%H:%M:%S", handlers=[handler],
                        format="%(message)s" if err.is_terminal
                        else "[%(asctime)s] %(levelname)s %(message)s")
    try:
        return int(args.func(args) or 0)
    except FootfallError as exc:  # every error raised on purpose says what to do
        print(f"footfall: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("footfall: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
