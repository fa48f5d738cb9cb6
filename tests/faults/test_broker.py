"""The broker dies (kill -9) mid-run and comes back 3 s later, in both reconnect orders.

Whoever reconnects first, nothing may be lost: the broker's persistence (autosave) must keep
the processor's session and what was queued for it, and the gateways must resend what the
broker acknowledged but may not have saved. ``FOOTFALL_FAULTS_RESEND_WINDOW_S`` sets the
gateways' resend window (e.g. 0, to see what it saves).
"""

from __future__ import annotations

import asyncio
import signal
import time

import pytest

from tests.faults.harness import DEVICES, Observer, Proc, Rig, streamed_case, until, verdict

pytestmark = [pytest.mark.faults, pytest.mark.servers]

SESSION_S, SPEED = 120.0, 4.0  # 30 s of wall time
OUTAGE_S = 3.0
BEHIND_S = 3.0  # gateways-first: the processor stops reading this long before the kill


async def processor_first(rig: Rig, observer: Observer, gateway: Proc, processor: Proc) -> float:
    rig.mosquitto.kill()
    rig.note("broker killed -9")
    await asyncio.sleep(OUTAGE_S)
    gateway.signal(signal.SIGSTOP)  # held back until the processor is in
    restarted, restarted_ns = time.monotonic(), time.time_ns()
    rig.mosquitto.start()
    rig.note("broker restarted")
    took = await rig.processor_connected(restarted_ns)
    rig.note(f"processor back {took:.1f} s later")
    gateway.signal(signal.SIGCONT)
    await until(lambda: observer.back_since(restarted) >= set(DEVICES), "the gateways back", 60)
    rig.note("then the gateways (held back until then)")
    return time.monotonic()


async def gateways_first(rig: Rig, observer: Observer, gateway: Proc, processor: Proc) -> float:
    # held back from before the kill until the gateways have emptied their spools: the broker
    # holds a queue for it, not all of it saved when it dies
    processor.signal(signal.SIGSTOP)
    rig.note("processor paused")
    await asyncio.sleep(BEHIND_S)
    rig.mosquitto.kill()
    rig.note("broker killed -9")
    await asyncio.sleep(OUTAGE_S)
    restarted = time.monotonic()
    rig.mosquitto.start()
    rig.note("broker restarted")
    took = await until(lambda: observer.back_since(restarted) >= set(DEVICES),
                       "the gateways back", 60)
    rig.note(f"gateways back {took:.1f} s later, spools emptied")
    await asyncio.sleep(4.0)  # their spools drain into the broker meanwhile
    resumed, resumed_ns = time.monotonic(), time.time_ns()
    processor.signal(signal.SIGCONT)
    took = await rig.processor_connected(resumed_ns)
    rig.note(f"processor resumed, back in {took:.1f} s")
    return resumed


async def test_broker_kill_processor_reconnects_first(rig: Rig) -> None:
    result = await streamed_case(rig, "broker-kill-processor-first", processor_first,
                                 session_s=SESSION_S, speed=SPEED)
    assert result.passed, verdict(result, rig)


async def test_broker_kill_gateways_reconnect_first(rig: Rig) -> None:
    result = await streamed_case(rig, "broker-kill-gateways-first", gateways_first,
                                 session_s=SESSION_S, speed=SPEED)
    assert result.passed, verdict(result, rig)
