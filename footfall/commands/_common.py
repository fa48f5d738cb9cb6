"""Options shared by the subcommands that talk to the broker or the database."""

from __future__ import annotations

import argparse
from pathlib import Path

from footfall.config.settings import Settings, load_settings

SETTINGS_FLAGS = (
    ("--mqtt-url", "broker URL (default mqtt://127.0.0.1:1883)"),
    ("--mqtt-username", "broker user name"),
    ("--mqtt-password", "broker password (prefer FOOTFALL_MQTT_PASSWORD)"),
    ("--influx-url", "InfluxDB URL (default http://127.0.0.1:8086)"),
    ("--influx-database", "InfluxDB database or bucket (default footfall)"),
    ("--influx-token", "InfluxDB 2.x/3.x token (prefer FOOTFALL_INFLUX_TOKEN)"),
    ("--athlete", "athlete id (default demo)"),
    ("--session", "session id (default: the UTC start time, e.g. 20261124T170000Z)"),
    ("--state-dir", "where spools and the local stack live (default ~/.local/state/footfall)"),
)


def add_settings_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "connection and identity",
        "Each also reads FOOTFALL_<NAME> from the environment and <name> from the config file.",
    )
    group.add_argument("--config", type=Path, metavar="FILE",
                       help="TOML settings file (default ./footfall.toml if present)")
    for flag, text in SETTINGS_FLAGS:
        group.add_argument(flag, help=text, default=None)


def settings_from_args(args: argparse.Namespace) -> Settings:
    overrides = {
        flag[2:].replace("-", "_"): getattr(args, flag[2:].replace("-", "_"), None)
        for flag, _ in SETTINGS_FLAGS
    }
    return load_settings(getattr(args, "config", None), **overrides)
