"""The processor's NATS JetStream input (``footfall process --engine nats``): the scale-out.

The servers map every input message into its session's partition (stack/nats.py); this
process claims some of the partitions and feeds their messages, in stream order, to the same
:class:`~footfall.service.processor.ProcessorService` (router, InfluxDB writer) as the MQTT
input. Derived events go out on the NATS subjects of their MQTT topics, which the servers'
MQTT listeners deliver to MQTT subscribers (monitor, coach).

**Claims.** A partition is consumed only while this process holds its lease: a KV entry
created only if absent and renewed by compare-and-set every ``lease_s``/3; entries expire
``lease_s`` after the last write, so a dead owner's partitions are free after ``lease_s``.
Each process announces itself in a second bucket and holds ``ceil(P / live processes)``
partitions, claiming free ones and handing surplus ones back, so a new process gets
partitions without anyone dying. A renewal that fails stops the partition at once: its
sessions are dropped unfinished, nothing more of it is stored or published.

**No step lost or duplicated on a takeover: the stream is the journal.** Each partition has a
position (a KV entry without expiry, written by compare-and-set by its owner only): ``done``,
the last stream sequence whose derived points InfluxDB has taken, and ``from``, the first
sequence of the sessions still open then. A new owner reads messages from ``from`` on; up to
``done`` it rebuilds the sessions' state with outputs suppressed (nothing published, nothing
stored: that was done), after it goes on live. Processing is deterministic, so the state is
the one the old owner had and the steps after ``done`` are the same steps; those it had
already written are the same points again (InfluxDB keeps one per measurement, tags and
time). Only live MQTT subscribers can see an event twice (those after ``done``). ``done``
follows InfluxDB's answers, not the disk spool: a dead processor's spool is on its own disk.

Why not a durable consumer per partition with its ack floor: after a takeover the dead
owner's unacknowledged messages come again only after ``ack_wait`` and after newer ones, and
deterministic processing needs the stream order. An ordered consumer from ``from`` keeps it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import socket
import time
import zlib
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from footfall.core.errors import CommandError
from footfall.stack.nats import (
    LEASES,
    MEMBERS,
    POSITIONS,
    STREAM,
    ensure_jetstream,
    partition_of,
    partition_subject,
)

if TYPE_CHECKING:
    from nats.aio.client import Client as NatsClient
    from nats.aio.msg import Msg
    from nats.js import JetStreamContext
    from nats.js.kv import KeyValue

    from footfall.service.processor import ProcessorService

log = logging.getLogger(__name__)

SessionKey = tuple[str, str]
#: how long a stopping process waits for InfluxDB to take its points before handing back
RELEASE_FLUSH_S = 10.0
#: messages handled between two yields to the event loop
YIELD_EVERY = 50


def default_member_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


@dataclass
class Partition:
    number: int
    lease_rev: int
    pos_rev: int
    done: int  # committed: every point derived up to this stream sequence is in InfluxDB
    replay_to: int  # messages up to here rebuild state only (done at the takeover)
    last_seq: int = 0  # processed
    renewed_at: float = field(default_factory=time.monotonic)
    #: (stream seq, writer lines queued after it): seq is stored once lines_done reaches it
    marks: deque[tuple[int, int]] = field(default_factory=deque)
    first_seq: dict[SessionKey, int] = field(default_factory=dict)  # open sessions
    #: sessions that ended: their first seq stays in ``from`` until their last points are in
    finishing: dict[SessionKey, tuple[int, int]] = field(default_factory=dict)
    committed_from: int = 0
    sub: Any = None
    active: bool = True
    replayed: int = 0
    live_at: float | None = None


@dataclass
class IntakeStats:
    messages: int = 0
    replayed: int = 0
    repeats: int = 0  # delivered again after a consumer reset: skipped
    claimed: int = 0
    released: int = 0
    lost: int = 0
    resubscribed: int = 0
    published: int = 0


class NatsIntake:
    """Claims partitions, consumes them into ``service``, publishes its derived events."""

    def __init__(self, service: ProcessorService, *, member_id: str | None = None) -> None:
        settings = service.settings
        self.service = service
        self.urls = [u.strip() for u in settings.nats_url.split(",") if u.strip()]
        self.partitions = settings.nats_partitions
        self.lease_s = settings.nats_lease_s
        self.member_id = member_id or default_member_id()
        self.owned: dict[int, Partition] = {}
        self.owner_of: dict[SessionKey, int] = {}
        self.stats = IntakeStats()
        self.connected = asyncio.Event()
        self._nc: NatsClient | None = None
        self._js: JetStreamContext | None = None
        self._kv: dict[str, KeyValue] = {}
        # start where the others are least likely to: fewer collisions on claims
        self._order = zlib.crc32(self.member_id.encode()) % self.partitions

    # -- running -----------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        import nats

        service = self.service

        async def disconnected() -> None:
            self.connected.clear()
            service.connected.clear()
            log.warning("NATS connection lost; reconnecting")

        async def reconnected() -> None:
            self.connected.set()
            service.connected.set()
            log.warning("NATS connection back")

        async def error(exc: Exception) -> None:
            log.debug("NATS: %s", exc)

        service.watchdog.start()
        self._nc = await nats.connect(self.urls, max_reconnect_attempts=-1,
                                      reconnect_time_wait=0.5, connect_timeout=5,
                                      disconnected_cb=disconnected, reconnected_cb=reconnected,
                                      error_cb=error, name=f"footfall-{self.member_id}")
        self.connected.set()
        service.connected.set()
        self._js = self._nc.jetstream(timeout=5)
        await ensure_jetstream(self._js, replicas=min(3, len(self.urls)), lease_s=self.lease_s)
        for bucket in (LEASES, POSITIONS, MEMBERS):
            self._kv[bucket] = await self._js.key_value(bucket)
        log.info("processor %s on NATS %s: %d partitions", self.member_id, ",".join(self.urls),
                 self.partitions)
        tasks = [asyncio.create_task(self._balance(stop), name="nats-balance"),
                 asyncio.create_task(self._publish(), name="nats-publish"),
                 asyncio.create_task(self._tick(), name="nats-tick"),
                 asyncio.create_task(self._heartbeat(), name="nats-heartbeat")]
        try:
            await stop.wait()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            with contextlib.suppress(Exception):
                await self._hand_back_all()
            await self._drain_outbox()
            with contextlib.suppress(Exception):
                await self._nc.close()
            service.connected.clear()
            service.watchdog.stop()

    async def _heartbeat(self) -> None:
        from footfall.service import health

        while True:
            self.service.beat()
            await asyncio.sleep(health.INTERVAL_S)

    async def _tick(self) -> None:
        from footfall.service.processor import TICK_S

        while True:
            await asyncio.sleep(TICK_S)
            self.service.tick()
            self._note_finished()

    def _note_finished(self) -> None:
        """Sessions the service finished (or the router let expire) since the last look:
        their first message stays the replay start until their last points are stored."""
        router = self.service.router
        now = router.sessions
        queued = self._queued()
        for part in self.owned.values():
            # (a session whose meta waits for its data has not finished: it has not started)
            for key in [k for k in part.first_seq if k not in now and not router.holds(*k)]:
                part.finishing[key] = (part.first_seq.pop(key), queued)
                self.owner_of.pop(key, None)

    # -- derived events out ------------------------------------------------------------------

    async def _publish(self) -> None:
        assert self._nc is not None
        outbox = self.service.outbox
        while True:
            topic, payload, _retain = await outbox.get()
            # a NATS publish can't set MQTT's retain flag: the bridge sets it on Mosquitto
            try:
                await self._nc.publish(topic.replace("/", "."), payload)
            except Exception as exc:  # disconnected past nats-py's buffer: InfluxDB has it
                log.debug("publish %s: %s", topic, exc)
                continue
            self.stats.published += 1

    async def _drain_outbox(self) -> None:
        if self._nc is None or self._nc.is_closed:
            return
        outbox = self.service.outbox
        with contextlib.suppress(Exception):
            while not outbox.empty():
                topic, payload, _ = outbox.get_nowait()
                await self._nc.publish(topic.replace("/", "."), payload)
            await self._nc.flush(5)

    # -- messages in -------------------------------------------------------------------------

    def _queued(self) -> int:
        writer = self.service.writer
        return writer.stats.lines_queued if writer is not None else 0

    def _stored(self) -> float:
        writer = self.service.writer
        return writer.stats.lines_done if writer is not None else math.inf

    async def _on_message(self, part: Partition, msg: Msg) -> None:
        if not part.active:
            return
        seq = msg.metadata.sequence.stream
        if seq <= part.last_seq:  # a consumer reset delivers from where it thinks it was
            self.stats.repeats += 1
            return
        tokens = msg.subject.split(".")  # ffin.<partition>.<athlete>.<session>.<device>.<s>
        if len(tokens) != 6:
            part.last_seq = seq
            return
        key = (tokens[2], tokens[3])
        if key not in part.first_seq:
            if partition_of(*key, self.partitions) != part.number:
                raise CommandError(
                    f"session {key[0]}/{key[1]} came in partition {part.number}, but "
                    f"{self.partitions} partitions put it in "
                    f"{partition_of(*key, self.partitions)}: the servers' mapping and "
                    "nats_partitions differ; give both the same number")
            part.first_seq[key] = seq
            self.owner_of[key] = part.number
        replay = seq <= part.replay_to
        topic = "footfall/v1/" + "/".join(tokens[2:])
        self.service.handle(topic, msg.data, publish=not replay, store=not replay)
        part.last_seq = seq
        self.stats.messages += 1
        if self.stats.messages % YIELD_EVERY == 0:
            # a backlog is delivered without a pause: let the lease renewals run, or a busy
            # process would lose its partitions to the lease expiring
            await asyncio.sleep(0)
        if replay:
            part.replayed += 1
            self.stats.replayed += 1
        elif part.live_at is None:
            part.live_at = time.monotonic()
        queued = self._queued()
        if part.marks and part.marks[-1][1] == queued:
            part.marks[-1] = (seq, queued)  # nothing new to store: the same mark moves on
        else:
            part.marks.append((seq, queued))

    async def _subscribe(self, part: Partition) -> None:
        from nats.js.api import ConsumerConfig, DeliverPolicy

        assert self._js is not None
        start = max(part.last_seq + 1, part.committed_from, 1)
        config = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                                opt_start_seq=start)

        async def on_message(msg: Msg) -> None:
            try:
                await self._on_message(part, msg)
            except CommandError as exc:
                log.error("%s", exc)
                part.active = False

        part.sub = await self._js.subscribe(partition_subject(part.number), stream=STREAM,
                                            ordered_consumer=True, config=config,
                                            cb=on_message, idle_heartbeat=2.0,
                                            pending_msgs_limit=200_000)

    async def _unsubscribe(self, part: Partition) -> None:
        if part.sub is not None:
            with contextlib.suppress(Exception):
                await part.sub.unsubscribe()
            part.sub = None

    # -- claims ------------------------------------------------------------------------------

    async def _balance(self, stop: asyncio.Event) -> None:
        period = self.lease_s / 3
        # announced, then a period before the first claims: processors started together see
        # each other, instead of the first taking every partition and handing most back
        await self._kv[MEMBERS].put(self._member_key, b"1")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), min(period, 3.0))
        while not stop.is_set():
            started = time.monotonic()
            try:
                await self._renew_all()
                await self._rebalance()
            except Exception as exc:  # the cluster electing a leader, a lost connection
                log.debug("balance: %s: %s", type(exc).__name__, exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(),
                                       max(0.05, period - (time.monotonic() - started)))

    def _position(self, part: Partition) -> tuple[int, int]:
        """(done, from) to commit now."""
        stored = self._stored()
        done = part.done
        while part.marks and part.marks[0][1] <= stored:
            done = max(done, part.marks.popleft()[0])
        for key, (_first, queued) in list(part.finishing.items()):
            if queued <= stored:
                del part.finishing[key]
        firsts = [*part.first_seq.values(), *(f for f, _ in part.finishing.values())]
        return done, min(firsts) if firsts else done + 1

    async def _renew_all(self) -> None:
        await self._kv[MEMBERS].put(self._member_key, b"1")
        await asyncio.gather(*[self._renew(part) for part in list(self.owned.values())])

    async def _renew(self, part: Partition) -> None:
        from nats.js.errors import KeyWrongLastSequenceError

        try:
            part.lease_rev = await self._kv[LEASES].update(
                self._lease_key(part.number), self.member_id.encode(), last=part.lease_rev)
            part.renewed_at = time.monotonic()
            await self._commit(part)
        except KeyWrongLastSequenceError:
            if not await self._retake(part):
                await self._lose(part, "its lease was taken over")
        except Exception as exc:
            if time.monotonic() - part.renewed_at > self.lease_s * 0.7:
                await self._lose(part, f"no renewal for {self.lease_s * 0.7:.1f} s ({exc})")

    async def _retake(self, part: Partition) -> bool:
        """A renewal that came too late (a busy or paused process): the lease lapsed. If no
        one has claimed it since and no one has committed the partition since our last
        commit, nothing happened in between: take it again and go on without a rebuild."""
        from nats.js.errors import KeyNotFoundError

        try:
            lease_rev = await self._kv[LEASES].create(self._lease_key(part.number),
                                                      self.member_id.encode())
        except Exception:
            return False  # someone holds it
        try:
            entry = await self._kv[POSITIONS].get(self._pos_key(part.number))
            unchanged = int(entry.revision or 0) == part.pos_rev
        except KeyNotFoundError:
            unchanged = part.pos_rev == 0
        if not unchanged:
            with contextlib.suppress(Exception):
                await self._kv[LEASES].delete(self._lease_key(part.number), last=lease_rev)
            return False
        part.lease_rev, part.renewed_at = lease_rev, time.monotonic()
        log.info("partition %d: its lease had lapsed; taken again", part.number)
        return True

    async def _commit(self, part: Partition) -> None:
        done, start = self._position(part)
        if (done, start) == (part.done, part.committed_from):
            return
        value = json.dumps({"done": done, "from": start, "owner": self.member_id}).encode()
        key = self._pos_key(part.number)
        if part.pos_rev:
            part.pos_rev = await self._kv[POSITIONS].update(key, value, last=part.pos_rev)
        else:
            part.pos_rev = await self._kv[POSITIONS].create(key, value)
        part.done, part.committed_from = done, start

    async def _lose(self, part: Partition, why: str) -> None:
        """Stop at once: whoever has the lease now goes on from the committed position."""
        log.warning("partition %d: stopped, %s", part.number, why)
        part.active = False
        self.stats.lost += 1
        await self._drop(part)

    async def _drop(self, part: Partition) -> None:
        await self._unsubscribe(part)
        for key in [*part.first_seq, *part.finishing]:
            self.service.router.forget_session(*key)
            self.owner_of.pop(key, None)
        self.owned.pop(part.number, None)

    async def _live_members(self) -> int:
        try:
            keys = await self._kv[MEMBERS].keys()
        except Exception:  # nats-py raises NoKeysError when the bucket is empty
            return 1
        return max(1, len(keys))

    async def _rebalance(self) -> None:
        started = time.monotonic()
        target = math.ceil(self.partitions / await self._live_members())
        if len(self.owned) > target:
            surplus = sorted(self.owned, reverse=True)[: len(self.owned) - target]
            await self._hand_back([self.owned[n] for n in surplus])
            return
        for i in range(self.partitions):
            # claims are round trips: a long round would let the first ones lapse unrenewed
            if len(self.owned) >= target or time.monotonic() - started > self.lease_s / 6:
                break
            number = (self._order + i) % self.partitions
            if number not in self.owned:
                await self._claim(number)

    async def _claim(self, number: int) -> None:
        from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError

        try:
            lease_rev = await self._kv[LEASES].create(self._lease_key(number),
                                                      self.member_id.encode())
        except KeyWrongLastSequenceError:
            return  # someone holds it
        done = start = pos_rev = 0
        previous = ""
        try:
            entry = await self._kv[POSITIONS].get(self._pos_key(number))
            position = json.loads(entry.value or b"{}")
            done, start, pos_rev = int(position["done"]), int(position["from"]), \
                int(entry.revision or 0)
            previous = str(position.get("owner", ""))
        except KeyNotFoundError:
            pass
        part = Partition(number, lease_rev, pos_rev, done, replay_to=done,
                         committed_from=start)
        self.owned[number] = part
        self.stats.claimed += 1
        try:
            await self._subscribe(part)
        except Exception:
            part.active = False  # a consumer the server made all the same delivers to no one
            await self._unsubscribe(part)
            self.owned.pop(number, None)
            with contextlib.suppress(Exception):
                await self._kv[LEASES].delete(self._lease_key(number), last=lease_rev)
            raise
        # taking over from another processor is worth a line; a first claim is not
        log.log(logging.WARNING if previous and previous != self.member_id else logging.INFO,
                "partition %d: claimed%s; rebuilding from stream seq %d, live after %d",
                number, f" from {previous}" if previous else "", max(start, 1), done)

    async def _hand_back(self, parts: list[Partition]) -> None:
        """Give partitions back (balance or stop): stop reading them, let InfluxDB take what
        they made, commit, then free the leases for the next owners."""
        for part in parts:
            await self._unsubscribe(part)
            part.active = False
        writer = self.service.writer
        if writer is not None:
            await writer.flush(RELEASE_FLUSH_S)
        for part in parts:
            with contextlib.suppress(Exception):
                await self._commit(part)
            with contextlib.suppress(Exception):
                await self._kv[LEASES].delete(self._lease_key(part.number),
                                              last=part.lease_rev)
            self.stats.released += 1
            await self._drop(part)
            log.info("partition %d: handed back at stream seq %d", part.number, part.done)

    async def _hand_back_all(self) -> None:
        await self._hand_back(list(self.owned.values()))
        with contextlib.suppress(Exception):
            await self._kv[MEMBERS].delete(self._member_key)

    @property
    def _member_key(self) -> str:
        return f"m.{self.member_id}"

    @staticmethod
    def _lease_key(number: int) -> str:
        return f"p{number}"

    @staticmethod
    def _pos_key(number: int) -> str:
        return f"p{number}"
