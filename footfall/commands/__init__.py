"""CLI subcommands: one module each, with ``register(subparsers)``.

Heavy imports stay inside each command's ``run`` so ``footfall --help`` is instant.
"""

#: order shown in ``footfall --help``: getting started, live pipeline, devices, files
COMMANDS = [
    "demo",
    "stack",
    "process",
    "bridge",
    "monitor",
    "coach",
    "simulate",
    "scan",
    "ingest",
    "decode",
    "record",
    "replay",
    "analyze",
    "report",
    "sessions",
    "load",
]
