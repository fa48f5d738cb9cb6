"""InfluxDB goes away while steps keep coming: stopped (SIGTERM) for 60 s, and killed (-9).

The processor's spooled writer keeps every batch on disk until InfluxDB answered 2xx, so the
steps of the outage arrive once it is back.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from footfall.stack.servers import Server
from tests.faults.harness import Inject, Observer, Proc, Rig, streamed_case, verdict

pytestmark = [pytest.mark.faults, pytest.mark.servers]


def outage(take_down: Callable[[Server], object], how: str, down_s: float) -> Inject:
    async def inject(rig: Rig, observer: Observer, gateway: Proc, processor: Proc) -> float:
        take_down(rig.influxdb)
        rig.note(f"InfluxDB {how}")
        await asyncio.sleep(down_s)
        rig.influxdb.start()
        rig.note("started again")
        return time.monotonic()
    return inject


@pytest.mark.timeout(420)
async def test_influx_stopped_for_a_minute(rig: Rig) -> None:
    # 90 s of streaming at 2x: the outage sits in the middle of the run
    result = await streamed_case(rig, "influx-stop", outage(Server.stop, "stopped (SIGTERM)", 60),
                                 session_s=180.0, speed=2.0)
    assert result.passed, verdict(result, rig)


async def test_influx_killed(rig: Rig) -> None:
    result = await streamed_case(rig, "influx-kill", outage(Server.kill, "killed -9", 10),
                                 session_s=120.0, speed=4.0)
    assert result.passed, verdict(result, rig)
