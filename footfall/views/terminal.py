"""The one way a command writes to a terminal: a rich console that knows when it is not one.

Piped into a file, less or CI, rich's own detection (``Console.is_terminal``) turns colours and
escape codes off, and here long lines are not wrapped at 80 columns either: a sentence stays
on one line for grep, and nothing breaks mid-word. Nor are tables squeezed into 80 columns
(``footfall sessions | less`` showed its dates as "202…"): unless ``COLUMNS`` says otherwise,
a table gets up to :data:`PIPED_WIDTH` and takes only what its cells need.
"""

from __future__ import annotations

import os
from typing import Any, Final

from rich.console import Console

#: the width a console that is not a terminal lays tables out in (they do not expand to it)
PIPED_WIDTH: Final = 200


def console(*, stderr: bool = False, **options: Any) -> Console:
    made = Console(stderr=stderr, **options)
    if not made.is_terminal:
        made.soft_wrap = True
        if "width" not in options and not os.environ.get("COLUMNS"):
            made.width = PIPED_WIDTH
    return made
