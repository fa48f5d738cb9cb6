"""``footfall process``: the live processor."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

import footfall
from footfall.commands._common import (
    HelpFormatter,
    add_analysis_options,
    add_nats_url_option,
    add_settings_options,
    analysis_overrides,
    settings_from_args,
    stop_on_signals,
    with_nats_url,
)

if TYPE_CHECKING:
    from rich.console import Console

    from footfall.storage.influx import InfluxClient
    from footfall.wire.topics import Topic

HELP = """\
Subscribe to device data on the broker, detect every step, compute cadence, impact, drift,
symmetry and data quality, publish step/metrics/alert events back to the broker and write them
to InfluxDB. Runs until Ctrl-C.

By default it processes every athlete and session on the broker; --athlete/--session narrow it.
While InfluxDB is unreachable, points wait on disk (<state-dir>/spool) and are written when it
returns; malformed messages are set aside in <state-dir>/quarantine with the reason.

  footfall process
  footfall process --athlete ann --influx-url http://db.clinic:8086

Scale-out (docs/scaling.md): with --engine nats it reads its share of the partitions of a NATS
JetStream deployment instead (gateways still speak MQTT, to the NATS servers' MQTT port);
start as many as you need, each with its own --state-dir. A processor that dies has its
partitions taken over within nats_lease_s (6 s) with no step lost or stored twice.

  footfall stack up --engine nats --nodes 3
  footfall process --engine nats --nats-url nats://127.0.0.1:4222,nats://127.0.0.1:4223
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("process", help="live processor: MQTT in, steps/metrics to InfluxDB",
                            description=HELP, formatter_class=HelpFormatter)
    parser.add_argument("--client-id", default="footfall-processor",
                        help="MQTT client id; the broker keeps its queue while it is away "
                             "(default %(default)s)")
    parser.add_argument("--engine", choices=["mqtt", "nats"], default="mqtt",
                        help="where device data comes from: the MQTT broker (default) or "
                             "partitions of a NATS JetStream deployment (docs/scaling.md)")
    add_nats_url_option(parser)
    parser.add_argument("--member-id", metavar="ID",
                        help="--engine nats: this processor's name in the partition claims "
                             "(default <host>-<pid>)")
    parser.add_argument("--print-steps", action="store_true", help="print every step event")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="no line per session that starts or ends")
    add_analysis_options(parser)
    add_settings_options(parser, athlete="only this athlete (default: every athlete)",
                         session="only this session (default: every session)")
    parser.set_defaults(func=run)



def run(args: argparse.Namespace) -> int:
    import asyncio
    from datetime import datetime

    from footfall.service.processor import ProcessorService, tune_collector
    from footfall.storage.influx import InfluxClient, SpooledWriter, influx_target
    from footfall.views.terminal import console as terminal_console
    from footfall.wire.events import DeviceSummary, StepEvent

    settings = settings_from_args(args)
    settings = with_nats_url(settings, args)
    overrides = analysis_overrides(args)
    settings.analysis_for(overrides=overrides)  # a bad value fails now, with what to fix
    console = terminal_console()

    def now() -> str:
        return datetime.now().astimezone().strftime("%H:%M:%S")  # people read local time

    def show(topic: Topic, event: object) -> None:
        if args.print_steps and isinstance(event, StepEvent):
            cadence = f"{event.cadence_spm:5.1f}" if event.cadence_spm else "    —"
            console.print(f"{topic}: {event.impact_g:5.1f} g  {cadence} spm"
                          + ("  [red]clipped[/]" if event.clipped else ""))
        elif isinstance(event, DeviceSummary) and not args.quiet:
            figures = [f"{event.steps} steps"]
            if event.cadence_spm is not None:
                figures.append(f"{event.cadence_spm:.0f} spm")
            if event.impact_g is not None:
                figures.append(f"impact {event.impact_g:.1f} g")
            console.print(f"[{now()}] session {topic.athlete}/{topic.session} ended: "
                          f"{topic.device} {', '.join(figures)}")

    def started(athlete: str, session: str, _processor: object) -> None:
        if not args.quiet:
            console.print(f"[{now()}] session {athlete}/{session} started")

    async def main() -> None:
        stop = stop_on_signals()
        async with InfluxClient(influx_target(settings)) as influx:
            await _check_influx(influx, console)
        async with InfluxClient(influx_target(settings)) as influx, \
                SpooledWriter(influx, settings.spool_dir) as writer:
            service = ProcessorService(
                settings, writer=writer, client_id=args.client_id,
                athlete=args.athlete or "+", session=args.session or "+", on_event=show,
                analysis_overrides=overrides, on_session=started,
            )
            source = settings.nats_url if args.engine == "nats" else settings.mqtt_url
            build = "compiled build" if footfall.compiled() else "Python build"
            console.print(f"processing {source} → {settings.influx_url}"
                          f"/{settings.influx_database} ({build}); Ctrl-C to stop")
            if args.engine == "nats":
                from footfall.service.nats_source import NatsIntake

                await NatsIntake(service, member_id=args.member_id).run(stop)
            else:
                await service.run(stop)
            console.print(f"stopped: {sum(service.stats.frames.values())} frames, "
                          f"{service.stats.published['step']} steps, "
                          f"{service.stats.malformed} malformed set aside")

    tune_collector()
    asyncio.run(main())
    return 0


async def _check_influx(influx: InfluxClient, console: Console) -> None:
    """Refused credentials stop the command now, with what to fix; an InfluxDB that is
    away is not fatal (points wait on disk until it is back)."""
    from footfall.core.errors import CommandError
    from footfall.storage.influx import InfluxError

    try:
        await influx.query("SHOW DATABASES")
    except InfluxError as exc:
        if exc.status in (401, 403):
            raise CommandError(
                f"InfluxDB at {influx.target.url} refused the credentials ({exc.status}): set "
                "--influx-token (or influx_username/influx_password in footfall.toml, "
                "FOOTFALL_INFLUX_TOKEN) to an account that may write "
                f"{influx.target.database!r}") from None
        console.print(f"[yellow]InfluxDB is not reachable yet ({exc}); steps are kept on disk "
                      "and written when it is back[/]")
