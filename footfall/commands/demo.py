"""``footfall demo``: the whole pipeline on this machine, in one command."""

from __future__ import annotations

import argparse

from footfall.commands._common import HelpFormatter

HELP = """\
Start a private Mosquitto and InfluxDB on free ports, run the live processor, replay a recorded
4-minute treadmill session (two tibia IMUs at 500 Hz: a minute of warm-up, a minute of
baseline, then the belt speeds up and the runner tires) through the broker at high speed,
print each step as the processor detects it, and finish with the session's summary read back
from InfluxDB — the same figures `footfall analyze` gives for the file.

Nothing is left running unless you pass --keep; data lives under <state-dir>/demo.

  footfall demo
  footfall demo --speed 5 --keep       # slower, and keep the servers for a look afterwards
  footfall demo --json | jq .summary   # the read-back summary per sensor, as analyze --json
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("demo", help="run the whole pipeline on a sample run (start here)",
                            description=HELP, formatter_class=HelpFormatter)
    parser.add_argument("--speed", type=float, default=20.0, metavar="X",
                        help="replay time factor (default %(default)s; 0 = as fast as possible)")
    parser.add_argument("--quiet", action="store_true", help="no line per step")
    parser.add_argument("--json", action="store_true",
                        help="print the read-back summary per sensor (and the alerts) as JSON, "
                             "in analyze --json's schema; progress goes to stderr")
    parser.add_argument("--keep", action="store_true",
                        help="leave the servers running afterwards and print their URLs")
    parser.add_argument("--state-dir", default=None,
                        help="where the demo's servers keep data (default "
                             "~/.local/state/footfall/demo)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from footfall.config.settings import default_state_dir
    from footfall.demo.run import run_demo

    state_dir = Path(args.state_dir) if args.state_dir else default_state_dir()
    return run_demo(state_dir / "demo", speed=args.speed or None, quiet=args.quiet,
                    keep=args.keep, as_json=args.json)
