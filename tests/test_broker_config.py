"""The one broker config: what every Mosquitto footfall starts (the local stack, every test
broker) and the compose broker share — persistence with a short autosave and bounded queues —
and the local stack's refusal to listen beyond loopback without logins."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from pathlib import Path

import aiomqtt
import pytest

from footfall.cli import main
from footfall.stack.servers import Server, deploy_file, free_port, mosquitto_conf
from tests.conftest import _require

SHARED = deploy_file("mosquitto", "conf.d", "footfall.conf").read_text()
COMPOSE = deploy_file("mosquitto", "mosquitto-compose.conf").read_text()
PERSISTENCE = ("persistence", "autosave_interval", "autosave_on_changes", "max_queued_messages",
               "max_queued_bytes")


def directives(text: str) -> dict[str, str]:
    return dict(re.findall(r"^(\w+) (.+)$", text, re.M))


def test_persistence_and_queue_limits_live_in_the_shared_file_only() -> None:
    shared = directives(SHARED)
    assert shared["persistence"] == "true"
    assert int(shared["autosave_interval"]) <= 2 and shared["autosave_on_changes"] == "false"
    assert int(shared["max_queued_messages"]) >= 100_000
    assert 0 < int(shared["max_queued_bytes"]) <= 1 << 30  # bounded
    generated = mosquitto_conf(Path("/srv/x"), "127.0.0.1", 1883)
    assert f"include_dir {deploy_file('mosquitto', 'conf.d')}" in generated
    assert "include_dir /mosquitto/config/conf.d" in COMPOSE
    for conf in (generated, COMPOSE):  # so both get the same values
        assert not set(PERSISTENCE) & set(directives(conf)), "set these in conf.d only"


@pytest.mark.parametrize("url", ["mqtt://0.0.0.0:1883", "mqtt://192.168.1.20:1883",
                                 "mqtt://broker.clinic.example:1883"])
def test_stack_up_refuses_to_listen_beyond_loopback_without_logins(
        url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stack", "up", "--state-dir", str(tmp_path), "--mqtt-url", url]) != 0
    err = capsys.readouterr().err
    assert "refusing to bind mosquitto" in err and "anonymous" in err
    assert "--mqtt-url a loopback host" in err and "docker compose" in err
    assert not (tmp_path / "stack" / "mosquitto" / "pid").exists()  # nothing was started


def test_stack_up_refuses_an_open_influxdb_too(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stack", "up", "--state-dir", str(tmp_path), "--mqtt-url",
                 "mqtt://localhost:1883", "--influx-url", "http://10.0.0.5:8086"]) != 0
    assert "refusing to bind influxdb to 10.0.0.5" in capsys.readouterr().err


@pytest.mark.servers
async def test_a_killed_broker_keeps_sessions_and_retained_messages(tmp_path: Path) -> None:
    """kill -9 two seconds after the last change: the autosave already has it. (With
    Mosquitto's default autosave of 30 min this loses the session and the queued message.)"""
    _require("mosquitto")
    broker = Server("mosquitto", tmp_path / "m", "127.0.0.1", free_port())
    broker.start()
    topic, who = f"t/{uuid.uuid4().hex[:8]}", f"sub-{uuid.uuid4().hex[:8]}"
    try:
        async with aiomqtt.Client(broker.host, broker.port, identifier=who,
                                  clean_session=False) as sub:
            await sub.subscribe(f"{topic}/#", qos=1)
        async with aiomqtt.Client(broker.host, broker.port) as pub:
            await pub.publish(f"{topic}/state", b"kept", qos=1, retain=True)
            await pub.publish(f"{topic}/data", b"queued", qos=1)
        await asyncio.sleep(2.5)
        broker.kill()
        broker.start()
        got: dict[str, bytes] = {}
        async with aiomqtt.Client(broker.host, broker.port, identifier=who,
                                  clean_session=False) as sub:
            deadline = time.monotonic() + 5
            async def collect() -> None:
                async for message in sub.messages:
                    got[str(message.topic)] = bytes(message.payload)  # type: ignore[arg-type]
            task = asyncio.create_task(collect())
            while len(got) < 2 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            task.cancel()
        assert got == {f"{topic}/state": b"kept", f"{topic}/data": b"queued"}
    finally:
        broker.stop()


def test_the_broker_sends_without_nagles_algorithm() -> None:
    """Every footfall client sets TCP_NODELAY on its own socket; the broker's side of each
    connection needs Mosquitto's option, or a small PUBLISH to a view waits up to a delayed
    ACK (40 ms): 0–50 ms of every step event's way at 100 sensors and more (measured with
    benchmarks/bench_scale.py, docs/benchmarks.md "The tenth round")."""
    assert directives(SHARED)["set_tcp_nodelay"] == "true"
