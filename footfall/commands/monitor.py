"""``footfall monitor``: the terminal live view of one session."""

from __future__ import annotations

import argparse
from pathlib import Path

from footfall.commands._common import (
    HelpFormatter,
    add_settings_options,
    settings_from_args,
    stop_on_signals,
)

HELP = """\
A live view of one session for the therapist at the treadmill: cadence against the target with
its trend, impact (PTA marker) of every step as it happens, drift and symmetry against the
baseline, active alerts in colour, and data quality per sensor. Fits 80x24, works over SSH.

Keys: b mark the baseline now · t target = baseline +7.5 % · + / - target ±1 spm ·
type 178 then Enter for an exact target · x no target · m metronome (terminal bell at the
target cadence) · i tone on a high-impact step · q quit. Sounds are off by default.

The baseline and target keys publish a command on footfall/v1/<athlete>/<session>/session/control
that the processor acts on (docs/monitor.md). Without a session (--session, FOOTFALL_SESSION or
the config file) the monitor follows the first session of the athlete that reports.

  footfall monitor --athlete ann --session 20261124T170000Z
  footfall monitor --athlete demo                       # the next session that shows up
  footfall monitor --latency-log lat.csv                # record step-to-screen latency
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("monitor", help="terminal live view of a session",
                            description=HELP, formatter_class=HelpFormatter)
    parser.add_argument("--fps", type=float, default=60.0,
                        help="most redraws per second (default %(default)s)")
    parser.add_argument("--no-keys", action="store_true", help="ignore the keyboard")
    parser.add_argument("--no-screen", action="store_true",
                        help="draw inline instead of on the alternate screen")
    parser.add_argument("--metronome", action="store_true",
                        help="start with the metronome on (key m)")
    parser.add_argument("--impact-tone", action="store_true",
                        help="start with the high-impact tone on (key i)")
    parser.add_argument("--latency-log", type=Path, metavar="CSV", default=None,
                        help="append one line per step: device, impact peak, receive and render "
                             "times (UTC ns), latency_ms (peak to screen), monitor_ms")
    add_settings_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import asyncio
    import os
    import sys

    from footfall.views.monitor.app import Monitor
    from footfall.views.terminal import console as terminal_console

    settings = settings_from_args(args)  # checks the [analysis] and [alerts] tables too
    alerts = settings.analysis_for().alerts
    if sys.stdout.isatty():
        # the terminal's own size, as it is now and after a resize: a COLUMNS/LINES left in
        # the environment (by a script, or a shell of another size) would draw the screen
        # for the wrong terminal
        os.environ.pop("COLUMNS", None)
        os.environ.pop("LINES", None)
    console = terminal_console()

    async def main() -> Monitor:
        stop = stop_on_signals()
        # a session given by flag, FOOTFALL_SESSION or the config file; else follow the next
        session = settings.session if "session" in settings.model_fields_set else None
        monitor = Monitor(settings, athlete=settings.athlete, session=session,
                          console=console, keys=not args.no_keys, fps=args.fps,
                          screen=False if args.no_screen else None, alerts=alerts,
                          latency_log=args.latency_log, metronome=args.metronome,
                          impact_tone=args.impact_tone)
        await monitor.run(stop)
        return monitor

    monitor = asyncio.run(main())
    from footfall.views.monitor.view import session_summary

    for state in [*monitor.finished, monitor.state]:
        for line in session_summary(state):
            console.print(line, highlight=False)
    summary = monitor.latency()
    if summary is not None:
        console.print(f"step→screen latency over {summary['n']:.0f} steps: median "
                      f"{summary['median_ms']:.0f} ms, p95 {summary['p95_ms']:.0f} ms, "
                      f"max {summary['max_ms']:.0f} ms")
    return 0
