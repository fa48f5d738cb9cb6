"""``footfall sessions``: an athlete's visits with their headline numbers."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from footfall.commands._common import HelpFormatter, add_settings_options, settings_from_args
from footfall.core.errors import CommandError

if TYPE_CHECKING:
    from datetime import tzinfo

    from footfall.views.report.data import Visit

HELP = """\
The athlete's sessions, oldest first, each with its headline numbers: date and time (local),
duration, steps, cadence and the baseline cadence, impact per leg (PTA marker), left/right
symmetry, time in the cadence target band, pain. Read from the per-session summaries in
InfluxDB (written when a session ends), never from months of raw steps.

Examples:
  footfall sessions --athlete anna
  footfall sessions --athlete anna --last 6 --timezone Europe/Berlin
  footfall sessions --athlete anna --json | jq '.[-1]'
  footfall report --athlete anna --session ID -o visit.pdf      # one of them as a report
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("sessions", help="an athlete's visits with headline numbers",
                            description=HELP, formatter_class=HelpFormatter)
    parser.add_argument("--last", type=int, metavar="N", default=None,
                        help="only the last N sessions")
    parser.add_argument("--timezone", metavar="ZONE", default=None,
                        help="IANA time zone for dates (default: this machine's)")
    parser.add_argument("--json", action="store_true", help="print a JSON list")
    add_settings_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import asyncio

    from footfall.views.report import text as t
    from footfall.views.report.data import connect, visits_from_influx

    settings = settings_from_args(args)
    tz = t.zone(args.timezone)

    async def fetch() -> list[Visit]:
        async with connect(settings, "check --influx-database") as client:
            return await visits_from_influx(client, settings.athlete, args.last, probes=False)

    visits = asyncio.run(fetch())
    if not visits:
        raise CommandError(f"no session of athlete {settings.athlete!r} in InfluxDB "
                           f"({settings.influx_url}, database {settings.influx_database}); "
                           "a session's summary is written when it ends")
    if args.json:
        print(json.dumps([_json(v) for v in visits], allow_nan=False))
    else:
        _print(visits, tz, settings.athlete)
    return 0


def _json(visit: Visit) -> dict[str, object]:
    h = visit.headline
    left, right = h.impact("left"), h.impact("right")
    return {"session": visit.session, "start_utc_ns": h.start_ns, "duration_s": h.duration_s,
            "steps": h.steps, "cadence_spm": h.cadence_spm,
            "cadence_baseline_spm": h.cadence_baseline_spm,
            "impact_left_g": left.impact_g if left else None,
            "impact_right_g": right.impact_g if right else None,
            "symmetry_pct": h.symmetry_pct, "time_in_target_pct": h.time_in_target_pct,
            "pain_0_10": visit.notes.pain_0_10 if visit.notes else None,
            "devices": {d: s.to_dict() for d, s in visit.summaries.items()}}


def _print(visits: list[Visit], tz: tzinfo, athlete: str) -> None:
    from rich import box
    from rich.table import Table

    from footfall.views.report import text as t
    from footfall.views.terminal import console as terminal_console

    table = Table(title=f"Sessions of {athlete}", box=box.SIMPLE_HEAD)
    for column in ("#", "date (local)", "session", "duration", "steps", "cadence",
                   "baseline", "impact L", "impact R", "symmetry", "in target", "pain"):
        table.add_column(column, justify="left" if column in ("date (local)", "session")
                         else "right")
    for i, visit in enumerate(visits):
        h = visit.headline
        left, right = h.impact("left"), h.impact("right")
        pain = visit.notes.pain_0_10 if visit.notes else None
        table.add_row(str(i + 1), t.short_date_time(h.start_ns, tz), visit.session,
                      t.duration(h.duration_s), t.count(h.steps), t.spm(h.cadence_spm),
                      t.spm(h.cadence_baseline_spm), t.g(left.impact_g if left else None),
                      t.g(right.impact_g if right else None), t.change(h.symmetry_pct),
                      t.pct(h.time_in_target_pct) if h.time_in_target_pct is not None
                      else "no target", t.number(pain, 0) if pain is not None else "—")
    out = terminal_console()
    out.print(table)
    out.print("Cadence: median of every step; baseline: without feedback. Impact: median "
              "PTA (an impact marker, not bone load). Symmetry: (R − L) / max(R, L).",
              highlight=False)
