"""Options shared by the subcommands: connection and identity, and the analysis settings."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from pathlib import Path

from rich_argparse import RawDescriptionRichHelpFormatter

from footfall.config.settings import Settings, load_settings


class HelpFormatter(RawDescriptionRichHelpFormatter):
    """Every command's help: colours from rich, but the text is printed as written, so a
    device spec's ``:foot:`` stays text (not an emoji) and ``[[device]]`` keeps its brackets."""

    help_markup = False
    text_markup = False


SETTINGS_FLAGS = (
    ("--mqtt-url", "broker URL (default mqtt://127.0.0.1:1883)"),
    ("--mqtt-username", "broker user name"),
    ("--mqtt-password", "broker password (prefer FOOTFALL_MQTT_PASSWORD)"),
    ("--mqtt-ca-file", "CA certificate of the broker's TLS certificate (with mqtts://)"),
    ("--influx-url", "InfluxDB URL (default http://127.0.0.1:8086)"),
    ("--influx-database", "InfluxDB database or bucket (default footfall)"),
    ("--influx-token", "InfluxDB 2.x/3.x token (prefer FOOTFALL_INFLUX_TOKEN)"),
    ("--athlete", "athlete id (default demo)"),
    ("--session", "session id (default: the UTC start time, e.g. 20261124T170000Z)"),
    ("--state-dir", "where spools and the local stack live (default ~/.local/state/footfall)"),
)


def add_settings_options(parser: argparse.ArgumentParser, **help_for: str) -> None:
    """The connection and identity flags; ``help_for`` replaces a flag's help where the
    command means something else by it (``athlete="…"`` for ``--athlete``)."""
    group = parser.add_argument_group(
        "connection and identity",
        "Each also reads FOOTFALL_<NAME> from the environment and <name> from the config file.",
    )
    group.add_argument("--config", type=Path, metavar="FILE",
                       help="TOML settings file (default ./footfall.toml if present)")
    for flag, text in SETTINGS_FLAGS:
        group.add_argument(flag, help=help_for.get(flag[2:].replace("-", "_"), text),
                           default=None)


def settings_from_args(args: argparse.Namespace) -> Settings:
    overrides = {
        flag[2:].replace("-", "_"): getattr(args, flag[2:].replace("-", "_"), None)
        for flag, _ in SETTINGS_FLAGS
    }
    return load_settings(getattr(args, "config", None), **overrides)


def speed_mps(text: str) -> float:
    """A belt speed as treadmills show it: ``10.8`` (km/h), ``10.8km/h`` or ``3m/s``."""
    from footfall.core.units import kmh_to_mps

    value = text.strip().lower().replace(" ", "")
    try:
        if value.endswith("m/s"):
            speed = float(value[:-3])
        else:
            speed = kmh_to_mps(float(value.removesuffix("km/h").removesuffix("kmh")))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a speed: give km/h as treadmills show it (10.8) or m/s (3m/s)"
        ) from None
    if not 0 <= speed <= 20:
        raise argparse.ArgumentTypeError(f"{text!r} is not a running speed (0–72 km/h)")
    return speed


def add_analysis_options(parser: argparse.ArgumentParser) -> None:
    """The analysis settings, with the same names in every command (docs/metrics.md)."""
    group = parser.add_argument_group(
        "baseline and belt speed",
        "Defaults come from the [analysis] table of the config file, else 60 s + 60 s.")
    group.add_argument("--warmup-s", type=float, metavar="S", default=None,
                       help="seconds of no-feedback warm-up before the baseline window")
    group.add_argument("--baseline-s", type=float, metavar="S", default=None,
                       help="seconds the baseline cadence and impact are taken over; drift is "
                            "reported against it from then on")
    group.add_argument("--belt-speed", type=speed_mps, metavar="KMH", default=None,
                       help="treadmill belt speed in km/h (or e.g. 3m/s), when no foot pod "
                            "reports speed: cadence change explained by speed is not drift")


def analysis_overrides(args: argparse.Namespace) -> dict[str, float | None]:
    """The flags of :func:`add_analysis_options` as overrides of ``Settings.analysis_for``."""
    return {"warmup_s": getattr(args, "warmup_s", None),
            "baseline_s": getattr(args, "baseline_s", None),
            "treadmill_speed_mps": getattr(args, "belt_speed", None)}


def add_speed_options(group: argparse._ArgumentGroup, *, default: float = 1.0,
                      what: str = "the recording") -> None:
    """``--speed X`` and ``--fast``: the one pacing convention (footfall.core.pacing)."""
    group.add_argument("--speed", type=float, default=default, metavar="X",
                       help=f"time factor for {what}: 1 = real time, 20 = twenty times faster, "
                            f"0 = as fast as the receiver takes it (default {default:g})")
    group.add_argument("--fast", action="store_true", help="the same as --speed 0")


def pacer_speed(args: argparse.Namespace) -> float | None:
    """The pacer's speed from ``--speed``/``--fast`` (None: as fast as possible); a negative
    factor is refused with what to type instead."""
    from footfall.core.errors import CommandError, SettingError
    from footfall.core.pacing import check_speed

    try:
        return None if getattr(args, "fast", False) else check_speed(args.speed)
    except SettingError as exc:
        raise CommandError(f"--speed: {exc}") from None


def add_nats_url_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--nats-url", metavar="URLS",
                        help="the scale-out's NATS servers, comma-separated (default nats_url, "
                             "nats://127.0.0.1:4222; docs/scaling.md)")


def with_nats_url(settings: Settings, args: argparse.Namespace) -> Settings:
    """``settings`` with ``--nats-url`` if it was given."""
    url = getattr(args, "nats_url", None)
    return settings.model_copy(update={"nats_url": url}) if url else settings


def stop_on_signals() -> asyncio.Event:
    """An event set by Ctrl-C or SIGTERM (call it inside the running loop): long-running
    commands stop cleanly on it instead of with a KeyboardInterrupt traceback."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # not on every platform's loop
            loop.add_signal_handler(sig, stop.set)
    return stop
