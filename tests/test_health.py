"""The processor's heartbeat, as the compose healthcheck reads it."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path

import pytest

from footfall.config.settings import Settings
from footfall.service import health
from footfall.service.processor import ProcessorService
from footfall.simulators.publish import publish_streams
from footfall.stack.servers import Server, free_port
from tests.pipeline_helpers import streams_of, tibia_runs


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


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_capacity_warns_once_a_window_passes_without_input_waiting(
        caplog: pytest.LogCaptureFixture) -> None:
    clock = _Clock()
    capacity = health.Capacity(warn_after_s=10, idle_share=0.02, repeat_s=60, clock=clock)
    idle = 0.0
    with caplog.at_level(logging.WARNING, logger="footfall.service.health"):
        for _ in range(95):  # 9.5 s of batches, 1,000 messages each, never waiting
            clock.now += 0.1
            capacity.observe(idle, 1000)
        assert not capacity.at_capacity and capacity.idle_pct is None  # not a window yet
        for _ in range(10):
            clock.now += 0.1
            capacity.observe(idle, 1000)
        assert capacity.at_capacity and capacity.idle_pct == 0.0
        warnings = [r.getMessage() for r in caplog.records]
        assert len(warnings) == 1
        assert "10000 messages/s" in warnings[0] and "docs/scaling.md" in warnings[0]
        for _ in range(300):  # 30 s more: said again only after repeat_s
            clock.now += 0.1
            capacity.observe(idle, 1000)
        assert len(caplog.records) == 1
        for _ in range(300):
            clock.now += 0.1
            capacity.observe(idle, 1000)
        assert len(caplog.records) == 2
        for _ in range(100):  # it keeps up: waits 10 % of the time
            clock.now += 0.1
            idle += 0.01
            capacity.observe(idle, 100)
        assert not capacity.at_capacity and capacity.idle_pct == pytest.approx(10.0, abs=0.5)
        assert "keeps up again" in caplog.records[-1].getMessage()


def test_capacity_is_quiet_while_input_waits_now_and_then(
        caplog: pytest.LogCaptureFixture) -> None:
    clock = _Clock()
    capacity = health.Capacity(warn_after_s=10, clock=clock)
    idle = 0.0
    with caplog.at_level(logging.WARNING, logger="footfall.service.health"):
        for i in range(600):  # a minute at 97 % busy
            clock.now += 0.1
            idle += 0.003
            capacity.observe(idle, 1000)
            if i == 300:  # a reconnect: the new connection's idle time starts from 0
                idle = 0.0
        assert not caplog.records and not capacity.at_capacity
        assert capacity.idle_pct == pytest.approx(3.0, abs=0.2)


async def test_a_processor_behind_its_input_says_so_and_then_that_it_keeps_up(
        settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    """A backlog waits in the broker for the processor's persistent session (as after a
    restart, or past its capacity): while the processor analyses without its input ever
    waiting, the log and the heartbeat say it is at its capacity; once caught up, that it
    keeps up again."""
    client_id = f"capacity-{settings.session}"
    seen_at_capacity: list[bool] = []

    async def processor(frames: int) -> None:
        service = ProcessorService(settings, writer=None, client_id=client_id)
        service.capacity = health.Capacity(warn_after_s=0.1, idle_share=0.25)
        stop = asyncio.Event()
        task = asyncio.create_task(service.run(stop))
        await asyncio.wait_for(service.connected.wait(), 30)
        deadline = time.monotonic() + 120
        while sum(service.stats.frames.values()) < frames:
            assert time.monotonic() < deadline, "the processor did not take the backlog"
            seen_at_capacity.append(service.capacity.at_capacity)
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.3)  # caught up: its input waits
        service.beat()
        stop.set()
        await task

    await processor(0)  # its persistent session, for the backlog
    published = await publish_streams(settings, streams_of(tibia_runs(120.0)), speed=None)
    with caplog.at_level(logging.WARNING, logger="footfall.service.health"):
        await processor(published.frames_sent)
    said = [r.getMessage() for r in caplog.records if r.name == "footfall.service.health"]
    assert any("at its capacity" in m for m in said), said
    assert "keeps up again" in said[-1]
    assert any(seen_at_capacity)
    beat = json.loads((settings.state_dir / health.FILE_NAME).read_text())
    assert beat["at_capacity"] is False and beat["input_idle_pct"] > 25


async def test_a_processor_that_keeps_up_does_not_warn(
        settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    """Two sensors in real time: the input waits most of the time, nothing is said."""
    with caplog.at_level(logging.WARNING, logger="footfall.service.health"):
        service = ProcessorService(settings, writer=None, client_id=f"keeps-{settings.session}")
        service.capacity = health.Capacity(warn_after_s=0.5)
        stop = asyncio.Event()
        task = asyncio.create_task(service.run(stop))
        await asyncio.wait_for(service.connected.wait(), 30)
        await publish_streams(settings, streams_of(tibia_runs(3.0)), speed=1.0)
        service.beat()
        stop.set()
        await task
    assert not [r for r in caplog.records if r.name == "footfall.service.health"]
    assert not service.capacity.at_capacity
    assert service.capacity.idle_pct is not None and service.capacity.idle_pct > 50


async def test_a_processor_whose_broker_is_away_is_not_at_its_capacity(
        settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """While the broker is away the input waits for nothing (no connection): that says nothing
    about keeping up, and must not read as an input that never waits."""
    broker = Server("mosquitto", tmp_path / "broker", "127.0.0.1", free_port())
    broker.start()
    away = settings.model_copy(update={"mqtt_url": broker.url})
    service = ProcessorService(away, writer=None, client_id=f"away-{settings.session}")
    service.capacity = health.Capacity(warn_after_s=0.3, idle_share=0.25)
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))
    try:
        await asyncio.wait_for(service.connected.wait(), 30)
        with caplog.at_level(logging.WARNING, logger="footfall.service.health"):
            broker.stop()
            for _ in range(10):  # a second of heartbeats while it is away
                await asyncio.sleep(0.1)
                service.beat()
        assert not service.connected.is_set()
        assert not service.capacity.at_capacity
        assert not [r for r in caplog.records if r.name == "footfall.service.health"]
        beat = json.loads((away.state_dir / health.FILE_NAME).read_text())
        assert beat["connected"] is False and beat["at_capacity"] is False
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        broker.stop()
