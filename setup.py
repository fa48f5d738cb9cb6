"""The compiled build: with FOOTFALL_COMPILE=1, the processor's hot path is compiled to C by
mypyc (from the same typed sources; docs/architecture.md "The compiled build"). Without it,
footfall installs as plain Python, as the editable development install does. Everything else
about the package is in pyproject.toml.

    scripts/build-compiled          # into build/compiled/, for PYTHONPATH (the benchmarks, CI)
"""

import os

from setuptools import setup

# The modules every frame goes through, in the order of the data flow. Only modules whose
# classes are never subclassed or patched by other code, and that take no weak references
# (mypyc's native classes have none).
COMPILED = [
    "footfall/wire/frame.py",
    "footfall/wire/topics.py",
    "footfall/wire/intake.py",
    "footfall/processing/clipping.py",
    "footfall/processing/quality.py",
    "footfall/processing/detector.py",
    "footfall/processing/activity.py",
    "footfall/processing/stats.py",
    "footfall/processing/feedback.py",
    "footfall/processing/metrics.py",
    "footfall/processing/alerts.py",
    "footfall/processing/summary.py",
    "footfall/processing/session_join.py",
    "footfall/processing/session.py",
    "footfall/processing/gate.py",
    "footfall/processing/router.py",
    "footfall/ingest/spool.py",
    "footfall/storage/lineprotocol.py",
    "footfall/storage/influx.py",
    "footfall/service/journal.py",
    "footfall/service/processor.py",
]

ext_modules = []
if os.environ.get("FOOTFALL_COMPILE") == "1":
    from mypyc.build import mypycify

    ext_modules = mypycify(COMPILED, opt_level="3", target_dir="build/mypyc")

setup(ext_modules=ext_modules)
