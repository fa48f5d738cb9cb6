"""The coach's one MQTT connection: the sessions' derived events in, the therapist's commands out.

Every message is validated (:func:`footfall.views.coach.state.decode`); a malformed one is set
aside in the quarantine with its reason and never reaches a page. Commands go out on the
session's control topic (QoS 1; ``set_target`` retained, as the monitor does), and the page that
sent one learns whether the broker took it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

import aiomqtt

from footfall.config.settings import Settings
from footfall.core.errors import InputError
from footfall.core.quarantine import Quarantine
from footfall.views.coach.hub import Hub
from footfall.views.coach.state import STREAMS, Sessions, decode
from footfall.wire import mqtt
from footfall.wire.control import ControlCommand, control_topic
from footfall.wire.topics import SESSION_DEVICE, Stream, subscription

log = logging.getLogger(__name__)

RECONNECT_S = 1.0
#: how long a page waits for the broker to take a command
PUBLISH_TIMEOUT_S = 5.0
SESSION_STREAMS = frozenset({Stream.FEEDBACK, Stream.FEEDBACK_STATE, Stream.NOTE,
                             Stream.ALERTS_ACTIVE, Stream.CONTROL, Stream.SESSION_METRICS})


class BrokerUnavailable(Exception):
    """The command could not be handed to the broker in time."""


class Bridge:
    """MQTT ↔ the hub. ``run(stop)`` until ``stop`` is set, reconnecting on its own."""

    def __init__(self, settings: Settings, hub: Hub, sessions: Sessions,
                 quarantine: Quarantine, *, clock: Callable[[], int] = time.time_ns) -> None:
        self.settings = settings
        self.hub = hub
        self.sessions = sessions
        self.quarantine = quarantine
        self.clock = clock
        self.connected = asyncio.Event()
        self.messages = 0
        self._outbox: asyncio.Queue[tuple[str, bytes, bool, asyncio.Future[None]]] = \
            asyncio.Queue()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self._connected(stop)
            except aiomqtt.MqttError as exc:
                self.connected.clear()
                log.warning("broker %s unreachable (%s); retrying in %.0f s",
                            self.settings.mqtt_url, exc, RECONNECT_S)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), RECONNECT_S)
        self.connected.clear()

    async def _connected(self, stop: asyncio.Event) -> None:
        async with mqtt.client(self.settings) as client:
            for stream in STREAMS:
                device = SESSION_DEVICE if stream in SESSION_STREAMS else "+"
                await client.subscribe(subscription(device=device, stream=stream), qos=1)
            self.connected.set()
            log.info("coach subscribed on %s", self.settings.mqtt_url)
            tasks = [asyncio.create_task(self._consume(client)),
                     asyncio.create_task(self._publish(client)),
                     asyncio.create_task(stop.wait())]
            try:
                done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    if task is not tasks[2] and task.exception() is not None:
                        raise task.exception()  # type: ignore[misc]
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

    async def _consume(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            payload = message.payload
            body = payload if isinstance(payload, bytes | bytearray) else str(payload).encode()
            self.handle(str(message.topic), bytes(body))

    def handle(self, topic: str, payload: bytes) -> None:
        """One broker message: validated, folded into its session, pushed to its pages."""
        self.messages += 1
        try:
            msg = decode(topic, payload, self.clock())
        except InputError as exc:
            self.quarantine.put(topic, exc.reason, payload)
            return
        if msg is None:
            return
        view, started = self.sessions.apply(msg)
        self.hub.publish(msg, view, started)

    async def _publish(self, client: aiomqtt.Client) -> None:
        while True:
            topic, payload, retain, done = await self._outbox.get()
            try:
                await client.publish(topic, payload, qos=1, retain=retain)
            except aiomqtt.MqttError as exc:
                if not done.done():
                    done.set_exception(BrokerUnavailable(str(exc)))
                raise
            if not done.done():
                done.set_result(None)

    async def send(self, athlete: str, session: str, command: ControlCommand) -> None:
        """Publish ``command`` on the session's control topic; raises
        :class:`BrokerUnavailable` when the broker did not take it in time."""
        if not self.connected.is_set():
            raise BrokerUnavailable(f"not connected to the broker {self.settings.mqtt_url}")
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._outbox.put_nowait((control_topic(athlete, session), command.to_json(),
                                 command.retain, done))
        try:
            await asyncio.wait_for(done, PUBLISH_TIMEOUT_S)
        except TimeoutError:
            raise BrokerUnavailable(f"the broker {self.settings.mqtt_url} did not take the "
                                    f"command within {PUBLISH_TIMEOUT_S:.0f} s") from None
