"""CLI subcommands: one module each, with ``register(subparsers)``.

Heavy imports stay inside each command's ``run`` so ``footfall --help`` is instant.
"""

#: order shown in ``footfall --help``; a module per name in this package
COMMANDS = [
    "demo",
    "stack",
    "simulate",
    "process",
    "analyze",
]
