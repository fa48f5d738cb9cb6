"""``footfall decode``: decode one captured BLE notification and print it as JSON."""

from __future__ import annotations

import argparse

from footfall.commands._common import HelpFormatter

PROFILE_NAMES = ("rsc", "polar-pmd", "witmotion", "movesense", "footfall")

HELP = """\
Decode the bytes of one BLE notification (from nRF Connect, btmon, a `footfall ingest --record`
file or a quarantine file) with footfall's own parser, and print the result as JSON.
Spaces, colons and dashes between the hex digits are ignored.

  footfall decode rsc 07 00 03 55 56 00 39 30 00 00   # 3 m/s, 85 strides/min, 1234.5 m
  footfall decode polar-pmd 020094357700000000 01 F7FFFFFFE703
  footfall decode witmotion 5561000800FCFF7F00000000004000000000 0040
  footfall decode footfall 01002A0040420F00C8001002000000080000000000F8FF7F0080

A packet footfall cannot parse exits with status 2 and says why.
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("decode", help="decode a captured BLE notification to JSON",
                            description=HELP, formatter_class=HelpFormatter)
    parser.add_argument("profile", choices=PROFILE_NAMES, help="which device profile")
    parser.add_argument("hex", nargs="+", help="the notification bytes in hex")
    parser.set_defaults(func=run_command)


def parse_hex(parts: list[str]) -> bytes:
    from footfall.core.errors import CommandError

    text = "".join(parts)
    for sep in (" ", ":", "-", "_"):
        text = text.replace(sep, "")
    if text.lower().startswith("0x"):
        text = text[2:]
    try:
        data = bytes.fromhex(text)
    except ValueError:
        raise CommandError(f"{text[:40]!r} is not hexadecimal bytes (e.g. 07 00 03 12 56)") \
            from None
    if not data:
        raise CommandError("no bytes given")
    return data


def run_command(args: argparse.Namespace) -> int:
    from footfall.core.errors import CommandError
    from footfall.devices.errors import ParseError
    from footfall.devices.registry import decode_json

    data = parse_hex(args.hex)
    try:
        print(decode_json(args.profile, data))
    except ParseError as exc:
        raise CommandError(f"not a valid {args.profile} packet ({len(data)} bytes): "
                           f"{exc.reason}") from exc
    return 0
