"""The subscriber's batches on a real Mosquitto: buffered reads lose and reorder nothing, one
coalesced PUBACK write acknowledges every message of a batch (the broker does not send them
again to the persistent session), and what was not acknowledged is sent again."""

from __future__ import annotations

import asyncio
import uuid

from footfall.stack.servers import Server
from footfall.wire import mqtt
from footfall.wire.mqtt import BrokerConfig


async def _publish(broker: BrokerConfig, topic: str, payloads: list[bytes]) -> None:
    async with mqtt.client(broker) as pub:
        for payload in payloads:
            await pub.publish(topic, payload, qos=1)


async def _take(broker: BrokerConfig, client_id: str, topic: str, count: int, *,
                acknowledge: bool) -> list[tuple[bytes, int]]:
    """``count`` messages (payload, batch number), acknowledged with ack_all or not at all."""
    got: list[tuple[bytes, int]] = []
    sub = mqtt.client(broker, client_id=client_id, clean_session=False,
                      max_inflight_messages=100, manual_ack=True)
    async with sub:
        await sub.subscribe(topic, qos=1)
        if not count:
            return got  # only the persistent session, for what comes while we are away

        async def read() -> None:
            number = 0
            async for batch in mqtt.batches(sub, 1000):
                number += 1
                got.extend((bytes(m.payload), number) for m in batch  # type: ignore[arg-type]
                           if isinstance(m.payload, bytes))
                if acknowledge:
                    mqtt.ack_all(sub, batch)
                if len(got) >= count:
                    return

        await asyncio.wait_for(read(), 30)
        await asyncio.sleep(0.3)  # the PUBACK write leaves before the DISCONNECT
    return got


async def test_batches_keep_order_and_ack_all_acknowledges(mosquitto: Server) -> None:
    broker = BrokerConfig(mosquitto.host, mosquitto.port)
    topic = f"test/{uuid.uuid4().hex}/batch"
    client_id = f"batch-{uuid.uuid4().hex[:8]}"
    # a 70 kB payload is larger than one buffered read: it spans several
    payloads = [i.to_bytes(4, "big") * (1 + (i % 7 == 0) * 17_500) for i in range(3000)]
    await _take(broker, client_id, topic, 0, acknowledge=True)  # the persistent session
    await _publish(broker, topic, payloads)  # queued by the broker while we are away
    got = await _take(broker, client_id, topic, len(payloads), acknowledge=True)
    assert [p for p, _ in got] == payloads
    assert max(n for _, n in got) < len(payloads)  # some batches held more than one message
    # everything was acknowledged: a new message is the first thing the session gets
    await _publish(broker, topic, [b"next"])
    assert [p for p, _ in await _take(broker, client_id, topic, 1, acknowledge=True)] == \
        [b"next"]


async def test_unacknowledged_messages_come_again(mosquitto: Server) -> None:
    broker = BrokerConfig(mosquitto.host, mosquitto.port)
    topic = f"test/{uuid.uuid4().hex}/again"
    client_id = f"again-{uuid.uuid4().hex[:8]}"
    await _take(broker, client_id, topic, 0, acknowledge=True)
    payloads = [i.to_bytes(2, "big") for i in range(50)]
    await _publish(broker, topic, payloads)
    first = await _take(broker, client_id, topic, len(payloads), acknowledge=False)
    assert [p for p, _ in first] == payloads
    again = await _take(broker, client_id, topic, len(payloads), acknowledge=True)
    assert [p for p, _ in again] == payloads


async def _slow_read(broker: BrokerConfig, client_id: str, topic: str, count: int,
                     limit: int | None) -> tuple[list[bytes], int]:
    """``count`` messages taken 100 per 20 ms at most: (payloads, the most ever queued)."""
    got: list[bytes] = []
    peak = 0
    sub = mqtt.client(broker, client_id=client_id, clean_session=False,
                      max_inflight_messages=100, manual_ack=True, read_ahead=limit)
    async with sub:
        await sub.subscribe(topic, qos=1)

        async def read() -> None:
            nonlocal peak
            async for batch in mqtt.batches(sub, 100):
                peak = max(peak, len(sub.messages) + len(batch))
                await asyncio.sleep(0.02)
                got.extend(bytes(m.payload) for m in batch  # type: ignore[arg-type]
                           if isinstance(m.payload, bytes))
                mqtt.ack_all(sub, batch)
                if len(got) >= count:
                    return

        await asyncio.wait_for(read(), 60)
    return got, peak


async def test_read_ahead_keeps_a_backlog_in_the_broker_and_loses_nothing(
        mosquitto: Server) -> None:
    """A subscriber slower than its input: with ``read_ahead`` its queue stops growing near
    the limit (Mosquitto 2.0.11 sends a client that keeps acknowledging past its in-flight
    window, so without it the whole backlog came into the subscriber's memory), and every
    message still arrives, in order, once the application takes them."""
    broker = BrokerConfig(mosquitto.host, mosquitto.port)
    topic = f"test/{uuid.uuid4().hex}/ahead"
    payloads = [i.to_bytes(4, "big") * 250 for i in range(4000)]  # 1 kB each
    peaks: dict[int | None, int] = {}
    for limit in (None, 200):
        client_id = f"ahead-{uuid.uuid4().hex[:8]}"
        await _take(broker, client_id, topic, 0, acknowledge=True)  # the persistent session
        await _publish(broker, topic, payloads)  # the backlog, waiting in the broker
        got, peaks[limit] = await _slow_read(broker, client_id, topic, len(payloads), limit)
        assert got == payloads
    # one buffered read (64 kB: 64 of these messages) may come on top of the limit
    assert peaks[200] <= 200 + 100 + 70, peaks
    assert peaks[None] > 2 * peaks[200], peaks  # the limit is what holds it
