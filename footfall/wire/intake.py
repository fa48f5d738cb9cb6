"""The processor's connections: a lean MQTT 3.1.1 client for one busy QoS 1 stream each way.

Every other client is aiomqtt (footfall.wire.mqtt). This one is not, because at a thousand
sensors the processor takes 40,000 messages a second and paho's Python packet reader, its
``MQTTMessage`` objects and aiomqtt's per-message queue cost ~25 µs each, the whole per-message
budget (docs/benchmarks.md, "The input connection"; ``benchmarks/bench_intake.py``). Here one
``data_received`` parses every complete PUBLISH in what the socket gave, with a cached topic
per name, into one list the processor takes in batches.

It does only what the processor needs: CONNECT (credentials, TLS, a persistent session),
SUBSCRIBE at QoS ≤ 1, PUBLISH received at QoS 0 or 1 and acknowledged by the application
(:meth:`Intake.ack_all`: once a message is analysed and journalled, one write for a batch),
PUBLISH sent at QoS 1 (:meth:`Intake.publish_many`: the derived events, a batch in one write;
aiomqtt's publish costs ~30 µs each, and a thousand sensors make ~3,000 events a second),
PINGREQ, DISCONNECT. Errors are ``aiomqtt.MqttError``, as from every other client, so the
processor's reconnect loop is the same.

``read_ahead``: reading stops while that many received messages wait for the application, so
a backlog waits in the broker (whose in-flight window then fills) and not in this process.
"""

from __future__ import annotations

import asyncio
import ssl
import struct
import time
from collections.abc import AsyncIterator, Sequence
from typing import NamedTuple

import aiomqtt

from footfall.wire.mqtt import BrokerConfig

#: CONNACK return codes (MQTT 3.1.1, 3.2.2.3)
_REFUSED = {1: "unacceptable protocol version", 2: "identifier rejected",
            3: "server unavailable", 4: "bad user name or password", 5: "not authorised"}
_PUBACK = struct.Struct("!BBH")
_PINGREQ = b"\xc0\x00"
#: a PUBLISH's first byte at QoS 1: not retained, retained
_PUBLISH_QOS1 = (b"\x32", b"\x33")
_DISCONNECT = b"\xe0\x00"
#: a remaining length the broker would never send us: 4 × the one generated Mosquitto
#: config's max_packet_size (256 KiB), so no message it lets through is refused here
MAX_PACKET_BYTES = 1024 * 1024
#: reading also pauses once this many payload bytes wait (the count limit alone would let a
#: broker of large messages fill memory)
READ_AHEAD_BYTES = 32 * 1024 * 1024
#: topic names cached (str per name): the processor sees a few per device
TOPIC_CACHE = 65536
#: how long :meth:`Intake.disconnect` waits for the broker to close after our DISCONNECT
DISCONNECT_WAIT_S = 2.0


class Received(NamedTuple):
    """One PUBLISH from the broker. ``packet_id`` is 0 at QoS 0. (A tuple: a frozen dataclass
    costs ~1 µs more to make, per message.)"""

    topic: str
    payload: bytes
    qos: int
    packet_id: int
    retain: bool


def utf8_field(text: str) -> bytes:
    """An MQTT UTF-8 string: its length in two bytes, then the bytes (also the load
    generator's, benchmarks/loadgen.py)."""
    raw = text.encode()
    return struct.pack("!H", len(raw)) + raw


def remaining_length(n: int) -> bytes:
    """An MQTT fixed header's remaining length: 7 bits a byte, the high bit for "more"."""
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _packet(first: int, body: bytes) -> bytes:
    return bytes([first]) + remaining_length(len(body)) + body


class _Acks:
    """PUBACKs a :meth:`Intake.publish_many` waits for."""

    __slots__ = ("done", "left")

    def __init__(self, left: int, done: asyncio.Future[None]) -> None:
        self.left, self.done = left, done


class _Protocol(asyncio.Protocol):
    """Parses what the broker sends; every PUBLISH goes into ``received``."""

    def __init__(self, read_ahead: int) -> None:
        self.read_ahead = read_ahead
        self.received: list[Received] = []
        self.waiting_bytes = 0  # payload bytes in ``received``
        self.transport: asyncio.Transport | None = None
        self.paused = False
        self.error: aiomqtt.MqttError | None = None
        self.connack: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.subacks: dict[int, asyncio.Future[bytes]] = {}
        self.pubacks: dict[int, _Acks] = {}  # per packet id of ours not yet acknowledged
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.wakeup: asyncio.Future[None] | None = None
        self.heard = True  # any packet since the last keep-alive check
        self.closing = False  # DISCONNECT sent: what still comes is read and dropped
        self._buffer = bytearray()
        self._topics: dict[bytes, str] = {}

    # -- asyncio ------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return  # not acknowledged: the broker sends it again to the persistent session
        buf = self._buffer
        buf += data
        try:
            used = self._parse(buf)
        except aiomqtt.MqttError as exc:
            self._fail(exc)
            return
        if used:
            del buf[:used]
        self.heard = True
        # never while the CONNACK or a SUBACK is awaited: a persistent session's backlog comes
        # before them, and nothing takes messages until the subscriptions are made
        if not self.paused and self.transport and self.connack.done() and not self.subacks \
                and (len(self.received) >= self.read_ahead
                     or self.waiting_bytes >= READ_AHEAD_BYTES):
            self.transport.pause_reading()
            self.paused = True
        self._wake()

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(aiomqtt.MqttError(f"connection to the broker lost: {exc or 'closed'}"))

    # -- parsing ------------------------------------------------------------------------------

    def _parse(self, buf: bytearray) -> int:
        """Handle every complete packet in ``buf``; returns the bytes they took."""
        at, size = 0, len(buf)
        received, topics = self.received, self._topics
        while size - at >= 2:
            first = buf[at]
            length, shift, i = 0, 0, at + 1
            while True:
                if i >= size:
                    return at  # the length is still coming
                byte = buf[i]
                length |= (byte & 0x7F) << shift
                i += 1
                if not byte & 0x80:
                    break
                shift += 7
                if shift > 21:
                    raise aiomqtt.MqttError("malformed packet from the broker: remaining "
                                            "length over 4 bytes")
            if length > MAX_PACKET_BYTES:
                raise aiomqtt.MqttError(f"packet of {length} bytes from the broker: over the "
                                        f"{MAX_PACKET_BYTES}-byte limit")
            end = i + length
            if end > size:
                return at  # the body is still coming
            kind = first >> 4
            if kind == 3:  # PUBLISH
                qos = (first >> 1) & 3
                if qos > 1 or length < 2:
                    raise aiomqtt.MqttError(f"unexpected PUBLISH (QoS {qos}, {length} bytes): "
                                            "this connection subscribes at QoS 1 at most")
                name_end = i + 2 + ((buf[i] << 8) | buf[i + 1])
                if name_end + (2 if qos else 0) > end:
                    raise aiomqtt.MqttError("malformed PUBLISH from the broker: its topic and "
                                            "packet id are longer than the packet")
                name = bytes(buf[i + 2:name_end])
                topic = topics.get(name)
                if topic is None:
                    try:
                        topic = name.decode()
                    except UnicodeDecodeError as exc:
                        raise aiomqtt.MqttError("PUBLISH with a topic that is not UTF-8") \
                            from exc
                    if len(topics) >= TOPIC_CACHE:
                        topics.clear()
                    topics[name] = topic
                packet_id = 0
                if qos:
                    packet_id = (buf[name_end] << 8) | buf[name_end + 1]
                    name_end += 2
                received.append(Received(topic, bytes(buf[name_end:end]), qos, packet_id,
                                         bool(first & 1)))
                self.waiting_bytes += end - name_end
            elif kind == 2:  # CONNACK
                if not self.connack.done():
                    self.connack.set_result(buf[i + 1] if length >= 2 else 255)
            elif kind == 4:  # PUBACK
                if length < 2:
                    raise aiomqtt.MqttError(f"malformed PUBACK from the broker ({length} bytes)")
                acks = self.pubacks.pop((buf[i] << 8) | buf[i + 1], None)
                if acks is not None:
                    acks.left -= 1
                    if not acks.left and not acks.done.done():
                        acks.done.set_result(None)
            elif kind == 9:  # SUBACK
                if length < 3:
                    raise aiomqtt.MqttError(f"malformed SUBACK from the broker ({length} bytes)")
                waiter = self.subacks.pop((buf[i] << 8) | buf[i + 1], None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(bytes(buf[i + 2:end]))
            # PINGRESP (13) and anything else: only heard
            at = end
        return at

    # -- the application side ------------------------------------------------------------------

    def take(self, max_messages: int) -> list[Received]:
        batch = self.received[:max_messages]
        del self.received[:max_messages]
        self.waiting_bytes -= sum(len(m.payload) for m in batch)
        if self.paused and len(self.received) < self.read_ahead \
                and self.waiting_bytes < READ_AHEAD_BYTES and self.transport:
            self.paused = False
            self.transport.resume_reading()
        return batch

    def _fail(self, exc: aiomqtt.MqttError) -> None:
        if self.error is None:
            self.error = exc
        self.received.clear()  # never acknowledged: the broker sends them again
        self.waiting_bytes = 0
        waiters: list[asyncio.Future[int] | asyncio.Future[bytes] | asyncio.Future[None]] = [
            self.connack, *self.subacks.values(), *(a.done for a in self.pubacks.values())]
        for future in waiters:
            if not future.done():
                future.set_exception(exc)
        self.subacks.clear()
        self.pubacks.clear()
        if not self.lost.done():
            self.lost.set_result(None)
        if self.transport is not None:
            self.transport.abort()
        self._wake()

    def _wake(self) -> None:
        if self.wakeup is not None and not self.wakeup.done():
            self.wakeup.set_result(None)


class _Batches:
    """:meth:`Intake.batches`. (An iterator class, not an async generator: mypyc compiles
    this module, and it does not compile async generators.)"""

    def __init__(self, intake: Intake, max_messages: int) -> None:
        self.intake, self.max_messages = intake, max_messages

    def __aiter__(self) -> _Batches:
        return self

    async def __anext__(self) -> list[Received]:
        intake = self.intake
        while True:
            protocol = intake._connected()
            if protocol.received:
                return protocol.take(self.max_messages)
            protocol.wakeup = asyncio.get_running_loop().create_future()
            intake._idle_since = since = time.monotonic()
            try:
                await protocol.wakeup
            finally:
                intake._idle_s += time.monotonic() - since
                intake._idle_since = None


class Intake:
    """``async with Intake(broker, client_id=…) as intake``: connected; then :meth:`subscribe`,
    and ``async for batch in intake.batches(n)`` with :meth:`ack_all` once each is safe."""

    def __init__(self, broker: BrokerConfig, *, client_id: str, clean_session: bool = False,
                 keepalive_s: int = 30, timeout_s: float = 10.0, read_ahead: int = 2000) -> None:
        self.broker = broker
        self.client_id = client_id
        self.clean_session = clean_session
        self.keepalive_s = keepalive_s
        self.timeout_s = timeout_s
        self.read_ahead = read_ahead
        self._protocol: _Protocol | None = None
        self._keepalive: asyncio.Task[None] | None = None
        self._packet_id = 0
        self._names: dict[str, bytes] = {}  # topics published to, as MQTT strings
        self._idle_s = 0.0  # (idle_s)
        self._idle_since: float | None = None

    # -- connecting ----------------------------------------------------------------------------

    async def __aenter__(self) -> Intake:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.disconnect()

    async def connect(self) -> None:
        config = self.broker
        loop = asyncio.get_running_loop()
        context = config.tls_context()
        try:
            async with asyncio.timeout(self.timeout_s):
                _, protocol = await loop.create_connection(  # asyncio sets TCP_NODELAY
                    lambda: _Protocol(self.read_ahead), config.host, config.port,
                    ssl=context, server_hostname=config.host if context else None)
                self._protocol = protocol
                self._send(self._connect_packet())
                code = await protocol.connack
        except (OSError, ssl.SSLError, TimeoutError) as exc:
            self._close()
            # (the processor's retry line already names the broker)
            raise aiomqtt.MqttError(f"cannot connect: {exc or 'timed out'}") from exc
        except aiomqtt.MqttError:
            self._close()
            raise
        if code != 0:
            self._close()
            # (not MqttCodeError: its text is paho's, "The connection was refused.")
            raise aiomqtt.MqttError(f"{config.url} refused the connection: "
                                    f"{_REFUSED.get(code, 'reason unknown')} (code {code})")
        if self.keepalive_s > 0:  # 0: none (MQTT's "off")
            self._keepalive = asyncio.create_task(self._keep_alive())

    def _connect_packet(self) -> bytes:
        config = self.broker
        flags = 0x02 if self.clean_session else 0
        payload = utf8_field(self.client_id)
        if config.username is not None:
            flags |= 0x80
            payload += utf8_field(config.username)
            if config.password is not None:
                flags |= 0x40
                payload += utf8_field(config.password)
        return _packet(0x10, utf8_field("MQTT") + bytes([4, flags])
                       + struct.pack("!H", self.keepalive_s) + payload)

    async def disconnect(self) -> None:
        task, self._keepalive = self._keepalive, None
        if task is not None:
            task.cancel()
            await asyncio.wait([task])  # (not awaiting it: our own cancellation stays ours)
            if not task.cancelled():
                task.exception()  # retrieved: a keep-alive that ended on an error is reported
                # by batches()
        protocol = self._protocol
        if protocol is not None and protocol.error is None and protocol.transport is not None:
            # then wait for the broker to close: it has read our last PUBACKs by then. Closing
            # at once lost them now and then (the broker sent those messages again to the
            # next connection of this session: 4 runs in 25 of test_intake's ack_all test, 0 in
            # 75 since); a close with unread bytes in our socket is a reset, which can drop
            # what the broker has not read yet
            protocol.closing = True
            protocol.received.clear()
            protocol.waiting_bytes = 0
            if protocol.paused:
                protocol.paused = False
                protocol.transport.resume_reading()
            protocol.transport.write(_DISCONNECT)
            try:
                await asyncio.wait([protocol.lost], timeout=min(self.timeout_s, DISCONNECT_WAIT_S))
            finally:
                self._close()
            return
        self._close()

    def _close(self) -> None:
        protocol = self._protocol
        if protocol is not None and protocol.transport is not None:
            protocol.transport.close()

    async def _keep_alive(self) -> None:
        """A PINGREQ every keep-alive; a broker heard from not once in two of them is gone
        (while reading is paused nothing is heard, and nothing is judged)."""
        protocol = self._connected()
        silent = 0
        while protocol.error is None:  # a lost connection is reported by batches(), not here
            await asyncio.sleep(self.keepalive_s)
            if protocol.error is not None:
                return
            if protocol.heard or protocol.paused:
                silent, protocol.heard = 0, False
            else:
                silent += 1
                if silent >= 2:
                    protocol._fail(aiomqtt.MqttError(
                        f"no answer from {self.broker.url} for {2 * self.keepalive_s} s"))
                    return
            self._send(_PINGREQ)

    # -- subscribing and receiving ----------------------------------------------------------------

    def _connected(self) -> _Protocol:
        protocol = self._protocol
        if protocol is None:
            raise aiomqtt.MqttError("not connected")
        if protocol.error is not None:
            raise protocol.error
        return protocol

    def _send(self, data: bytes) -> None:
        protocol = self._connected()
        if protocol.transport is None:
            raise aiomqtt.MqttError("not connected")
        protocol.transport.write(data)

    async def subscribe(self, topic: str, qos: int = 1) -> None:
        if qos not in (0, 1):
            raise ValueError(f"this connection subscribes at QoS 0 or 1, not {qos}")
        protocol = self._connected()
        self._packet_id = self._packet_id % 65535 + 1
        waiter: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        protocol.subacks[self._packet_id] = waiter
        if protocol.paused and protocol.transport is not None:
            # a backlog paused reading after an earlier subscription: the SUBACK is behind it
            protocol.paused = False
            protocol.transport.resume_reading()
        self._send(_packet(0x82, struct.pack("!H", self._packet_id) + utf8_field(topic)
                           + bytes([qos])))
        try:
            async with asyncio.timeout(self.timeout_s):
                codes = await waiter
        except TimeoutError as exc:
            raise aiomqtt.MqttError(f"no SUBACK for {topic} in {self.timeout_s} s") from exc
        if not codes or codes[0] == 0x80:
            raise aiomqtt.MqttError(f"the broker refused the subscription to {topic}")
        if codes[0] < qos:  # e.g. Mosquitto's max_qos 0: nothing would be sent again
            raise aiomqtt.MqttError(f"the broker granted QoS {codes[0]} for {topic}, not {qos}")

    @property
    def idle_s(self) -> float:
        """Seconds :meth:`batches` has waited with nothing received, the wait under way
        included: a consumer that keeps up waits now and then, one that never does is at its
        capacity (service/health.py ``Capacity``)."""
        since = self._idle_since
        return self._idle_s + (time.monotonic() - since if since is not None else 0.0)

    @property
    def waiting(self) -> int:
        """Messages received and not yet taken by the application."""
        return len(self._protocol.received) if self._protocol is not None else 0

    def batches(self, max_messages: int) -> AsyncIterator[list[Received]]:
        """Every message already received, up to ``max_messages`` at a time; raises
        ``MqttError`` when the connection breaks (what was received and not acknowledged
        the broker sends again)."""
        return _Batches(self, max_messages)

    # -- publishing ------------------------------------------------------------------------------

    async def publish_many(self, messages: Sequence[tuple[str, bytes, bool]]) -> None:
        """Publish (topic, payload, retain) at QoS 1, in order and in one write; returns once
        the broker has acknowledged every one. Raises ``MqttError`` if the connection breaks
        first: which ones reached the broker is then unknown, so send them all again (QoS 1
        is "at least once")."""
        if not messages:
            return
        protocol = self._connected()
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        acks = _Acks(len(messages), done)
        waiting, names = protocol.pubacks, self._names
        parts: list[bytes] = []
        for topic, payload, retain in messages:
            packet_id = self._packet_id % 65535 + 1
            while packet_id in waiting or packet_id in protocol.subacks:  # (still in use)
                packet_id = packet_id % 65535 + 1
            self._packet_id = packet_id
            waiting[packet_id] = acks
            name = names.get(topic)
            if name is None:
                if len(names) >= TOPIC_CACHE:
                    names.clear()
                name = names[topic] = utf8_field(topic)
            length = len(name) + 2 + len(payload)
            parts += (_PUBLISH_QOS1[bool(retain)], remaining_length(length), name,
                      packet_id.to_bytes(2, "big"), payload)
        self._send(b"".join(parts))
        try:
            async with asyncio.timeout(self.timeout_s):
                await done
        except TimeoutError as exc:
            for packet_id in [k for k, v in waiting.items() if v is acks]:
                del waiting[packet_id]
            raise aiomqtt.MqttError(f"no PUBACK for {acks.left} of {len(messages)} messages "
                                    f"in {self.timeout_s} s") from exc

    async def until_disconnected(self) -> None:
        """Return (raising the ``MqttError``) once the connection breaks."""
        protocol = self._connected()
        await asyncio.shield(protocol.lost)  # (cancelling us must not cancel it: disconnect
        # waits for it)
        raise protocol.error or aiomqtt.MqttError("connection to the broker lost")

    def ack_all(self, messages: Sequence[Received]) -> None:
        """Acknowledge these QoS 1 messages to the broker, in one write."""
        pubacks = b"".join(_PUBACK.pack(0x40, 2, m.packet_id) for m in messages if m.qos)
        if pubacks:
            self._send(pubacks)
