"""``footfall scan``: nearby BLE devices that speak a profile footfall reads."""

from __future__ import annotations

import argparse

from footfall.commands._common import HelpFormatter

HELP = """\
Scan for BLE devices advertising a supported profile (RSC foot pods, Polar, WitMotion,
Movesense, footfall's open IMU frame) and list name, address, signal strength, battery (when
advertised) and profile. Use the address with `footfall ingest --device`.

  footfall scan
  footfall scan --timeout 15 --json
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("scan", help="find supported BLE foot pods and IMUs nearby",
                            description=HELP, formatter_class=HelpFormatter)
    parser.add_argument("--timeout", type=float, default=8.0, metavar="S",
                        help="seconds to listen (default %(default)s)")
    parser.add_argument("--json", action="store_true", help="print JSON lines instead of a table")
    parser.add_argument("--battery", action="store_true",
                        help="connect to each device that does not advertise its battery level "
                             "and read it (slower)")
    parser.set_defaults(func=run_command)


def run_command(args: argparse.Namespace) -> int:
    import asyncio
    import json

    from rich.table import Table

    from footfall.core.errors import CommandError
    from footfall.ingest.ble import BluetoothUnavailable, scan
    from footfall.views.terminal import console as terminal_console

    try:
        found = asyncio.run(scan(args.timeout, battery=args.battery))
    except BluetoothUnavailable as exc:
        raise CommandError(f"cannot scan: {exc}") from exc
    if args.json:
        for r in found:
            print(json.dumps(r.to_dict()))
        return 0
    if not found:
        print(f"no supported device seen in {args.timeout:.0f} s (is it awake and not "
              "connected to a phone?)")
        return 0
    table = Table("name", "address", "RSSI", "battery", "profile")
    for r in found:
        table.add_row(r.name or "?", r.address, f"{r.rssi} dBm",
                      "" if r.battery_pct is None else f"{r.battery_pct} %", r.profile)
    terminal_console().print(table)
    return 0
