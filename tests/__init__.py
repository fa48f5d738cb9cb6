"""footfall's tests. ``FOOTFALL_COMPILED=DIR`` (scripts/test's compiled group): they run
against the compiled build in DIR (scripts/build-compiled), and so do the processes they
start (PYTHONPATH). Set here, before anything imports footfall (tests/conftest.py checks)."""

import os
import sys
from pathlib import Path

COMPILED = str(Path(os.environ["FOOTFALL_COMPILED"]).resolve()) if os.environ.get(
    "FOOTFALL_COMPILED") else ""
if COMPILED:
    sys.path.insert(0, COMPILED)
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [COMPILED, *filter(None, [os.environ.get("PYTHONPATH")])])
