"""The processor's heartbeat, as the compose healthcheck reads it."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from footfall.config.settings import Settings
from footfall.service import health
from footfall.service.processor import ProcessorService


def test_check_says_why(tmp_path: Path) -> None:
    assert "no heartbeat" in (health.check(tmp_path) or "")
    health.write(tmp_path, {"connected": True, "spooled_batches": 0})
    assert health.check(tmp_path) is None
    assert "old" in (health.check(tmp_path, now_ns=time.time_ns() + 60 * 10**9) or "")
    health.write(tmp_path, {"connected": False})
    assert "not connected" in (health.check(tmp_path) or "")
    health.write(tmp_path, {"connected": True, "spooled_batches": 500})
    assert "500 batches" in (health.check(tmp_path) or "")
    assert health.main([str(tmp_path)]) == 1


async def test_running_processor_is_healthy(settings: Settings) -> None:
    service = ProcessorService(settings, writer=None, client_id=f"health-{settings.session}")
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))
    await asyncio.wait_for(service.connected.wait(), 30)
    for _ in range(200):  # the first beat after connecting comes within INTERVAL_S
        if health.check(settings.state_dir) is None:
            break
        await asyncio.sleep(0.05)
    assert health.check(settings.state_dir) is None
    stop.set()
    await task
