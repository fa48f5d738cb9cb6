"""The processor dies (kill -9) mid-run and is started again 5 s later.

The broker keeps its persistent session (stable client id, clean_session false), so the frames
of the gap wait there; the restarted processor must tag them with the right side from the first
one (the retained meta may arrive after the queued frames) and make no phantom step where its
detector restarts.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.faults.harness import Observer, Proc, Rig, streamed_case, verdict

pytestmark = [pytest.mark.faults, pytest.mark.servers]

SESSION_S, SPEED = 120.0, 4.0
DOWN_S = 5.0


async def kill_and_restart(rig: Rig, observer: Observer, gateway: Proc, processor: Proc) -> float:
    processor.kill()
    rig.note("processor killed -9")
    await asyncio.sleep(DOWN_S)
    restarted, restarted_ns = time.monotonic(), time.time_ns()
    processor.start()
    took = await rig.processor_connected(restarted_ns)
    rig.note(f"started again (connected after {took:.1f} s)")
    return restarted


async def test_processor_kill_and_restart(rig: Rig) -> None:
    result = await streamed_case(rig, "processor-kill", kill_and_restart, session_s=SESSION_S,
                                 speed=SPEED)
    assert result.passed, verdict(result, rig)
