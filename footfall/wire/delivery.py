"""At-least-once delivery to a broker that may die: backoff, the resend window, and a QoS 1
publisher that waits out an outage instead of aborting.

A broker acknowledges a QoS 1 PUBLISH (PUBACK) once it holds the message in memory, not once it
has saved it. Mosquitto writes its state (retained messages, persistent sessions with their
subscriptions and queued messages) to disk every ``autosave_interval`` seconds and at a clean
exit; every config footfall writes sets 1 s (footfall/deploy/mosquitto/conf.d/footfall.conf),
which Mosquitto 2.0 honours as "more than 1 s since the last save", so ≈ 2 s. A ``kill -9``, an
OOM kill or a power cut loses what it acknowledged since its last save — also what it had
queued for a processor that was away. So every sender keeps what the broker acknowledged in
the last ``resend_window_s`` seconds (:class:`ResendWindow`) and publishes it again after a
reconnect that followed a lost connection. Consumers drop what they already have (IMU frames
whose ``seq`` is not ahead, foot-pod samples whose ``time_ns`` is not ahead), so a resend costs
traffic, never a duplicate step.

:class:`ReliablePublisher` is that for the senders without a disk spool (``footfall replay``,
``footfall simulate``): in order, a window of publishes in flight, and on broker loss it waits,
reconnects with backoff, republishes the retained state and resumes from the first message the
broker may not have — nothing skipped, nothing left unretrieved. The ingest gateway's
:class:`~footfall.ingest.publisher.SpoolPublisher` keeps its window in its disk spool.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import aiomqtt

from footfall.config.settings import Settings
from footfall.wire import mqtt
from footfall.wire.mqtt import BrokerConfig

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass
class Backoff:
    """Exponential backoff between ``initial_s`` and ``max_s``; ``reset`` after a success."""

    initial_s: float = 0.25
    max_s: float = 10.0
    factor: float = 2.0
    current_s: float = 0.0

    def next(self) -> float:
        self.current_s = min(self.max_s, self.current_s * self.factor) if self.current_s \
            else self.initial_s
        return self.current_s

    def reset(self) -> None:
        self.current_s = 0.0


class ResendWindow(Generic[T]):
    """What the broker acknowledged in the last ``window_s`` seconds, oldest first (at most
    ``max_items``: a bound on memory when acknowledgements come very fast)."""

    def __init__(self, window_s: float, *, max_items: int = 200_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.window_s = window_s
        self.max_items = max_items
        self.clock = clock
        self._items: deque[tuple[float, T]] = deque()

    def __len__(self) -> int:
        return len(self._items)

    def acked(self, item: T) -> None:
        if self.window_s <= 0:
            return
        now = self.clock()
        self._items.append((now, item))
        while self._items and (self._items[0][0] < now - self.window_s
                               or len(self._items) > self.max_items):
            self._items.popleft()

    def oldest(self) -> T | None:
        return self._items[0][1] if self._items else None

    def since(self, lost_at: float) -> list[T]:
        """What was acknowledged in the window before ``lost_at`` (or after it), oldest first."""
        return [item for at, item in self._items if at >= lost_at - self.window_s]

    def clear(self) -> None:
        self._items.clear()


async def until_lost(client: aiomqtt.Client) -> None:
    """Return when ``client``'s connection is lost. Watching ``client.messages`` is aiomqtt's
    public way to hear of a disconnect (also while nothing is published), and it consumes the
    error aiomqtt would otherwise report as "Future exception was never retrieved"."""
    with contextlib.suppress(aiomqtt.MqttError):
        async for _message in client.messages:
            pass  # a publisher subscribes to nothing


async def while_connected(client: aiomqtt.Client, work: Coroutine[Any, Any, None]) -> None:
    """Run ``work`` until it ends; raise :class:`aiomqtt.MqttError` if the connection is lost
    first, even while ``work`` is idle."""
    watcher = asyncio.create_task(until_lost(client))
    task = asyncio.ensure_future(work)
    try:
        done, _ = await asyncio.wait({watcher, task}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in (watcher, task):
            t.cancel()
        await asyncio.gather(watcher, task, return_exceptions=True)
    if task not in done:
        raise aiomqtt.MqttError("the connection to the broker was lost")
    task.result()  # its own error, if any


@dataclass(slots=True)
class _Message:
    index: int
    topic: str
    payload: bytes
    retain: bool


@dataclass
class DeliveryStats:
    published: int = 0  # messages handed to publish()
    reconnects: int = 0  # reconnects after a lost connection
    resent: int = 0  # messages published again after a reconnect
    outage_s: float = 0.0  # time without a broker, in total


@dataclass
class ReliablePublisher:
    """Publish in order with QoS 1 through broker loss (``async with``, then :meth:`publish`).

    The first connect must succeed (a wrong URL fails at once, with the reason); after that a
    lost broker is waited for, forever by default (``give_up_s``: raise
    :class:`aiomqtt.MqttError` after that long without one). ``on_outage`` hears, in words,
    when the broker is lost, each failed attempt, and when it is back; the log says it too.
    ``window``: publishes awaiting their PUBACK at once (1 = one at a time).
    """

    broker: BrokerConfig | Settings
    client_id: str | None = None
    window: int = 1
    max_inflight_messages: int | None = None
    resend_window_s: float | None = None  # None: the broker config's
    on_outage: Callable[[str], None] | None = None
    backoff: Backoff = field(default_factory=lambda: Backoff(initial_s=0.25, max_s=5.0))
    give_up_s: float | None = None
    stats: DeliveryStats = field(default_factory=DeliveryStats)
    _client: aiomqtt.Client | None = None
    _watcher: asyncio.Task[None] | None = None
    _inflight: deque[tuple[_Message, asyncio.Future[None]]] = field(default_factory=deque)
    _retained: dict[str, _Message] = field(default_factory=dict)
    _recent: ResendWindow[_Message] = field(init=False)

    def __post_init__(self) -> None:
        config = self.broker if isinstance(self.broker, BrokerConfig) \
            else BrokerConfig.from_settings(self.broker)
        self.broker = config
        window_s = config.resend_window_s if self.resend_window_s is None \
            else self.resend_window_s
        self._recent = ResendWindow(window_s)

    @property
    def _config(self) -> BrokerConfig:
        assert isinstance(self.broker, BrokerConfig)
        return self.broker

    async def __aenter__(self) -> ReliablePublisher:
        self._client = await self._connect()
        return self

    async def __aexit__(self, exc_type: object, *_: object) -> None:
        try:
            if exc_type is None:
                await self.flush()
        finally:
            await self._settle_quietly()
            await self._disconnect()

    def _say(self, text: str, level: int = logging.WARNING) -> None:
        log.log(level, "%s", text)
        if self.on_outage is not None:
            self.on_outage(text)

    async def _connect(self) -> aiomqtt.Client:
        client = mqtt.client(self._config, client_id=self.client_id,
                             max_inflight_messages=self.max_inflight_messages)
        if self.window > 1:
            client.pending_calls_threshold = self.window + 16  # the window is deliberate
        await client.__aenter__()
        self._watcher = asyncio.create_task(until_lost(client))
        return client

    async def _disconnect(self) -> None:
        client, self._client = self._client, None
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
        if client is not None:
            with contextlib.suppress(aiomqtt.MqttError, OSError):
                await client.__aexit__(None, None, None)

    async def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        """Queue one message; returns once at most ``window`` are unacknowledged."""
        message = _Message(self.stats.published, topic, payload, retain)
        self.stats.published += 1
        if retain:
            self._retained[topic] = message
        if self._client is None:
            await self._recover("not connected", [message])
            return
        self._inflight.append((message, self._send(self._client, message)))
        while len(self._inflight) >= self.window:
            await self._settle_oldest()

    async def flush(self) -> None:
        """Wait until the broker acknowledged everything published so far."""
        while self._inflight:
            await self._settle_oldest()

    @staticmethod
    def _send(client: aiomqtt.Client, message: _Message) -> asyncio.Future[None]:
        return asyncio.ensure_future(client.publish(message.topic, message.payload, qos=1,
                                                    retain=message.retain))

    async def _settle_oldest(self) -> None:
        message, sent = self._inflight[0]
        try:
            await sent
        except aiomqtt.MqttError as exc:
            await self._recover(str(exc) or type(exc).__name__)
            return
        self._inflight.popleft()
        self._recent.acked(message)

    async def _settle_quietly(self) -> list[_Message]:
        """Wait for every publish in flight; the ones the broker did not acknowledge."""
        pending = list(self._inflight)
        self._inflight.clear()
        results = await asyncio.gather(*(f for _, f in pending), return_exceptions=True)
        unacked = []
        for (message, _), result in zip(pending, results, strict=True):
            if isinstance(result, BaseException):
                unacked.append(message)
            else:
                self._recent.acked(message)
        return unacked

    async def _recover(self, reason: str, extra: list[_Message] | None = None) -> None:
        """The broker is gone: keep what it may not have, reconnect, send it again in order."""
        lost_at = time.monotonic()
        unacked = await self._settle_quietly() + (extra or [])
        await self._disconnect()
        by_index = {m.index: m for m in [*self._recent.since(lost_at), *unacked]}
        resend = [by_index[i] for i in sorted(by_index)]
        self._say(f"broker {self._config.url} lost ({reason}); waiting for it — "
                  f"{len(resend)} message(s) to send again, nothing is skipped")
        attempts = 0
        while True:
            delay = self.backoff.next()
            await asyncio.sleep(delay)
            down_s = time.monotonic() - lost_at
            if self.give_up_s is not None and down_s > self.give_up_s:
                raise aiomqtt.MqttError(f"broker {self._config.url} gone for {down_s:.0f} s")
            attempts += 1
            try:
                client = await self._connect()
            except aiomqtt.MqttError as exc:
                if attempts % 5 == 0:
                    self._say(f"broker still unreachable after {down_s:.0f} s ({exc}); "
                              "retrying", logging.INFO)
                continue
            self._client = client
            pending = {m.index for m in resend}
            state = [m for m in self._retained.values() if m.index not in pending]
            try:
                for message in [*state, *resend]:  # one at a time: in order, nothing in flight
                    await self._send(client, message)
            except aiomqtt.MqttError:
                await self._disconnect()
                continue
            for message in resend:
                self._recent.acked(message)  # acknowledged by a broker that may die again
            self.backoff.reset()
            self.stats.reconnects += 1
            self.stats.resent += len(resend)
            self.stats.outage_s += time.monotonic() - lost_at
            self._say(f"broker back after {time.monotonic() - lost_at:.1f} s: sent "
                      f"{len(resend)} message(s) again, carrying on", logging.INFO)
            return
