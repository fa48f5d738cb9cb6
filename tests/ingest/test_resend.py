"""The resend window: a broker killed before its next autosave loses what it had acknowledged
(here: what it queued for an offline persistent subscriber); the gateway's publisher sends it
again from its spool after the reconnect, so the subscriber still gets everything."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import aiomqtt
import pytest

from footfall.ingest.publisher import Backoff, SpoolPublisher
from footfall.ingest.spool import Record, Spool
from footfall.wire.mqtt import BrokerConfig

from .conftest import Broker

pytestmark = pytest.mark.servers


async def received(broker: Broker, who: str, topic: str, want: int,
                   timeout_s: float = 5.0) -> set[bytes]:
    got: set[bytes] = set()
    async with aiomqtt.Client(broker.host, broker.port, identifier=who,
                              clean_session=False) as client:
        await client.subscribe(topic, qos=1)

        async def collect() -> None:
            async for message in client.messages:
                got.add(bytes(message.payload))  # type: ignore[arg-type]
        task = asyncio.create_task(collect())
        deadline = time.monotonic() + timeout_s
        while len(got) < want and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        task.cancel()
    return got


@pytest.mark.parametrize("window_s", [10.0, 0.0])
async def test_resend_window_refills_what_a_killed_broker_lost(
        ingest_broker: Broker, tmp_path: Path, window_s: float) -> None:
    who, topic = f"sub-{uuid.uuid4().hex[:8]}", f"footfall/v1/a/s{uuid.uuid4().hex[:6]}/d/imu"
    await received(ingest_broker, who, topic, 0, 0)  # a persistent session, then offline
    await asyncio.sleep(2.5)  # ... that the broker has saved
    spool = Spool(tmp_path / "spool")
    publisher = SpoolPublisher(
        BrokerConfig(ingest_broker.host, ingest_broker.port, resend_window_s=window_s), spool,
        "test-gateway", topic.replace("/imu", "/status"), b"{}",
        backoff=Backoff(initial_s=0.05, max_s=0.2))
    task = asyncio.create_task(publisher.run())
    try:
        for i in range(20):
            spool.append(Record(topic, i.to_bytes(2, "little")))
        deadline = time.monotonic() + 10
        while spool.pending and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        assert spool.pending == 0 and publisher.stats.published == 20
        ingest_broker.kill()  # well within the autosave interval: the queue was not saved
        ingest_broker.start()
        deadline = time.monotonic() + 10
        while publisher.stats.connects < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.5)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    got = await received(ingest_broker, who, topic, 20)
    if window_s:
        assert publisher.stats.resent == 20 and publisher.stats.published == 20
        assert got == {i.to_bytes(2, "little") for i in range(20)}
    else:  # off: only what was never acknowledged would be sent again (here: nothing), so
        # the subscriber keeps what the broker saved — usually nothing (an autosave rarely
        # falls between the last PUBACK and the kill)
        assert publisher.stats.resent == 0
    spool.close()
