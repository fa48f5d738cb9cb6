"""Every fault case gets its own servers (it kills them) on free loopback ports."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import _require
from tests.faults.harness import Rig


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    _require("mosquitto")
    _require("influxd")
    rig = Rig.create(tmp_path)
    try:
        yield rig
    finally:
        await rig.stop_all()
