"""``footfall replay``: republish a recorded session to the broker with its original timing."""

from __future__ import annotations

import argparse
from pathlib import Path

from footfall.commands._common import (
    HelpFormatter,
    add_settings_options,
    add_speed_options,
    pacer_speed,
    settings_from_args,
)
from footfall.commands.record import add_import_options

HELP = """\
Publish a session file's raw device data (imu, rsc, meta, status) so `footfall process`
analyses it exactly like a live run. Timing follows the recording: real time by default,
--speed 20 for twenty times faster, --speed 0 (or --fast) for as fast as the broker takes it.

  footfall replay footfall/data/sample-session.mcap --speed 20
  footfall replay run.mcap --athlete ana --session retest --now   # re-label, shift to now
  footfall replay run.fit --speed 60      # a FIT activity replays as its foot pod (RSC)
  footfall replay imu.csv --placement tibia --side right

Old derived events (steps, metrics, alerts) are not republished unless --derived is given.
If the broker goes away mid-replay, the replay waits for it, says so, and resumes from the
first message the broker may not have (docs/reliability.md); Ctrl-C stops it.
"""


#: data older than this, replayed without --now, get a note on where they will show up
OLD_DATA_NS = 3600 * 10**9


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("replay", help="republish a recorded session (or FIT/CSV) live",
                            description=HELP, formatter_class=HelpFormatter)
    parser.add_argument("file", type=Path, metavar="FILE",
                        help="session .mcap, .fit activity, .csv, or the sacral dataset dir")
    timing = parser.add_argument_group("timing")
    add_speed_options(timing)
    timing.add_argument("--now", action="store_true",
                        help="shift every UTC timestamp so the session starts now")
    what = parser.add_argument_group("what to publish")
    what.add_argument("--derived", action="store_true",
                      help="also republish the recorded steps, metrics and alerts")
    conv = parser.add_argument_group("FIT/CSV/dataset sources")
    add_import_options(conv, with_from=False)
    add_settings_options(parser)
    parser.set_defaults(func=run_command)


def run_command(args: argparse.Namespace) -> int:
    import asyncio
    import tempfile
    import time
    from datetime import datetime

    import aiomqtt
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from footfall.commands.record import convert, describe
    from footfall.core.errors import CommandError
    from footfall.recordings.session_file import SessionFileError, read_info
    from footfall.recordings.sources import ImportKindError, detect_kind
    from footfall.simulators.replay import ReplayStats, replay_session
    from footfall.views.terminal import console as terminal_console
    from footfall.wire.topics import DERIVED_STREAMS, INPUT_STREAMS

    speed = pacer_speed(args)
    settings = settings_from_args(args)
    console = terminal_console(stderr=True)
    path: Path = args.file
    with tempfile.TemporaryDirectory(prefix="footfall-replay-") as tmp:
        try:
            kind = detect_kind(path) if args.format == "auto" else args.format
        except ImportKindError as exc:
            raise CommandError(str(exc)) from exc
        if kind != "session":
            # imported on the fly: ids come from the settings (or the data's start time)
            imported = Path(tmp) / "import.mcap"
            info = convert(args, path, imported, settings.athlete, args.session)
            console.print(f"imported {path}: {describe(info)}")
            path = imported
        try:
            info = read_info(path)
        except SessionFileError as exc:
            raise CommandError(str(exc)) from exc
        athlete, session = args.athlete, args.session
        console.print(f"replaying {args.file} ({info.duration_s:.0f} s, {len(info.devices)} "
                      f"device(s)) as athlete {athlete or info.athlete}, session "
                      f"{session or info.session} to {settings.mqtt_url}")
        if not args.now and time.time_ns() - info.end_ns > OLD_DATA_NS:
            when = datetime.fromtimestamp(info.start_ns / 1e9).astimezone()
            console.print(f"[yellow]note[/]: the data keep their own time, {when:%d %b %Y %H:%M} "
                          "local: they are stored under that date, and the Live dashboard "
                          "(the last minutes) and a monitor's clock will not show them as now. "
                          "Add --now to replay the session as if it were happening now.")
        streams = INPUT_STREAMS | DERIVED_STREAMS if args.derived else INPUT_STREAMS
        with Progress(TextColumn("[bold]replay[/]"), BarColumn(),
                      TextColumn("{task.percentage:>3.0f}%  {task.fields[info]}"),
                      TimeRemainingColumn(), console=console) as bar:
            task = bar.add_task("replay", total=1.0, info="")

            def progress(stats: ReplayStats) -> None:
                bar.update(task, completed=stats.fraction,
                           info=f"{stats.session_s:6.1f} / {stats.duration_s:.0f} s  "
                                f"{stats.messages_sent} msgs")

            def outage(text: str) -> None:
                console.print(f"[yellow]{text}[/]")

            try:
                stats = asyncio.run(replay_session(
                    path, settings, speed=speed, athlete=athlete,
                    session=session, streams=streams, retime=args.now, progress=progress,
                    on_outage=outage))
            except (OSError, aiomqtt.MqttError) as exc:
                raise CommandError(f"cannot publish to {settings.mqtt_url}: {exc}") from exc
    console.print(f"replayed {stats.messages_sent} messages ({stats.frames_sent} IMU frames) "
                  f"covering {stats.session_s:.1f} s in {stats.wall_s:.1f} s"
                  + (f"; the broker was lost {stats.reconnects} time(s), {stats.resent} "
                     "message(s) sent again" if stats.reconnects else ""))
    return 0
