"""``footfall stack up|down|status``: a local Mosquitto and InfluxDB for this machine."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from footfall.commands._common import HelpFormatter, add_settings_options, settings_from_args

if TYPE_CHECKING:
    from rich.console import Console

    from footfall.config.settings import Settings
    from footfall.stack.nats import NatsCluster

HELP = """\
Start, stop or inspect a local broker and database as background processes, with their config,
data and logs under <state-dir>/stack. Ports come from --mqtt-url and --influx-url.

  footfall stack up                 # mosquitto on :1883, influxd on :8086
  footfall stack up --mqtt-url mqtt://127.0.0.1:11883 --influx-url http://127.0.0.1:18086
  footfall stack status
  footfall stack down

For a deployment with Grafana use docker-compose.yml instead (see README).

Scale-out (docs/scaling.md): --engine nats runs NATS JetStream instead of Mosquitto, 1 node or a
3-node cluster on loopback (MQTT on the --mqtt-url port and the next ones, NATS clients on 4222
and up, cluster routes on 6222 and up, monitoring on 8222 and up), and InfluxDB as usual:

  footfall stack up --engine nats --nodes 3
  footfall process --engine nats --nats-url nats://127.0.0.1:4222,nats://127.0.0.1:4223,nats://127.0.0.1:4224
  footfall stack down
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("stack", help="start/stop a local Mosquitto + InfluxDB",
                            description=HELP, formatter_class=HelpFormatter)
    parser.add_argument("action", choices=["up", "down", "status"])
    parser.add_argument("--engine", choices=["mosquitto", "nats"], default="mosquitto",
                        help="the broker: Mosquitto (default, one machine) or NATS JetStream "
                             "(the scale-out); down and status see both")
    parser.add_argument("--nodes", type=int, choices=[1, 3], default=1,
                        help="--engine nats: one node or a 3-node cluster (default 1)")
    add_settings_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from footfall.stack.nats import NatsCluster
    from footfall.stack.servers import LocalStack
    from footfall.views.terminal import console as terminal_console

    settings = settings_from_args(args)
    console = terminal_console()
    stack = LocalStack.at(settings.state_dir / "stack", mqtt_host=settings.mqtt_host,
                          mqtt_port=settings.mqtt_port,
                          influx_host=settings.influx_url.split("://")[1].split(":")[0],
                          influx_port=settings.influx_port)
    nats = NatsCluster.at(settings.state_dir / "stack", nodes=_nats_nodes(settings, args),
                          host=settings.mqtt_host, mqtt_port=settings.mqtt_port,
                          partitions=settings.nats_partitions)
    if args.action == "up" and args.engine == "nats":
        stack.check_bind_hosts()
        stack.influxdb.start()
        nats.up()
        _ensure_stream(nats)
        console.print(f"[green]up[/]: NATS {len(nats.nodes)} node(s), MQTT "
                      f"{', '.join(n.mqtt_url for n in nats.nodes)}, NATS {nats.url}; "
                      f"influxdb {stack.influxdb.url} (data in {settings.state_dir / 'stack'})")
    elif args.action == "up":
        stack.up()
        console.print(f"[green]up[/]: mosquitto {stack.mosquitto.url}, "
                      f"influxdb {stack.influxdb.url} (data in {settings.state_dir / 'stack'})")
    elif args.action == "down":
        # the processor first: its last events still reach the database
        _stop_processor(settings.state_dir, stack.mosquitto.url, console)
        stopped = [f"nats {name}" for name in nats.down()] + stack.down()
        console.print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")
    else:
        down = 0
        if any(node.pid() is not None for node in nats.nodes):
            for node in nats.nodes:
                up = node.pid() is not None and node.ready()
                console.print(f"[{'green]●' if up else 'red]○'}[/] nats {node.addr.name:5} "
                              f"{node.url}, MQTT {node.mqtt_url}"
                              + ("" if up else "  not running"))
                down += 0 if up else 1
            if stack.mosquitto.pid() is None:  # the NATS stack runs without it
                console.print(f"[green]●[/] {stack.influxdb.name:10} {stack.influxdb.url}"
                              if stack.influxdb.ready() else
                              f"[red]○[/] {stack.influxdb.name:10} not running")
                return 1 if down or not stack.influxdb.ready() else 0
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


def _nats_nodes(settings: Settings, args: argparse.Namespace) -> int:
    """--nodes for up; for down/status as many as were started (their folders)."""
    if args.action == "up":
        return int(args.nodes)
    folder = settings.state_dir / "stack" / "nats"
    return 3 if (folder / "n3").is_dir() else 1


def _ensure_stream(nats: NatsCluster) -> None:
    """The input stream with one replica per node, before any processor connects."""
    import asyncio

    import nats as nats_client

    from footfall.stack.nats import ensure_jetstream

    async def main() -> None:
        nc = await nats_client.connect(nats.urls)
        try:
            await ensure_jetstream(nc.jetstream(timeout=10), replicas=len(nats.nodes))
        finally:
            await nc.close()

    asyncio.run(main())


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
