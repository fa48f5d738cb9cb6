"""The scale-out's NATS config (footfall/stack/nats.py) on a real nats-server: every stream of a
session lands in one partition (the one the processor computes), derived events published on
NATS reach MQTT subscribers, and the compose profile runs the generated files."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from pathlib import Path

import aiomqtt
import nats
import pytest
import yaml

from footfall.core.errors import CommandError
from footfall.stack.nats import (
    DEFAULT_PARTITIONS,
    STREAM,
    NatsCluster,
    check_partitions,
    compose_conf,
    ensure_jetstream,
    is_prime,
    mappings,
    partition_of,
)
from footfall.stack.servers import deploy_file, find_binary
from footfall.wire.topics import INPUT_STREAMS, SESSION_DEVICE
from tests.conftest import _require

pytestmark = pytest.mark.servers

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsCluster]:
    _require("nats-server")
    cluster = NatsCluster.at(tmp_path_factory.mktemp("nats"), nodes=1, free_ports=True)
    cluster.up()
    yield cluster
    cluster.down()


def test_partitions_are_prime_and_every_input_stream_is_mapped() -> None:
    assert is_prime(DEFAULT_PARTITIONS)
    with pytest.raises(CommandError, match="prime"):
        check_partitions(16)
    assert set(mappings(31)) == {f"footfall.v1.*.*.*.{s}" for s in INPUT_STREAMS}
    # the key is athlete + session (tokens 1, 2): a session's devices and commands go together
    assert all("partition(31,1,2)" in dst for dst in mappings(31).values())


async def test_a_session_lands_in_one_partition(node: NatsCluster) -> None:
    """60 sessions x 2 devices x every input stream, published over MQTT: each session's
    messages are in exactly one partition, the one :func:`partition_of` says; the sessions
    spread over most partitions."""
    nc = await nats.connect(node.urls)
    try:
        js = nc.jetstream(timeout=10)
        await ensure_jetstream(js, replicas=1)
        sessions = [(f"athlete{i % 7}", f"2026120{i % 9}T10{i:02d}00Z") for i in range(60)]
        sent = 0
        mqtt_port = node.nodes[0].addr.mqtt_port
        async with aiomqtt.Client("127.0.0.1", mqtt_port) as client:
            for athlete, session in sessions:
                for stream in sorted(INPUT_STREAMS):
                    devices = [SESSION_DEVICE] if stream == "control" else ["tibia-l", "tibia-r"]
                    for device in devices:
                        await client.publish(f"footfall/v1/{athlete}/{session}/{device}/{stream}",
                                             b"{}", qos=1)
                        sent += 1
        info = await js.stream_info(STREAM)
        assert info.state.messages == sent  # the QoS 1 PUBACK came after the store
        sub = await js.subscribe("ffin.>", ordered_consumer=True)
        seen: dict[tuple[str, str], set[int]] = {}
        for _ in range(sent):
            msg = await sub.next_msg(5)
            _, part, athlete, session, _device, _stream = msg.subject.split(".")
            seen.setdefault((athlete, session), set()).add(int(part))
        await sub.unsubscribe()
    finally:
        await nc.close()
    assert set(seen) == set(sessions)
    for (athlete, session), parts in seen.items():
        assert parts == {partition_of(athlete, session, DEFAULT_PARTITIONS)}
    assert len({p for ps in seen.values() for p in ps}) >= 20  # of 31: no skew to a few


async def test_derived_events_on_nats_reach_mqtt_subscribers(node: NatsCluster) -> None:
    """The processor publishes on the subject of the MQTT topic; MQTT clients (monitor,
    coach) subscribe as before."""
    port = node.nodes[0].addr.mqtt_port
    nc = await nats.connect(node.urls)
    got: list[str] = []
    try:
        async with aiomqtt.Client("127.0.0.1", port) as client:
            await client.subscribe("footfall/v1/ann/s1/+/+", qos=1)
            await asyncio.sleep(0.3)
            await nc.publish("footfall.v1.ann.s1.tibia-l.step", b'{"type":"step"}')
            await nc.flush()

            async def first() -> None:
                async for message in client.messages:
                    got.append(str(message.topic))
                    return

            await asyncio.wait_for(first(), 5)
    finally:
        await nc.close()
    assert got == ["footfall/v1/ann/s1/tibia-l/step"]


def test_compose_profile_runs_the_generated_configs() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for i in range(3):
        name = f"nats{i + 1}"
        conf = deploy_file("nats", f"{name}.conf")
        assert conf.read_text() == compose_conf(i), f"regenerate {conf} (compose_conf({i}))"
        service = compose["services"][name]
        assert service["profiles"] == ["scale"]
        assert f"./footfall/deploy/nats/{name}.conf:/etc/nats/nats.conf:ro" in service["volumes"]
    bridge = compose["services"]["bridge"]
    assert bridge["profiles"] == ["scale"] and bridge["command"] == ["footfall", "bridge"]
    for name in ("processor-scale-a", "processor-scale-b"):
        service = compose["services"][name]
        assert service["profiles"] == ["scale"] and "nats" in service["command"]
        assert "nats1" in service["environment"]["FOOTFALL_NATS_URL"]


def test_the_compose_configs_are_valid_for_the_real_server() -> None:
    _require("nats-server")
    binary = find_binary("nats-server")
    assert binary is not None
    for i in range(3):
        conf = deploy_file("nats", f"nats{i + 1}.conf")
        result = subprocess.run([binary, "-t", "-c", str(conf)], capture_output=True,
                                text=True, timeout=30)
        assert result.returncode == 0, result.stdout + result.stderr
