"""The edge bridge of the scale-out (``footfall bridge``): a site's Mosquitto ↔ NATS JetStream.

Gateways publish to the site's Mosquitto as on one machine. The bridge takes every input
message (``imu``, ``rsc``, ``meta``, ``status``, ``control``) with a persistent MQTT session
and manual acks, and publishes it to JetStream on its subject (``footfall.v1.A.S.D.stream``,
which the servers map into the session's partition). A message is acknowledged to Mosquitto
only once JetStream's PubAck says the stream stored it (on a quorum of an R3 stream); a
failed or timed-out publish is retried, so a NATS node that dies loses nothing. A message
stored twice (a retry whose first try was stored, or Mosquitto redelivering after a bridge
restart) is dropped by the processor's router as a repeat (frames by seq).

Why not let the gateways speak MQTT to the NATS servers directly: nats-server 2.9.10 (and
2.15.1 in the research) PUBACKs MQTT QoS 1 messages while the stream has no leader and does
not store them: killing the stream leader lost ~5 s of frames of every gateway on the other
nodes (docs/scaling.md). A JetStream publish gets its PubAck only after the store.

Back the other way it forwards the processors' derived events (published on NATS) to
Mosquitto, with the retain flag where the wire says so, so that the monitor and the coach see
them (and the devices' meta/status, which never leave Mosquitto) as on one machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import aiomqtt

from footfall.config.settings import Settings
from footfall.wire import mqtt
from footfall.wire.topics import (
    DERIVED_STREAMS,
    INPUT_STREAMS,
    RETAINED_STREAMS,
    Stream,
    subscription,
)

if TYPE_CHECKING:
    from nats.aio.client import Client as NatsClient
    from nats.aio.msg import Msg
    from nats.js import JetStreamContext

log = logging.getLogger(__name__)

#: JetStream publishes awaiting their PubAck at once (MQTT acks go in order behind them)
WINDOW = 64
PUBLISH_TIMEOUT_S = 2.0
RETRY_S = 0.25


@dataclass
class BridgeStats:
    forwarded: int = 0  # MQTT → JetStream, stored
    retries: int = 0  # publishes tried again (no leader, a node lost, a timeout)
    returned: int = 0  # NATS → MQTT derived events
    reconnects: int = 0


class NatsBridge:
    def __init__(self, settings: Settings, *, client_id: str = "footfall-bridge") -> None:
        self.settings = settings
        self.client_id = client_id
        self.urls = [u.strip() for u in settings.nats_url.split(",") if u.strip()]
        self.stats = BridgeStats()
        self.connected = asyncio.Event()
        self._back: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue(maxsize=100_000)

    async def run(self, stop: asyncio.Event) -> None:
        import nats

        async def quiet(exc: Exception) -> None:
            log.debug("NATS: %s", exc)

        nc = await nats.connect(self.urls, max_reconnect_attempts=-1, reconnect_time_wait=0.5,
                                error_cb=quiet, name=self.client_id)
        js = nc.jetstream(timeout=PUBLISH_TIMEOUT_S)
        derived = await nc.subscribe("footfall.v1.>", cb=self._on_derived)
        try:
            while not stop.is_set():
                try:
                    await self._connected(nc, js, stop)
                except aiomqtt.MqttError as exc:
                    self.connected.clear()
                    self.stats.reconnects += 1
                    log.warning("broker %s unreachable (%s); retrying", self.settings.mqtt_url,
                                exc)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), 1.0)
        finally:
            with contextlib.suppress(Exception):
                await derived.unsubscribe()
            with contextlib.suppress(Exception):
                await nc.close()

    async def _on_derived(self, msg: Msg) -> None:
        tokens = msg.subject.split(".")
        if len(tokens) == 6 and tokens[5] in DERIVED_STREAMS:
            with contextlib.suppress(asyncio.QueueFull):  # a live view: the newest matter
                self._back.put_nowait(("/".join(tokens), msg.data))

    async def _connected(self, nc: NatsClient, js: JetStreamContext, stop: asyncio.Event) -> None:
        client = mqtt.client(self.settings, client_id=self.client_id, clean_session=False,
                             max_inflight_messages=WINDOW, manual_ack=True)
        async with client:
            for stream in sorted(INPUT_STREAMS):
                await client.subscribe(subscription(stream=stream), qos=1)
            self.connected.set()
            log.info("bridging %s → NATS %s", self.settings.mqtt_url, ",".join(self.urls))
            tasks = [asyncio.create_task(self._forward(client, js)),
                     asyncio.create_task(self._return(client)),
                     asyncio.create_task(stop.wait())]
            try:
                done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
            for task in done:
                if not task.cancelled() and (exc := task.exception()) is not None:
                    raise exc

    async def _forward(self, client: aiomqtt.Client, js: JetStreamContext) -> None:
        """MQTT in order → JetStream, up to WINDOW in flight; each MQTT ack once stored."""
        window: asyncio.Queue[tuple[aiomqtt.Message, asyncio.Task[None]]] = \
            asyncio.Queue(maxsize=WINDOW)

        async def store(subject: str, payload: bytes) -> None:
            while True:
                try:
                    await js.publish(subject, payload, timeout=PUBLISH_TIMEOUT_S)
                    return
                except Exception as exc:  # no responders / timeout while a leader is elected
                    self.stats.retries += 1
                    log.debug("publish %s: %s; again", subject, type(exc).__name__)
                    await asyncio.sleep(RETRY_S)

        async def acks() -> None:
            while True:
                message, task = await window.get()
                await task
                mqtt.ack(client, message)
                self.stats.forwarded += 1

        #: per topic, the publish before: a topic's messages are stored in their MQTT order
        #: even when one is retried (a device's frames must reach the stream in order: the
        #: processor's reorder window is timed, and a rebuild must see what live processing saw)
        last: dict[str, asyncio.Task[None]] = {}

        async def in_order(before: asyncio.Task[None] | None, subject: str,
                           payload: bytes) -> None:
            if before is not None:
                await asyncio.shield(before)
            await store(subject, payload)

        acker = asyncio.create_task(acks())
        try:
            async for message in client.messages:
                payload = message.payload
                body = payload if isinstance(payload, bytes | bytearray) \
                    else str(payload).encode()
                subject = str(message.topic).replace("/", ".")
                before = last.get(subject)
                task = asyncio.create_task(in_order(
                    before if before is not None and not before.done() else None, subject,
                    bytes(body)))
                last[subject] = task
                await window.put((message, task))
        finally:
            acker.cancel()
            while not window.empty():
                window.get_nowait()[1].cancel()

    async def _return(self, client: aiomqtt.Client) -> None:
        while True:
            topic, payload = await self._back.get()
            stream = topic.rsplit("/", 1)[1]
            await client.publish(topic, payload, qos=1, retain=Stream(stream) in RETAINED_STREAMS)
            self.stats.returned += 1

