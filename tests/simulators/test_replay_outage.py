"""``footfall replay`` through a broker kill -9: it says so, waits, and resumes from what the
broker may not have — every message arrives, no traceback, no "never retrieved" noise."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
import uuid
from pathlib import Path

import aiomqtt
import pytest

from footfall.recordings.session_file import iter_messages
from footfall.stack.servers import Server, free_port
from tests.conftest import _require
from tests.faults.harness import footfall_env

pytestmark = pytest.mark.servers


async def test_replay_waits_out_a_killed_broker(short_session: Path, tmp_path: Path) -> None:
    _require("mosquitto")
    broker = Server("mosquitto", tmp_path / "m", "127.0.0.1", free_port())
    broker.start()
    who = f"sub-{uuid.uuid4().hex[:8]}"
    got: set[tuple[str, bytes]] = set()
    connected = asyncio.Event()

    async def subscriber() -> None:  # a persistent session, through the restart
        while True:
            with contextlib.suppress(aiomqtt.MqttError):
                async with aiomqtt.Client(broker.host, broker.port, identifier=who,
                                          clean_session=False) as client:
                    await client.subscribe("footfall/v1/sim/short/#", qos=1)
                    connected.set()
                    async for message in client.messages:
                        got.add((str(message.topic), bytes(message.payload)))  # type: ignore[arg-type]
            await asyncio.sleep(0.1)

    sub = asyncio.create_task(subscriber())
    try:
        await asyncio.wait_for(connected.wait(), 10)
        await asyncio.sleep(2.5)  # the broker has saved the session
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "footfall", "replay", str(short_session), "--speed", "0.5",
            "--mqtt-url", broker.url, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT, env=footfall_env())
        await asyncio.sleep(3.0)  # a few seconds into the 8 s replay
        broker.kill()
        await asyncio.sleep(2.0)
        broker.start()
        out, _ = await asyncio.wait_for(proc.communicate(), 60)
        text = out.decode(errors="replace")
        want = {(str(m.topic), m.payload) for m in iter_messages(short_session)}
        deadline = time.monotonic() + 10
        while not want <= got and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
    finally:
        sub.cancel()
        await asyncio.gather(sub, return_exceptions=True)
        broker.stop()
    assert proc.returncode == 0, text
    assert "lost" in text and "waiting for it" in text and "broker back after" in text, text
    assert "the broker was lost 1 time(s)" in text, text
    assert "Traceback" not in text and "never retrieved" not in text, text
    assert want <= got, f"{len(want - got)} of {len(want)} messages never arrived"
