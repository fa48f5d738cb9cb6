"""Failover of the scale-out, on a real 3-node NATS cluster with 2 real processors and real
gateways speaking MQTT: a processor is killed (-9) mid-run and its partitions are taken over;
a NATS node (the input stream's leader) is killed (-9) mid-run and restarted. Every step in is
stored, once, with its side (the fault suite's matching, per session)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from tests.faults.harness import until
from tests.scale.harness import LEASE_S, ScaleRig, run_case

pytestmark = [pytest.mark.scale, pytest.mark.servers]


def _verdict(checks: Any, details: dict[str, Any], rig: ScaleRig) -> str:
    logs = ", ".join(str(p.log) for p in [*rig.processors.values(), *rig.gateways.values()])
    return ("\n  - ".join(["", *checks.failures]) + f"\n  details: {details}\n  logs: {logs}")


async def test_processor_killed_its_partitions_are_taken_over(scale_rig: ScaleRig) -> None:
    victim: dict[str, str] = {}

    async def kill_the_busier(rig: ScaleRig) -> dict[str, Any]:
        owners = await rig.owners()
        holding = {name: [s for s in rig.gateways if rig.owner_of(owners, s) == name]
                   for name in rig.processors}
        name = max(holding, key=lambda n: len(holding[n]))
        victim["name"], victim["survivor"] = name, next(n for n in holding if n != name)
        rig.processors[name].kill()
        killed = time.monotonic()
        rig.note(f"{name} killed -9 (held sessions {holding[name]})")

        async def taken_over() -> bool:
            now = await rig.owners()
            return all(rig.owner_of(now, s) == victim["survivor"] for s in holding[name])

        while not await taken_over():
            assert time.monotonic() - killed < 60, "the partitions were not taken over"
            await asyncio.sleep(0.2)
        took = time.monotonic() - killed
        rig.note(f"{victim['survivor']} holds them {took:.1f} s later")
        return {"victim_sessions": holding[name], "takeover_s": round(took, 1)}

    checks, details = await run_case(scale_rig, kill_the_busier)
    checks.check(bool(details["victim_sessions"]), "the killed processor was processing a "
                                                   "session (else nothing was taken over)")
    checks.check(details["takeover_s"] < LEASE_S + 5, f"taken over within the lease "
                                                      f"({details['takeover_s']} s)")
    checks.check(scale_rig.processors[victim["survivor"]].alive(), "the survivor still runs")
    assert not checks.failures, _verdict(checks, details, scale_rig)


async def test_nats_node_killed_nothing_is_lost(scale_rig: ScaleRig) -> None:
    async def kill_the_leader(rig: ScaleRig) -> dict[str, Any]:
        leader = rig.cluster.stream_leader()
        assert leader is not None, "no leader of the input stream"
        leader.kill()
        rig.note(f"NATS node {leader.addr.name} (the stream leader) killed -9")
        survivors = [n for n in rig.cluster.nodes if n is not leader]

        def elected() -> bool:
            new = rig.cluster.stream_leader(survivors)
            return new is not None and new is not leader

        took = await until(elected, "a new stream leader", 30)
        rig.note(f"new stream leader after {took:.1f} s")
        await asyncio.sleep(max(0.0, 5.0 - took))
        leader.start()
        rig.note(f"{leader.addr.name} restarted")
        return {"killed": leader.addr.name}

    checks, details = await run_case(scale_rig, kill_the_leader)
    for name, proc in scale_rig.processors.items():
        checks.check(proc.alive(), f"{name} still runs")
    assert not checks.failures, _verdict(checks, details, scale_rig)
