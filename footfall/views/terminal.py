"""The one way a command writes to a terminal: a rich console that knows when it is not one.

Piped into a file, less or CI, rich's own detection (``Console.is_terminal``) turns colours and
escape codes off, and here long lines are not wrapped at 80 columns either: a sentence stays
on one line for grep, and nothing breaks mid-word.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console


def console(*, stderr: bool = False, **options: Any) -> Console:
    made = Console(stderr=stderr, **options)
    if not made.is_terminal:
        made.soft_wrap = True
    return made
