"""``footfall report``: the report a therapist hands the patient, as PDF or HTML."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from footfall.commands._common import (
    HelpFormatter,
    add_analysis_options,
    add_settings_options,
    settings_from_args,
)
from footfall.core.errors import CommandError

if TYPE_CHECKING:
    from datetime import tzinfo

    from footfall.config.settings import Settings
    from footfall.processing.load import Activity, Week
    from footfall.views.report.data import Notes, Session
    from footfall.views.report.render import Report

HELP = """\
A one- or two-page report of a run for the runner to take home: cadence over time against the
baseline and the target band, every step's impact per leg (clipped steps marked), left/right
symmetry, feedback periods and pauses where they were recorded; what changed, in plain
language, with the same numbers as `footfall analyze`; the session details (date in local
time, duration, belt speed, shoes, pain, notes) and the data-quality caveats.

Where the run comes from:
  FILE                      a session file (.mcap) or a watch's FIT file, analysed exactly as
                            `footfall analyze FILE` does (same flags, same numbers)
  --athlete ID              the athlete's latest session in InfluxDB (its stored summary,
                            steps and metrics); --session ID picks another
  --athlete ID --visits N   progress over the last N visits, from the session summaries only

Add a training-load section with --load FIT… (the runner's watch files, with the treadmill
sessions of the athlete). The output is PDF or HTML, by -o's extension. PTA is an impact
marker, not bone load: the report says so.

Examples:
  footfall report session.mcap -o report.pdf --pain 3 --shoes "Pegasus 40"
  footfall report --athlete anna -o report.pdf                 # the latest session
  footfall report --athlete anna --session 20261124T170000Z -o visit.html
  footfall report --athlete anna --visits 6 -o progress.pdf
  footfall report --athlete anna --visits 6 --load runs/*.fit -o progress.pdf
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("report", help="the patient's report (PDF/HTML): a run, or visits",
                            description=HELP, formatter_class=HelpFormatter)
    parser.add_argument("file", type=Path, nargs="?", metavar="FILE",
                        help="a session file (.mcap) or FIT file; without it: InfluxDB")
    parser.add_argument("-o", "--output", type=Path, metavar="OUT", default=Path("report.pdf"),
                        help="report.pdf or report.html (default %(default)s)")
    parser.add_argument("--visits", type=int, metavar="N", default=None,
                        help="progress over the athlete's last N sessions (InfluxDB)")
    parser.add_argument("--load", type=Path, nargs="+", metavar="FIT", default=None,
                        help="add a training-load section from these watch files and the "
                             "athlete's treadmill sessions")
    parser.add_argument("--timezone", metavar="ZONE", default=None,
                        help="IANA time zone for dates, e.g. Europe/Berlin (default: this "
                             "machine's)")
    notes = parser.add_argument_group(
        "session notes", "What the therapist noted; they take precedence over recorded notes.")
    notes.add_argument("--pain", type=_pain, metavar="0-10", default=None,
                       help="pain on a 0–10 scale")
    notes.add_argument("--shoes", metavar="TEXT", default=None, help="the shoes worn")
    notes.add_argument("--note", metavar="TEXT", default=None, help="anything else")
    add_analysis_options(parser)
    add_settings_options(parser)
    parser.set_defaults(func=run)


def _pain(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number from 0 to 10") from None
    if not 0 <= value <= 10:
        raise argparse.ArgumentTypeError(f"pain is on a 0–10 scale, got {text}")
    return value


def _notes(args: argparse.Namespace) -> Notes:
    from footfall.core.units import mps_to_kmh
    from footfall.views.report.data import Notes

    speed = getattr(args, "belt_speed", None)
    return Notes(pain_0_10=args.pain, shoes=args.shoes, text=args.note,
                 belt_speed_kmh=mps_to_kmh(speed) if speed is not None else None)


def session_from_file(path: Path, args: argparse.Namespace, settings: Settings) -> Session:
    """The file analysed as ``footfall analyze`` does, as a report session."""
    from footfall.commands._common import analysis_overrides
    from footfall.commands.analyze import analyze_path
    from footfall.recordings.session_file import read_info
    from footfall.views.report.data import session_from_analysis

    if not path.exists():
        raise CommandError(f"{path} does not exist")
    for name, value in (("kind", "auto"), ("placement", None), ("side", None),
                        ("sample_rate", None), ("range_g", None)):
        if not hasattr(args, name):
            setattr(args, name, value)
    notes: list[str] = []
    results, kind, _ = analyze_path(path, args, settings.analysis_for, notes)
    athlete = settings.athlete if "athlete" in settings.model_fields_set else "not recorded"
    session, ranges = path.stem, {}
    if kind == "session":
        info = read_info(path)
        athlete = settings.athlete if "athlete" in settings.model_fields_set else info.athlete
        session = info.session
        ranges = {d: i.accel_range_g for d, i in info.devices.items()}
    config = settings.analysis_for(athlete if athlete != "not recorded" else None,
                                   overrides=analysis_overrides(args))
    what = {"session": "session file", "fit": "FIT file"}.get(kind, f"{kind} file")
    found = session_from_analysis(results, athlete=athlete, session=session,
                                  source=f"{what} {path.name}", config=config, ranges_g=ranges)
    if kind == "fit":
        from dataclasses import replace

        from footfall.commands.load import watch_activities

        runs = watch_activities([path])
        if len(runs) == 1:  # a multisport file's legs stay separate runs (footfall load)
            found = replace(found, watch=runs[0])
    return found


def _weeks(files: list[Path] | None, treadmill: list[Activity], tz: tzinfo) -> list[Week] | None:
    from footfall.commands.load import watch_activities
    from footfall.processing.load import weeks

    if files is None:
        return None
    return weeks([*watch_activities(files), *treadmill], tz)


async def _from_influx(args: argparse.Namespace, settings: Settings, tz: tzinfo) -> Report:
    from footfall.commands._common import analysis_overrides
    from footfall.views.report import render
    from footfall.views.report.data import (
        connect,
        session_from_influx,
        visits_from_influx,
        with_notes,
    )

    config = settings.analysis_for(None, overrides=analysis_overrides(args))
    session_id = settings.session if "session" in settings.model_fields_set else None
    async with connect(settings, "give a session file") as client:
        if args.visits is not None:
            visits = await visits_from_influx(client, settings.athlete, args.visits, config)
            history = await visits_from_influx(client, settings.athlete, probes=False) \
                if args.load else visits
            return render.visits_report(
                visits, config, tz, athlete=settings.athlete,
                weeks=_weeks(args.load, [v.activity() for v in history], tz))
        session = with_notes(await session_from_influx(client, settings.athlete, session_id,
                                                       config), _notes(args))
        history = await visits_from_influx(client, settings.athlete, probes=False) \
            if args.load else []
    return render.session_report(session, tz,
                                 _weeks(args.load, [v.activity() for v in history], tz))


def _require_report_extra() -> None:
    import importlib.util

    missing = [m for m in ("matplotlib", "jinja2", "weasyprint")
               if importlib.util.find_spec(m) is None]
    if missing:
        raise CommandError(f"footfall report needs {', '.join(missing)}: install the report "
                           "extra (pip install 'footfall[report]'; scripts/setup does) and, on "
                           "Debian, the Pango libraries WeasyPrint loads (libpango-1.0-0 "
                           "libpangoft2-1.0-0)")


def run(args: argparse.Namespace) -> int:
    import asyncio

    from footfall.views.terminal import console as terminal_console

    _require_report_extra()
    from footfall.views.report import render
    from footfall.views.report import text as t
    from footfall.views.report.data import with_notes

    out: Path = args.output
    if out.suffix.lower() not in render.FORMATS:
        raise CommandError(f"-o {out}: the report is written as .pdf or .html")
    if not out.parent.is_dir():
        raise CommandError(f"-o {out}: the folder {out.parent} does not exist")
    if args.visits is not None and args.visits < 1:
        raise CommandError("--visits needs a number of visits, 1 or more")
    settings = settings_from_args(args)
    tz = t.zone(args.timezone)
    if args.file is not None:
        if args.visits is not None:
            raise CommandError("--visits reads the session summaries in InfluxDB: give "
                               "--athlete without a FILE")
        session = with_notes(session_from_file(args.file, args, settings), _notes(args))
        report = render.session_report(session, tz, _weeks(args.load, [session.activity()], tz))
    else:
        report = asyncio.run(_from_influx(args, settings, tz))
    pages = render.write(report, out)
    what = f"{pages} page(s)" if pages else "HTML"
    terminal_console(stderr=True).print(f"wrote {out} ({what}, {len(report.figures)} figures): "
                               f"{report.title}", highlight=False)
    return 0
