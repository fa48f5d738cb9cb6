"""A hostile-message corpus from a non-processor client while a real session streams.

The real session's steps must all be stored; every malformed message must be in the
quarantine with a reason; the processor must stay up with a fresh heartbeat, and stay up
across a restart (a retained bad meta is delivered again then).
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import time
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from footfall.service import health
from tests.faults.cases import CaseResult, record
from tests.faults.corpus import Hostile, corpus
from tests.faults.harness import (
    DEVICES,
    Checks,
    Rig,
    compare,
    observing,
    timeline_text,
    until,
    verdict,
)

pytestmark = [pytest.mark.faults, pytest.mark.servers]

SESSION_S, SPEED = 80.0, 4.0
#: three missed beats (health.INTERVAL_S apart) make a stuck processor, not a busy one
MAX_BEAT_AGE_S = 3 * health.INTERVAL_S


def matches(record: dict[str, Any], items: list[Hostile]) -> list[str]:
    """The hostile messages a quarantine record is (it may keep only the first bytes of a long
    payload or topic, with the payload's full length)."""
    source, kept = str(record.get("source", "")), str(record.get("payload_hex", ""))
    size = record.get("payload_bytes")
    return [h.name for h in items if source and h.topic.startswith(source)
            and h.payload.hex().startswith(kept)
            and (len(h.payload) == size if size is not None else h.payload.hex() == kept)]


def quarantined(folder: Path) -> list[dict[str, Any]]:
    """Every record in the quarantine, rotated (and gzipped) files included."""
    out = []
    for path in sorted(folder.rglob("*.jsonl*")) if folder.exists() else []:
        data = path.read_bytes()
        if path.suffix == ".gz":
            data = gzip.decompress(data)
        for line in data.decode(errors="replace").splitlines():
            with contextlib.suppress(ValueError):
                out.append(json.loads(line))
    return out


class Watch:
    """The processor's pulse, twice a second: alive? how old is its heartbeat?"""

    def __init__(self, rig: Rig) -> None:
        self.rig = rig
        self.max_age_s = 0.0
        self.stuck: set[str] = set()  # what the processor's watchdog said it was stuck on
        self.died: list[float] = []
        self.paused = False  # while it is restarted on purpose

    async def run(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            if self.paused or self.rig.processor is None:
                continue
            beat = self.rig.heartbeat()
            if beat is not None:
                self.max_age_s = max(self.max_age_s, (time.time_ns() - beat["time_ns"]) / 1e9)
                if isinstance(beat.get("stuck"), dict):
                    self.stuck.add(str(beat["stuck"].get("message")))
            if not self.rig.processor.alive() and not self.died:
                self.died.append(time.monotonic() - self.rig.t0)


def crash_text(output: str) -> str:
    """The exception a crashed processor's log ends with."""
    lines = [line for line in output.splitlines() if line.strip()]
    tail = [line for line in lines if "Error" in line or "Exception" in line]
    return tail[-1].strip()[:200] if tail else (lines[-1][:200] if lines else "")


async def publish(rig: Rig, items: list[Hostile]) -> None:
    async with aiomqtt.Client(rig.mosquitto.host, rig.mosquitto.port,
                              identifier="mallory-ingest", timeout=10) as client:
        for item in items:
            await client.publish(item.topic, item.payload, qos=1, retain=item.retain)


async def publish_oversized(rig: Rig, items: list[Hostile]) -> None:
    """The broker refuses these and drops the connection: nothing to assert but survival."""
    for item in items:
        with contextlib.suppress(aiomqtt.MqttError):
            async with aiomqtt.Client(rig.mosquitto.host, rig.mosquitto.port,
                                      identifier="mallory-big", timeout=5) as client:
                await client.publish(item.topic, item.payload, qos=1)


async def test_hostile_corpus_while_a_session_streams(rig: Rig) -> None:
    checks = Checks()
    items = corpus()
    delivered = [h for h in items if h.reaches_processor]
    required = [h for h in delivered if h.must_quarantine]
    folder = rig.processor_state / "quarantine"
    for server in (rig.mosquitto, rig.influxdb):
        server.start()
    processor = rig.start_processor()
    await rig.processor_connected(0)
    watch = Watch(rig)
    watcher = asyncio.create_task(watch.run())
    try:
        async with observing(rig) as observer:
            await asyncio.wait_for(observer.connected.wait(), 10)
            gateway = rig.start_gateway(SESSION_S, speed=SPEED)
            await until(lambda: observer.back_since(0) >= set(DEVICES), "both sensors streaming",
                        60)
            await asyncio.sleep(4)
            rig.t0 = time.monotonic()
            await publish(rig, delivered)
            await publish_oversized(rig, [h for h in items if not h.reaches_processor])
            rig.note(f"{len(items)} hostile messages sent ({len(required)} malformed, "
                     f"{len(items) - len(delivered)} over the broker's size limit)")
            code = await gateway.wait(SESSION_S / SPEED + 120)
            checks.check(code == 0, f"the real session's gateway finished (exit code {code})")

        # ---- the real session is complete
        expected = rig.expected_steps()
        stored = await rig.settled_steps(sum(len(v) for v in expected.values()))
        count = compare(expected, stored)
        checks.steps(count)

        # ---- every malformed message is set aside with a reason
        def kept() -> set[str]:
            return {name for r in quarantined(folder) if r.get("reason")
                    for name in matches(r, required)}
        names = {h.name for h in required}
        with contextlib.suppress(AssertionError):
            await until(lambda: names <= kept(), "the quarantine", 20, 0.5)
        absent = sorted(names - kept())
        checks.check(not absent, f"every malformed message quarantined with a reason: "
                                 f"{len(absent)} not, e.g. {absent[:4]}")
        alive = processor.alive()
        beat = rig.heartbeat()
        age_s = (time.time_ns() - beat["time_ns"]) / 1e9 if beat else float("inf")
        rig.note(f"{len(required) - len(absent)}/{len(required)} malformed messages "
                 "quarantined; processor "
                 + ((f"running, heartbeat {age_s:.0f} s old" + (" (stuck)" if age_s >
                                                                 MAX_BEAT_AGE_S else ""))
                    if alive else f"exited with {processor.returncode}: "
                    f"{crash_text(processor.output())}"))
        checks.check(alive, f"the processor stays up (exit code {processor.returncode}: "
                            f"{crash_text(processor.output())})")

        # ---- a restart meets the retained bad meta again, and must survive it too
        watch.paused = True
        before = sum(1 for r in quarantined(folder) if "evil-retained" in r.get("source", ""))
        stopped = await processor.terminate(20)
        checks.check(stopped, "the processor stops on SIGTERM within 20 s (it ignores it "
                              "while stuck)")
        restarted_ns = time.time_ns()
        processor.start()
        try:
            await rig.processor_connected(restarted_ns)
            watch.paused = False
            await asyncio.sleep(2 * health.INTERVAL_S)
        except AssertionError:
            pass
        again = sum(1 for r in quarantined(folder) if "evil-retained" in r.get("source", ""))
        checks.check(again > before, "after a restart the retained bad meta is quarantined "
                                     f"again ({before} → {again})")
        checks.check(processor.alive(), "the restarted processor stays up (exit code "
                                        f"{processor.returncode}: "
                                        f"{crash_text(processor.output())})")
        rig.note("restarted: " + ("stopped on SIGTERM" if stopped else "ignored SIGTERM")
                 + (", up again" if processor.alive() else
                    f", exited again ({crash_text(processor.output())})"))
        beat_ok = rig.heartbeat() is not None and health.check(rig.processor_state) is None
        checks.check(beat_ok, f"healthy after the restart: {health.check(rig.processor_state)}")
    finally:
        watcher.cancel()
    checks.check(watch.max_age_s <= MAX_BEAT_AGE_S,
                 f"the heartbeat never older than {MAX_BEAT_AGE_S:.0f} s (it reached "
                 f"{watch.max_age_s:.0f} s)")
    checks.check(not watch.stuck, f"never stuck on a message (the watchdog named "
                                  f"{sorted(watch.stuck)})")
    rig.note(f"heartbeat at most {watch.max_age_s:.0f} s old"
             + (f"; watchdog: stuck on {sorted(watch.stuck)}" if watch.stuck else ""))
    result = CaseResult("hostile-corpus", not checks.failures, timeline_text(rig), count, None,
                        checks.failures,
                        {"messages": len(items), "malformed": len(required),
                         "not_quarantined": absent, "max_heartbeat_age_s": watch.max_age_s})
    record(result)
    assert result.passed, verdict(result, rig)
