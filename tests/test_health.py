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


def test_refused_influx_credentials_are_unhealthy(tmp_path: Path) -> None:
    health.write(tmp_path, {"connected": True, "spooled_batches": 3,
                            "influx_error": "InfluxDB at http://x refused the credentials (401)"})
    assert "refused the credentials" in (health.check(tmp_path) or "")


def test_a_stuck_handler_is_named_while_it_blocks(tmp_path: Path) -> None:
    """The event loop is blocked by one message: the heartbeat does not just go stale, the
    watchdog's thread says which message and for how long."""
    dog = health.Watchdog(tmp_path, stuck_after_s=0.3, check_every_s=0.05)
    dog.write({"connected": True, "spooled_batches": 0})
    dog.start()
    try:
        seen: list[str | None] = []
        with dog.handling("footfall/v1/a/s/tibia-left/imu"):
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline and not seen:  # a busy loop, like a hang
                reason = health.check(tmp_path)
                if reason:
                    seen.append(reason)
        assert seen and "stuck" in (seen[0] or "") and "tibia-left/imu" in (seen[0] or "")
        assert health.check(tmp_path) is None  # handled after all: healthy again
    finally:
        dog.stop()
