"""The processor's input connection (footfall.wire.intake) on a real Mosquitto: nothing lost or
reordered however the packets fall into reads, one PUBACK write acknowledges a batch (the
broker does not send those again to the persistent session), what was not acknowledged is sent
again, reading pauses at ``read_ahead``; and a broker that sends garbage or goes away is an
``MqttError``, never a hang."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable

import aiomqtt
import pytest

from footfall.stack.servers import Server
from footfall.wire import mqtt
from footfall.wire.intake import DISCONNECT_WAIT_S, Intake, Received
from footfall.wire.mqtt import BrokerConfig


async def _publish(broker: BrokerConfig, topic: str, payloads: list[bytes], *,
                   qos: int = 1) -> None:
    async with mqtt.client(broker) as pub:
        for payload in payloads:
            await pub.publish(topic, payload, qos=qos)


async def _take(broker: BrokerConfig, client_id: str, topic: str, count: int, *,
                acknowledge: bool, max_batch: int = 1000) -> list[tuple[bytes, int]]:
    """``count`` messages (payload, batch number), acknowledged with ack_all or not at all."""
    got: list[tuple[bytes, int]] = []
    async with Intake(broker, client_id=client_id) as sub:
        await sub.subscribe(topic, qos=1)
        if not count:
            return got  # only the persistent session, for what comes while we are away

        async def read() -> None:
            number = 0
            async for batch in sub.batches(max_batch):
                number += 1
                got.extend((m.payload, number) for m in batch)
                assert all(m.topic == topic and m.qos == 1 and m.packet_id for m in batch)
                if acknowledge:
                    sub.ack_all(batch)
                if len(got) >= count:
                    return

        await asyncio.wait_for(read(), 30)
    return got


async def test_batches_keep_order_and_ack_all_acknowledges(mosquitto: Server) -> None:
    broker = BrokerConfig(mosquitto.host, mosquitto.port)
    topic = f"test/{uuid.uuid4().hex}/batch"
    client_id = f"batch-{uuid.uuid4().hex[:8]}"
    # a 70 kB payload is larger than one read (64 kB): it spans several, and its remaining
    # length takes three bytes
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


async def test_qos0_and_retained(mosquitto: Server) -> None:
    broker = BrokerConfig(mosquitto.host, mosquitto.port)
    topic = f"test/{uuid.uuid4().hex}/retained"
    async with mqtt.client(broker) as pub:
        await pub.publish(topic, b"kept", qos=0, retain=True)
    async with Intake(broker, client_id=f"r-{uuid.uuid4().hex[:8]}", clean_session=True) as sub:
        await sub.subscribe(topic, qos=0)
        batch = await asyncio.wait_for(anext(aiter(sub.batches(10))), 10)
        assert [(m.payload, m.qos, m.packet_id, m.retain) for m in batch] == \
            [(b"kept", 0, 0, True)]
        sub.ack_all(batch)  # nothing to acknowledge at QoS 0


async def _slow_read(broker: BrokerConfig, client_id: str, topic: str, count: int,
                     limit: int) -> tuple[list[bytes], int]:
    """``count`` messages taken 100 per 20 ms at most: (payloads, the most ever waiting)."""
    got: list[bytes] = []
    peak = 0
    async with Intake(broker, client_id=client_id, read_ahead=limit) as sub:
        await sub.subscribe(topic, qos=1)

        async def read() -> None:
            nonlocal peak
            async for batch in sub.batches(100):
                peak = max(peak, sub.waiting + len(batch))
                await asyncio.sleep(0.02)
                got.extend(m.payload for m in batch)
                sub.ack_all(batch)
                if len(got) >= count:
                    return

        await asyncio.wait_for(read(), 60)
    return got, peak


async def test_read_ahead_keeps_a_backlog_in_the_broker_and_loses_nothing(
        mosquitto: Server) -> None:
    """A subscriber slower than its input: with ``read_ahead`` what waits in it stops growing
    near the limit (Mosquitto 2.0.11 sends a client that keeps acknowledging past its
    in-flight window, so without one the whole backlog came into the subscriber's memory),
    and every message still arrives, in order, once the application takes them."""
    broker = BrokerConfig(mosquitto.host, mosquitto.port)
    topic = f"test/{uuid.uuid4().hex}/ahead"
    payloads = [i.to_bytes(4, "big") * 250 for i in range(4000)]  # 1 kB each
    peaks: dict[int, int] = {}
    for limit in (1_000_000, 200):
        client_id = f"ahead-{uuid.uuid4().hex[:8]}"
        await _take(broker, client_id, topic, 0, acknowledge=True)  # the persistent session
        await _publish(broker, topic, payloads)  # the backlog, waiting in the broker
        got, peaks[limit] = await _slow_read(broker, client_id, topic, len(payloads), limit)
        assert got == payloads
    # one read (asyncio's 256 kB: 256 of these messages) may come on top of the limit
    assert peaks[200] <= 200 + 100 + 260, peaks
    assert peaks[1_000_000] > 2 * peaks[200], peaks  # the limit is what holds it


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _serve(handler: Handler) -> tuple[asyncio.Server, BrokerConfig]:
    """A misbehaving "broker" on a free loopback port, and the config to reach it."""
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    return server, BrokerConfig("127.0.0.1", server.sockets[0].getsockname()[1])


async def _hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A "broker" that accepts the CONNECT, reads what comes in the next 0.3 s, and goes."""
    await reader.read(1024)
    writer.write(b"\x20\x02\x00\x00")
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(reader.read(1024), 0.3)  # (a publisher's PUBLISHes)
    writer.close()


async def _fake_broker(reply: bytes) -> tuple[asyncio.Server, BrokerConfig]:
    """A TCP server that answers a CONNECT with a CONNACK, then sends ``reply`` and reads
    whatever comes until the client goes."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1024)  # the CONNECT
        writer.write(b"\x20\x02\x00\x00" + reply)
        await writer.drain()
        with contextlib.suppress(ConnectionError):
            while await reader.read(1024):  # PINGREQs and all: never answered
                pass
        writer.close()

    return await _serve(serve)


@pytest.mark.parametrize("reply", [
    b"\x30\xff\xff\xff\xff\x7f",  # a remaining length over 4 bytes
    b"\x34\x05\x00\x01a\x00\x01",  # QoS 2: never asked for
    b"\x32\x03\x00\x09a",  # a topic longer than its packet
    b"\x30\x04\x00\x02\xff\xfe",  # a topic that is not UTF-8
    b"\x3f\x80\x80\x80\x09",  # 18 MiB announced: over the limit, refused before it comes
    b"\x90\x01\x00",  # a SUBACK too short for its packet id
])
async def test_a_broker_sending_garbage_is_an_error(reply: bytes) -> None:
    server, fake = await _fake_broker(reply)
    async with server:
        intake = Intake(fake, client_id="garbage", timeout_s=5)
        await intake.connect()

        async def take() -> None:
            async for _ in intake.batches(10):
                pass

        with pytest.raises(aiomqtt.MqttError):  # at once: not by a keep-alive running out
            await asyncio.wait_for(take(), 3)
        await intake.disconnect()


async def test_disconnect_waits_for_the_broker_to_close_but_not_for_ever() -> None:
    """After its DISCONNECT the intake reads on until the broker closes (then the broker has
    read the PUBACKs before it), also once a watch on the connection was cancelled; a broker
    that never closes holds it DISCONNECT_WAIT_S."""
    heard = bytearray()
    closed_by_broker = asyncio.Event()

    async def closes_after_disconnect(reader: asyncio.StreamReader,
                                      writer: asyncio.StreamWriter) -> None:
        await reader.read(1024)  # the CONNECT
        writer.write(b"\x20\x02\x00\x00")
        while b"\xe0\x00" not in heard:
            heard.extend(await reader.read(1024))
        writer.write(b"\x32\x06\x00\x01t\x00\x07x")  # still on its way: read and dropped
        await asyncio.sleep(0.2)
        writer.close()
        closed_by_broker.set()

    server, broker = await _serve(closes_after_disconnect)
    async with server:
        intake = Intake(broker, client_id="polite", keepalive_s=0)
        await intake.connect()
        protocol = intake._connected()
        # as the processor does: its watch on the output connection cancelled first
        watch = asyncio.create_task(intake.until_disconnected())
        await asyncio.sleep(0)
        watch.cancel()
        await asyncio.wait([watch])
        intake.ack_all([Received("t", b"x", 1, 7, False)])
        await asyncio.wait_for(intake.disconnect(), 5)
        assert closed_by_broker.is_set()  # it returned after the broker's close
        assert heard == b"\x40\x02\x00\x07\xe0\x00"  # the PUBACK, then the DISCONNECT
        assert not protocol.received

    server, silent = await _fake_broker(b"")  # reads for ever, never closes
    async with server:
        intake = Intake(silent, client_id="kept", keepalive_s=0)
        await intake.connect()
        started = asyncio.get_running_loop().time()
        await asyncio.wait_for(intake.disconnect(), DISCONNECT_WAIT_S + 3)
        assert asyncio.get_running_loop().time() - started >= DISCONNECT_WAIT_S * 0.9


async def test_refused_and_lost() -> None:
    """A CONNACK refusal says why; a broker that goes away ends ``batches`` with an error."""
    server, gone = await _fake_broker(b"")
    server.close()
    await server.wait_closed()
    with pytest.raises(aiomqtt.MqttError, match="cannot connect"):
        await Intake(gone, client_id="x", timeout_s=2).connect()

    async def refuse(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1024)
        writer.write(b"\x20\x02\x00\x05")
        await writer.drain()

    refusing, refuser = await _serve(refuse)
    async with refusing:
        with pytest.raises(aiomqtt.MqttError, match=r"not authorised \(code 5\)"):
            await Intake(refuser, client_id="x", timeout_s=2).connect()

    closing, hanging_up = await _serve(_hang_up)
    async with closing:
        intake = Intake(hanging_up, client_id="lost", timeout_s=5)
        await intake.connect()
        with pytest.raises(aiomqtt.MqttError, match="lost"):
            await asyncio.wait_for(anext(aiter(intake.batches(10))), 10)
        await intake.disconnect()


async def test_keep_alive(mosquitto: Server) -> None:
    """Idle for 4 keep-alives, the PINGREQs keep a real broker's connection open; a server
    that never answers them is given up after two silent keep-alives."""
    broker = BrokerConfig(mosquitto.host, mosquitto.port)
    topic = f"test/{uuid.uuid4().hex}/alive"
    async with Intake(broker, client_id=f"alive-{uuid.uuid4().hex[:8]}", keepalive_s=1,
                      clean_session=True) as sub:
        await sub.subscribe(topic, qos=1)
        await asyncio.sleep(4)  # Mosquitto drops a client silent for 1.5 keep-alives
        await _publish(broker, topic, [b"still here"])
        batch = await asyncio.wait_for(anext(aiter(sub.batches(10))), 10)
        assert [m.payload for m in batch] == [b"still here"]
        sub.ack_all(batch)

    server, deaf = await _fake_broker(b"")  # answers the CONNECT, then nothing
    async with server:
        intake = Intake(deaf, client_id="deaf", keepalive_s=1)
        await intake.connect()
        with pytest.raises(aiomqtt.MqttError, match="no answer"):
            await asyncio.wait_for(anext(aiter(intake.batches(10))), 10)
        await intake.disconnect()


async def test_a_backlog_before_the_subscriptions_does_not_stop_them(mosquitto: Server) -> None:
    """A persistent session's backlog arrives right after the CONNACK, before the SUBACKs:
    reading must not pause then (nothing takes messages until the subscriptions are made),
    or the SUBACK is never read and every reconnect times out the same way."""
    broker = BrokerConfig(mosquitto.host, mosquitto.port)
    topic = f"test/{uuid.uuid4().hex}/backlog"
    client_id = f"backlog-{uuid.uuid4().hex[:8]}"
    await _take(broker, client_id, topic, 0, acknowledge=True)  # the persistent session
    payloads = [i.to_bytes(4, "big") * 50 for i in range(500)]
    await _publish(broker, topic, payloads)
    got: list[bytes] = []
    async with Intake(broker, client_id=client_id, read_ahead=20, timeout_s=3) as sub:
        await sub.subscribe(topic, qos=1)
        await sub.subscribe(f"{topic}/other", qos=1)  # a second one, after the backlog began

        async def read() -> None:
            async for batch in sub.batches(10):
                got.extend(m.payload for m in batch)
                sub.ack_all(batch)
                if len(got) >= len(payloads):
                    return

        await asyncio.wait_for(read(), 30)
    assert got == payloads


async def test_a_downgraded_subscription_is_refused() -> None:
    """A SUBACK granting QoS 0 for QoS 1 would mean nothing is ever sent again."""

    async def grant_zero(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1024)  # CONNECT
        writer.write(b"\x20\x02\x00\x00")
        packet = await reader.read(1024)  # SUBSCRIBE: its packet id follows the fixed header
        writer.write(b"\x90\x03" + packet[2:4] + b"\x00")
        await writer.drain()
        await reader.read(1024)

    server, granting = await _serve(grant_zero)
    async with server:
        intake = Intake(granting, client_id="qos", timeout_s=3)
        await intake.connect()
        with pytest.raises(aiomqtt.MqttError, match="granted QoS 0"):
            await intake.subscribe("a/b", qos=1)
        await intake.disconnect()


async def test_publish_many_reaches_subscribers_in_order_and_retains(mosquitto: Server) -> None:
    """The processor's output: batches of QoS 1 PUBLISHes in one write each, acknowledged;
    a retained one is what a later subscriber gets first."""
    broker = BrokerConfig(mosquitto.host, mosquitto.port)
    topic = f"test/{uuid.uuid4().hex}/out"
    payloads = [i.to_bytes(4, "big") * (1 + (i % 50 == 0) * 40_000) for i in range(700)]
    got: list[bytes] = []
    async with mqtt.client(broker) as sub:
        await sub.subscribe(topic, qos=1)

        async def read() -> None:
            async for message in sub.messages:
                assert isinstance(message.payload, bytes)
                got.append(message.payload)
                if len(got) == len(payloads):
                    return

        reader = asyncio.create_task(read())
        async with Intake(broker, client_id=f"out-{uuid.uuid4().hex[:8]}",
                          clean_session=True) as out:
            for i in range(0, len(payloads), 100):  # ids wrap past 65535 in a long run: fine
                await out.publish_many([(topic, p, False) for p in payloads[i:i + 100]])
            await out.publish_many([(topic + "/state", b"last", True)])
            assert not out._connected().pubacks  # every one acknowledged
        await asyncio.wait_for(reader, 30)
    assert got == payloads
    async with mqtt.client(broker) as late:
        await late.subscribe(topic + "/state", qos=1)
        message = await asyncio.wait_for(anext(aiter(late.messages)), 10)
        assert message.payload == b"last" and message.retain


async def test_publish_many_without_pubacks_is_an_error() -> None:
    """A broker that never acknowledges, or goes away, fails the batch (the processor keeps it
    for the next connection) instead of waiting for ever."""
    server, silent = await _fake_broker(b"")
    async with server:
        out = Intake(silent, client_id="silent", timeout_s=1, keepalive_s=0)
        await out.connect()
        with pytest.raises(aiomqtt.MqttError, match="no PUBACK for 3 of 3"):
            await asyncio.wait_for(out.publish_many([("t", b"x", False)] * 3), 5)
        assert not out._connected().pubacks
        await out.disconnect()

    closing, hanging_up = await _serve(_hang_up)
    async with closing:
        out = Intake(hanging_up, client_id="lost", timeout_s=5)
        await out.connect()
        lost = asyncio.create_task(out.until_disconnected())
        with pytest.raises(aiomqtt.MqttError, match="lost"):
            await asyncio.wait_for(out.publish_many([("t", b"x", False)] * 3), 5)
        with pytest.raises(aiomqtt.MqttError, match="lost"):
            await asyncio.wait_for(lost, 5)
        await out.disconnect()
