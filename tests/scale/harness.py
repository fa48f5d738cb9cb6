"""The scale-out on real servers: a 3-node NATS cluster (footfall/stack/nats.py, the code of
``footfall stack up --engine nats --nodes 3``), an InfluxDB, a site's Mosquitto with the real
``footfall bridge``, two real ``footfall process --engine nats`` and real gateways (``footfall
simulate --device footfall``) speaking MQTT to the Mosquitto, unchanged. The processes, the
step matching and the checks are the fault suite's (tests/faults/harness.py); here each
gateway streams its own session, so that the sessions fall in partitions of both processors.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiomqtt
import nats

from footfall.processing.offline import analyze_messages
from footfall.recordings.session_file import iter_messages
from footfall.stack.nats import LEASES, NatsCluster, ensure_jetstream, partition_of
from footfall.stack.servers import Server, free_port
from tests.faults.cases import StepCount
from tests.faults.harness import (
    CHUNK_MS,
    DEVICES,
    RATE_HZ,
    Checks,
    Proc,
    compare,
    footfall_env,
    query_steps,
    until,
)

#: short leases: a takeover within ~3 s (production default nats_lease_s = 6)
LEASE_S = 3.0
PARTITIONS = 31


def _sessions(count: int) -> list[str]:
    """Session ids in ``count`` different partitions (so both processors get some)."""
    found: dict[int, str] = {}
    i = 0
    while len(found) < count:
        name = f"scale{i:02d}"
        found.setdefault(partition_of("runner", name, PARTITIONS), name)
        i += 1
    return list(found.values())


@dataclass
class ScaleRig:
    root: Path
    cluster: NatsCluster
    influxdb: Server
    mosquitto: Server
    bridge: Proc | None = None
    athlete: str = "runner"
    database: str = "scale"
    processors: dict[str, Proc] = field(default_factory=dict)
    gateways: dict[str, Proc] = field(default_factory=dict)  # session -> its gateway
    timeline: list[tuple[float, str]] = field(default_factory=list)
    t0: float = field(default_factory=time.monotonic)

    @classmethod
    def create(cls, root: Path) -> ScaleRig:
        return cls(root, NatsCluster.at(root / "stack", nodes=3, free_ports=True,
                                        partitions=PARTITIONS),
                   Server("influxdb", root / "influxdb", "127.0.0.1", free_port(),
                          rpc_port=free_port()),
                   Server("mosquitto", root / "mosquitto", "127.0.0.1", free_port()))

    def note(self, text: str) -> None:
        self.timeline.append((time.monotonic() - self.t0, text))

    def happened(self) -> str:
        return "; ".join(f"{t:.1f} s {text}" for t, text in self.timeline)

    async def up(self) -> None:
        """As ``footfall stack up --engine nats --nodes 3``: the servers, then the stream."""
        self.influxdb.start()
        self.mosquitto.start()
        self.cluster.up()
        nc = await nats.connect(self.cluster.urls)
        try:
            await ensure_jetstream(nc.jetstream(timeout=10), replicas=3, lease_s=LEASE_S)
        finally:
            await nc.close()
        home = self.root / "bridge"
        self.bridge = Proc("bridge", ["bridge", "--nats-url", self.cluster.url, "--mqtt-url",
                                      self.mosquitto.url, "--state-dir", str(home)], home)
        self.bridge.start()

    def start_processor(self, name: str) -> Proc:
        home = self.root / name
        env = footfall_env() | {"FOOTFALL_NATS_LEASE_S": str(LEASE_S),
                                "FOOTFALL_NATS_PARTITIONS": str(PARTITIONS)}
        proc = self.processors.get(name) or Proc(
            name, ["process", "--engine", "nats", "--nats-url", self.cluster.url,
                   "--member-id", name, "--influx-url", self.influxdb.url,
                   "--influx-database", self.database, "--state-dir", str(home)], home, env)
        self.processors[name] = proc
        proc.start()
        return proc

    def start_gateway(self, session: str, duration_s: float, *, speed: float,
                      seed: int) -> Proc:
        home = self.root / f"gateway-{session}"
        proc = Proc(f"gateway-{session}",
                    ["simulate", "--device", "footfall", "--rate", str(RATE_HZ),
                     "--chunk-ms", str(CHUNK_MS), "--duration", str(duration_s),
                     "--speed", str(speed), "--seed", str(seed),
                     "--record", str(home / "published.mcap"),
                     "--athlete", self.athlete, "--session", session,
                     "--mqtt-url", self.mosquitto.url, "--state-dir", str(home / "state")], home)
        proc.start()
        self.gateways[session] = proc
        return proc

    async def owners(self) -> dict[int, str]:
        """Partition -> the processor holding its lease."""
        nc = await nats.connect(self.cluster.urls)
        try:
            kv = await nc.jetstream(timeout=5).key_value(LEASES)
            out: dict[int, str] = {}
            for number in range(PARTITIONS):
                try:
                    entry = await kv.get(f"p{number}")
                except Exception:  # not claimed (yet)
                    continue
                out[number] = (entry.value or b"").decode()
            return out
        finally:
            await nc.close()

    def owner_of(self, owners: dict[int, str], session: str) -> str | None:
        return owners.get(partition_of(self.athlete, session, PARTITIONS))

    async def stored_steps(self, session: str) -> list[dict[str, Any]]:
        return await query_steps(self.influxdb.url, self.database, self.athlete, session)

    def expected_steps(self, session: str) -> dict[str, list[float]]:
        out: dict[str, list[float]] = {d: [] for d in DEVICES}
        quiet = logging.getLogger("footfall")
        level = quiet.level
        quiet.setLevel(logging.CRITICAL)
        try:
            path = self.gateways[session].home / "published.mcap"
            results = analyze_messages((m.topic, m.payload) for m in iter_messages(path))
            for device in DEVICES:
                if device in results:
                    out[device] = [s.sensor_time_s for s in results[device].steps]
        finally:
            quiet.setLevel(level)
        return out

    async def compare_all(self, timeout_s: float = 60.0) -> dict[str, StepCount]:
        """Per session: expected vs stored, once InfluxDB has them all or stops changing."""
        expected = {s: self.expected_steps(s) for s in self.gateways}
        want = {s: sum(len(v) for v in e.values()) for s, e in expected.items()}
        deadline = time.monotonic() + timeout_s
        last: dict[str, int] = {}
        quiet_since = time.monotonic()
        while True:
            stored = {s: await self.stored_steps(s) for s in self.gateways}
            counts = {s: len(v) for s, v in stored.items()}
            if counts != last:
                last, quiet_since = counts, time.monotonic()
            if all(counts[s] >= want[s] for s in want) or \
                    time.monotonic() - quiet_since > 8 or time.monotonic() > deadline:
                return {s: compare(expected[s], stored[s]) for s in self.gateways}
            await asyncio.sleep(0.5)

    async def stop_all(self) -> None:
        for proc in [*self.gateways.values(), *self.processors.values(),
                     *([self.bridge] if self.bridge else [])]:
            await proc.terminate(15)
        self.cluster.down()
        self.mosquitto.stop()
        self.influxdb.stop()


def total(counts: dict[str, StepCount]) -> StepCount:
    out = StepCount()
    for count in counts.values():
        out.expected += count.expected
        out.stored += count.stored
        out.missing += count.missing
        out.extra += count.extra
        out.side_none += count.side_none
        out.missing_at_s += count.missing_at_s
        out.extra_at_s += count.extra_at_s
    return out


async def run_case(rig: ScaleRig, inject: Any, *, sessions: int = 3, session_s: float = 120.0,
                   speed: float = 4.0, lead_s: float = 8.0) -> tuple[Checks, dict[str, Any]]:
    """Two processors, ``sessions`` gateways (one per session) on the site's Mosquitto;
    ``inject(rig)`` does the fault ``lead_s`` into the run; then every session's steps in
    InfluxDB are matched with what its gateway published."""
    checks = Checks()
    details: dict[str, Any] = {}
    await rig.up()
    for name in ("proc-a", "proc-b"):
        rig.start_processor(name)
    names = _sessions(sessions)

    async def balanced() -> bool:
        owners = await rig.owners()
        return len(owners) == PARTITIONS and set(owners.values()) == {"proc-a", "proc-b"}

    returned: list[str] = []

    async def watch_steps() -> None:
        """A monitor's view: derived events back on the site's Mosquitto (via the bridge)."""
        while True:
            try:
                async with aiomqtt.Client("127.0.0.1", rig.mosquitto.port) as client:
                    await client.subscribe(f"footfall/v1/{rig.athlete}/+/+/step", qos=1)
                    async for message in client.messages:
                        returned.append(str(message.topic))
            except aiomqtt.MqttError:
                await asyncio.sleep(0.2)

    watcher = asyncio.create_task(watch_steps())
    start = time.monotonic()
    while not await balanced():
        if time.monotonic() - start > 60:
            raise AssertionError(f"the processors did not share the partitions: "
                                 f"{await rig.owners()}")
        await asyncio.sleep(0.3)
    rig.note(f"partitions shared by both processors after {time.monotonic() - start:.1f} s")
    for i, session in enumerate(names):
        rig.start_gateway(session, session_s, speed=speed, seed=i + 1)
    await until(lambda: all(g.output() for g in rig.gateways.values()), "gateways started", 30)
    await asyncio.sleep(lead_s)
    checks.check(any([await rig.stored_steps(s) for s in names]),
                 f"steps reached InfluxDB in the first {lead_s:.0f} s")
    rig.t0 = time.monotonic()
    details |= await inject(rig) or {}
    for session, gateway in rig.gateways.items():
        code = await gateway.wait(session_s / speed + 180)
        checks.check(code == 0, f"gateway of {session} finished (exit code {code}): "
                                f"{gateway.output()[-400:]}")
    counts = await rig.compare_all()
    watcher.cancel()
    checks.check(len(returned) > 0, "steps reached MQTT subscribers of the site's Mosquitto")
    details["steps_seen_on_mqtt"] = len(returned)
    count = total(counts)
    checks.steps(count)
    details["steps"] = {s: f"{c.stored}/{c.expected} stored, {c.missing} missing, "
                           f"{c.extra} extra" for s, c in counts.items()}
    details["happened"] = rig.happened()
    assert rig.bridge is not None
    checks.check(rig.bridge.alive(), "the bridge still runs")
    print(json.dumps(details, indent=1))
    return checks, details
