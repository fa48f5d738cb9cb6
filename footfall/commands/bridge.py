"""``footfall bridge``: a site's Mosquitto ↔ the NATS JetStream scale-out."""

from __future__ import annotations

import argparse

from footfall.commands._common import (
    HelpFormatter,
    add_nats_url_option,
    add_settings_options,
    settings_from_args,
    stop_on_signals,
    with_nats_url,
)

HELP = """\
Carry a site's device data from its Mosquitto (where the gateways publish, as on one machine)
into the NATS JetStream cluster of the scale-out, and the processors' steps, metrics and
alerts back, so that the monitor and the coach on that broker see them. Each message is
acknowledged to Mosquitto only once JetStream has stored it: a NATS node that dies loses
nothing (docs/scaling.md). Runs until Ctrl-C.

  footfall stack up                                  # the site's Mosquitto (and InfluxDB)
  footfall bridge --nats-url nats://10.0.0.5:4222,nats://10.0.0.6:4222,nats://10.0.0.7:4222
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("bridge", help="scale-out: a site's Mosquitto ↔ NATS JetStream",
                            description=HELP, formatter_class=HelpFormatter)
    add_nats_url_option(parser)
    parser.add_argument("--client-id", default="footfall-bridge",
                        help="MQTT client id; Mosquitto keeps its queue while it is away "
                             "(default %(default)s)")
    add_settings_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import asyncio

    from footfall.service.nats_bridge import NatsBridge
    from footfall.views.terminal import console as terminal_console

    settings = settings_from_args(args)
    settings = with_nats_url(settings, args)
    console = terminal_console()

    async def main() -> None:
        stop = stop_on_signals()
        bridge = NatsBridge(settings, client_id=args.client_id)
        console.print(f"bridging {settings.mqtt_url} ↔ {settings.nats_url}; Ctrl-C to stop")
        await bridge.run(stop)
        console.print(f"stopped: {bridge.stats.forwarded} messages stored in JetStream "
                      f"({bridge.stats.retries} publishes retried), {bridge.stats.returned} "
                      "events back to MQTT")

    asyncio.run(main())
    return 0
