"""A 3-node NATS JetStream cluster and an InfluxDB per case, on free loopback ports."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import _require
from tests.scale.harness import ScaleRig


@pytest.fixture
async def scale_rig(tmp_path: Path) -> AsyncIterator[ScaleRig]:
    _require("nats-server")
    _require("influxd")
    rig = ScaleRig.create(tmp_path)
    try:
        yield rig
    finally:
        await rig.stop_all()
