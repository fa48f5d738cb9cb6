"""``footfall record``: capture a session from the broker, or convert a recording, to MCAP."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from footfall.commands._common import HelpFormatter, add_settings_options, settings_from_args
from footfall.core.vocab import PLACEMENTS, SIDES

if TYPE_CHECKING:
    from footfall.recordings.session_file import SessionInfo
    from footfall.recordings.sources import ImportOptions

HELP = """\
Write one session file (MCAP, see docs/session-format.md): everything the session publishes —
raw device data (imu, rsc), derived events (step, metrics, alert) and the retained device
meta/status — with its metadata. Stop with Ctrl-C, --duration or --until-offline; the file is
always finished properly.

Start it BEFORE the run: it records what the broker sends from then on (a session that has
ended is gone; its recording is `footfall ingest --record` or the processor's InfluxDB data).

  footfall record -o run.mcap --athlete ana --until-offline &   # then start the run
  footfall record -o run.mcap                            # every athlete and session, Ctrl-C ends

With --from, convert an existing recording instead of listening to the broker:

  footfall record --from run.fit -o run.mcap             # FIT → RSC foot pod (running parts)
  footfall record --from imu.csv --placement tibia --side left -o imu.mcap
  footfall record --from ../shared/data/sacral-grf-alcantarar -o sacrum.mcap --trials 0,1

`footfall replay` plays the result (and also takes .fit/.csv/dataset sources directly).
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("record", help="record a session (or convert FIT/CSV) to MCAP",
                            description=HELP, formatter_class=HelpFormatter)
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="FILE",
                        help="session file to write (.mcap)")
    live = parser.add_argument_group("recording from the broker")
    live.add_argument("--duration", type=float, default=None, metavar="S",
                      help="stop after S seconds")
    live.add_argument("--until-offline", action="store_true",
                      help="stop when every device that came online has gone offline")
    conv = parser.add_argument_group("converting a recording (--from)")
    add_import_options(conv)
    add_settings_options(parser)
    parser.set_defaults(func=run_command)


def add_import_options(group: argparse._ArgumentGroup, *, with_from: bool = True) -> None:
    """Options shared with ``footfall replay`` for FIT/CSV/dataset sources."""
    if with_from:
        group.add_argument("--from", dest="source", type=Path, default=None, metavar="PATH",
                           help="a .fit activity, a .csv (time_s,ax_g,ay_g,az_g) or the "
                                "sacral dataset directory")
    group.add_argument("--format", choices=["auto", "fit", "csv", "dataset"], default="auto",
                       help="what the source is (default: from its name)")
    group.add_argument("--start-utc", default=None, metavar="ISO",
                       help="CSV/dataset: UTC of the first sample, e.g. 2026-11-24T17:00:00Z "
                            "(default: now)")
    group.add_argument("--device", default=None, metavar="ID",
                       help="device id (default footpod / imu / sacrum)")
    group.add_argument("--placement", choices=PLACEMENTS, default="tibia",
                       help="CSV: where the sensor was worn (default tibia)")
    group.add_argument("--side", choices=SIDES, default="none",
                       help="CSV: which leg (default none)")
    group.add_argument("--range-g", type=int, default=None, metavar="G",
                       help="CSV: sensor full-scale range; larger values clip (default: the "
                            "smallest standard range covering the data, as footfall analyze)")
    group.add_argument("--trials", default=None, metavar="LIST",
                       help="dataset: comma-separated trial numbers (default all 31)")


def import_options(args: argparse.Namespace, athlete: str, session: str | None
                   ) -> ImportOptions:
    from datetime import datetime

    from footfall.core.errors import CommandError
    from footfall.core.vocab import Placement, Side
    from footfall.recordings.sources import ImportOptions

    start_ns = None
    if args.start_utc:
        try:
            when = datetime.fromisoformat(args.start_utc.replace("Z", "+00:00"))
        except ValueError as exc:
            raise CommandError(f"--start-utc {args.start_utc!r}: {exc}") from exc
        if when.tzinfo is None:
            raise CommandError("--start-utc needs a time zone, e.g. 2026-11-24T17:00:00Z")
        start_ns = round(when.timestamp() * 1e9)
    try:
        trials = tuple(int(t) for t in args.trials.split(",")) if args.trials else None
    except ValueError as exc:
        raise CommandError(f"--trials {args.trials!r}: expected e.g. 0,1,5") from exc
    return ImportOptions(athlete=athlete, session=session, start_utc_ns=start_ns,
                         device=args.device, placement=Placement(args.placement),
                         side=Side(args.side), accel_range_g=args.range_g, trials=trials)


def convert(args: argparse.Namespace, source: Path, out: Path, athlete: str,
            session: str | None) -> SessionInfo:
    """Import ``source`` into ``out``; errors become :class:`CommandError`."""
    from footfall.core.errors import CommandError
    from footfall.recordings.sources import ImportKindError, detect_kind, import_file

    if not source.exists():
        raise CommandError(f"{source} does not exist")
    try:
        kind = detect_kind(source) if args.format == "auto" else args.format
        if kind == "session":
            raise CommandError(f"{source} is already a session file: replay it directly")
        options = import_options(args, athlete, session)
        return import_file(kind, source, out, options)
    except (ImportKindError, OSError, ValueError) as exc:
        raise CommandError(f"cannot import {source}: {exc}") from exc


def run_command(args: argparse.Namespace) -> int:
    import asyncio
    import signal

    import aiomqtt

    from footfall.core.errors import CommandError
    from footfall.views.terminal import console as terminal_console

    settings = settings_from_args(args)
    console = terminal_console(stderr=True)
    if args.source is not None:
        info = convert(args, args.source, args.output, settings.athlete, args.session)
        console.print(f"wrote {args.output}: {describe(info)}")
        return 0

    from footfall.recordings.recorder import RecordStats, record_session

    athlete, session = args.athlete or "+", args.session or "+"
    console.print(f"recording footfall/v1/{athlete}/{session}/# from {settings.mqtt_url} to "
                  f"{args.output} (Ctrl-C to stop)")

    stats = RecordStats()

    async def record_until_signal() -> bool:
        """Record; SIGINT/SIGTERM end it cleanly. True if stopped by a signal."""
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        for sig in (signal.SIGINT, signal.SIGTERM):
            if task is not None:  # always true under asyncio.run
                loop.add_signal_handler(sig, task.cancel)
        try:
            await record_session(
                settings, args.output, athlete=athlete, session=session,
                duration_s=args.duration, stop_when_offline=args.until_offline,
                progress=progress, stats=stats,
                notice=lambda text: console.print(f"[yellow]note[/]: {text}"))
        except asyncio.CancelledError:
            return True
        return False

    with console.status("waiting for messages…") as status:
        def progress(stats: RecordStats) -> None:
            streams = ", ".join(f"{k} {v}" for k, v in sorted(stats.by_stream.items()))
            status.update(f"{stats.messages} messages from {len(stats.devices)} device(s): "
                          f"{streams}")

        try:
            stopped = asyncio.run(record_until_signal())
        except (OSError, aiomqtt.MqttError) as exc:
            raise CommandError(f"cannot record from {settings.mqtt_url}: {exc}") from exc
    console.print(f"{'stopped: ' if stopped else ''}recorded {stats.messages} messages "
                  f"({stats.skipped} skipped) to {args.output}")
    return 0


def describe(info: SessionInfo) -> str:
    devices = ", ".join(f"{d.device} ({d.profile}, {d.placement}, {d.sample_rate_hz:g} Hz)"
                        for d in info.devices.values())
    return (f"athlete {info.athlete}, session {info.session}, {info.duration_s:.1f} s, "
            f"{info.message_count} messages; devices: {devices}")
