"""``footfall stack up|down|status``: a local Mosquitto and InfluxDB for this machine."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from footfall.commands._common import HelpFormatter, add_settings_options, settings_from_args

if TYPE_CHECKING:
    from rich.console import Console

HELP = """\
Start, stop or inspect a local broker and database as background processes, with their config,
data and logs under <state-dir>/stack. Ports come from --mqtt-url and --influx-url.

  footfall stack up                 # mosquitto on :1883, influxd on :8086
  footfall stack up --mqtt-url mqtt://127.0.0.1:11883 --influx-url http://127.0.0.1:18086
  footfall stack status
  footfall stack down

For a deployment with Grafana use docker-compose.yml instead (see README).
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("stack", help="start/stop a local Mosquitto + InfluxDB",
                            description=HELP, formatter_class=HelpFormatter)
    parser.add_argument("action", choices=["up", "down", "status"])
    add_settings_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from footfall.stack.servers import LocalStack
    from footfall.views.terminal import console as terminal_console

    settings = settings_from_args(args)
    console = terminal_console()
    stack = LocalStack.at(settings.state_dir / "stack", mqtt_host=settings.mqtt_host,
                          mqtt_port=settings.mqtt_port,
                          influx_host=settings.influx_url.split("://")[1].split(":")[0],
                          influx_port=settings.influx_port)
    if args.action == "up":
        stack.up()
        console.print(f"[green]up[/]: mosquitto {stack.mosquitto.url}, "
                      f"influxdb {stack.influxdb.url} (data in {settings.state_dir / 'stack'})")
    elif args.action == "down":
        # the processor first: its last events still reach the database
        _stop_processor(settings.state_dir, stack.mosquitto.url, console)
        stopped = stack.down()
        console.print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")
    else:
        down = 0
        for server in stack.servers:
            pid = server.pid()
            if pid is not None and server.ready():
                console.print(f"[green]●[/] {server.name:10} {server.url}  pid {pid}  "
                              f"log {server.log_file}")
            else:
                down += 1
                console.print(f"[red]○[/] {server.name:10} {server.url}  not running")
        return 1 if down else 0
    return 0


def _stop_processor(state_dir: Path, broker_url: str, console: Console) -> None:
    """A ``footfall process`` left running would retry the stopped broker for ever: stop
    the one that used this stack's broker, and say so of any other."""
    import os
    import signal
    import time

    from footfall.service.health import running_processor

    found = running_processor(state_dir)
    if found is None:
        return
    pid, url = found
    if url != broker_url:
        console.print(f"footfall process (pid {pid}) still runs, against {url}")
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and running_processor(state_dir) is not None:
        time.sleep(0.1)
    console.print(f"stopped: footfall process (pid {pid}), which used this stack's broker")
