"""``footfall load``: training load per week from the runner's watch files and the treadmill
sessions."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from datetime import tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

from footfall.commands._common import HelpFormatter, add_settings_options, settings_from_args
from footfall.core.errors import CommandError

if TYPE_CHECKING:
    from footfall.config.settings import Settings
    from footfall.processing.load import Activity, Week

HELP = """\
Training load per week (Monday to Sunday, local time) from the runner's own watch files (FIT)
together with their treadmill sessions (the session summaries in InfluxDB): distance, running
time, steps, and cumulative impact (steps × PTA, only where a tibia sensor measured it).

Each week is compared with the one before: a rise in distance of more than 30 % is flagged
(novice runners who did so had more distance-related injuries, Nielsen et al. 2014). The
acute:chronic ratio (this week / the mean of the last four) is shown with its caveat: it is
widely used and widely contested. Neither is a verdict; docs/report.md has the definitions.

Examples:
  footfall load --athlete anna runs/*.fit
  footfall load --athlete anna --no-sessions morning-run.fit      # watch files only
  footfall load --athlete anna runs/*.fit --json | jq '.weeks[-1]'
  footfall report --athlete anna --visits 6 --load runs/*.fit -o progress.pdf   # in the report
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("load", help="weekly training load: watch files + treadmill",
                            description=HELP, formatter_class=HelpFormatter)
    parser.add_argument("files", type=Path, nargs="*", metavar="FIT",
                        help="the runner's watch activities (.fit); multisport files count "
                             "their run legs")
    parser.add_argument("--no-sessions", action="store_true",
                        help="do not read the treadmill sessions from InfluxDB")
    parser.add_argument("--timezone", metavar="ZONE", default=None,
                        help="IANA time zone for weeks and dates (default: this machine's)")
    parser.add_argument("--weeks", type=int, metavar="N", default=None,
                        help="show the last N weeks (default 12; the JSON has every week)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    add_settings_options(parser)
    parser.set_defaults(func=run)


def watch_activities(paths: Sequence[Path]) -> list[Activity]:
    """Every running session of the FIT files."""
    from footfall.processing.load import fit_activities
    from footfall.recordings.fit import FitImportError, read_fit

    out: list[Activity] = []
    for path in paths:
        if not path.exists():
            raise CommandError(f"{path} does not exist")
        try:
            out += fit_activities(read_fit(path), path.name)
        except FitImportError as exc:
            raise CommandError(f"{path}: {exc}") from exc
    return out


async def treadmill_activities(settings: Settings, athlete: str) -> list[Activity]:
    """Every treadmill session of ``athlete`` in InfluxDB, from its summary."""
    from footfall.views.report.data import connect, visits_from_influx

    async with connect(settings, "pass --no-sessions to count the watch files only") as client:
        visits = await visits_from_influx(client, athlete, probes=False)
    return [v.activity() for v in visits]


def _week_json(week: Week) -> dict[str, Any]:
    return {"start": week.start.isoformat(), "watch_runs": week.count("watch"),
            "treadmill_sessions": week.count("treadmill"), "distance_m": week.distance_m,
            "distance_complete": week.distance_complete, "time_s": week.time_s,
            "steps": week.steps, "impact_load_g": week.impact_load_g,
            "ramp_pct": week.ramp_pct, "ramp_flagged": week.ramp_flagged, "acwr": week.acwr}


def run(args: argparse.Namespace) -> int:
    import asyncio

    from footfall.processing.load import SHOWN_WEEKS
    from footfall.processing.load import weeks as by_week
    from footfall.views.report import text as t

    settings = settings_from_args(args)
    tz = t.zone(args.timezone)
    activities = watch_activities(args.files)
    if not args.no_sessions:
        activities += asyncio.run(treadmill_activities(settings, settings.athlete))
    if not activities:
        raise CommandError("nothing to count: give the runner's FIT files, or record treadmill "
                           f"sessions for athlete {settings.athlete!r} first")
    weeks = by_week(activities, tz)
    if args.json:
        print(json.dumps({
            "athlete": settings.athlete,
            "activities": [{"start_utc_ns": a.start_ns, "kind": a.kind, "name": a.name,
                            "time_s": a.time_s, "distance_m": a.distance_m, "steps": a.steps,
                            "impact_load_g": a.impact_load_g} for a in
                           sorted(activities, key=lambda a: a.start_ns)],
            "weeks": [_week_json(w) for w in weeks]}, allow_nan=False))
        return 0
    shown = args.weeks if args.weeks is not None else SHOWN_WEEKS
    if shown < 1:
        raise CommandError("--weeks needs a number of weeks, 1 or more")
    _print(settings.athlete, activities, weeks[-shown:], tz)
    return 0


def _print(athlete: str, activities: Sequence[Activity], weeks: Sequence[Week],
           tz: tzinfo) -> None:
    from rich import box
    from rich.table import Table

    from footfall.views.report import findings
    from footfall.views.report import text as t
    from footfall.views.terminal import console as terminal_console

    console = terminal_console()
    runs = Table(title=f"Runs of {athlete}", box=box.SIMPLE_HEAD)
    for column in ("date (local)", "kind", "activity", "distance", "time", "steps",
                   "cumulative impact"):
        runs.add_column(column, justify="left" if column in ("kind", "activity") else "right")
    for a in sorted(activities, key=lambda a: a.start_ns):
        runs.add_row(t.short_date_time(a.start_ns, tz), a.kind, a.name,
                     "not recorded" if a.distance_m is None else t.km(a.distance_m, 2),
                     t.duration(a.time_s), t.count(a.steps), t.impact_load(a.impact_load_g))
    console.print(runs)
    table = Table(title="Per week (Monday to Sunday)", box=box.SIMPLE_HEAD)
    for column in ("week", "runs", "distance", "time", "steps", "cumulative impact",
                   "vs week before", "acute:chronic"):
        table.add_column(column, justify="left" if column == "week" else "right")
    for w in weeks:
        ramp = t.change(w.ramp_pct)
        table.add_row(f"{t.short_date_day(w.start)}–{t.short_date_day(w.end)}",
                      f"{w.count('watch')} + {w.count('treadmill')}",
                      ("≥ " if not w.distance_complete else "") + t.km(w.distance_m),
                      t.duration(w.time_s), t.count(w.steps), t.impact_load(w.impact_load_g),
                      f"[bold]{ramp} ▲[/]" if w.ramp_flagged else ramp,
                      t.number(w.acwr, 2) if w.acwr is not None else t.NONE)
    console.print(table)
    for f in findings.load_findings(weeks):
        console.print(f"• {f.text}", highlight=False)
