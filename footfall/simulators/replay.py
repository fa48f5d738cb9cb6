"""Replay a session file to the broker with its original timing (or faster).

By default only what devices send is republished (``imu``, ``rsc``, ``meta``, ``status``), so
the processor derives steps, metrics and alerts again exactly as it did live. Retained streams
(``meta``, ``status``) keep the retain flag. Payloads go out byte for byte unless ``retime``
shifts their UTC timestamps so the session appears to happen now.

A broker lost mid-replay is waited for (:class:`~footfall.wire.delivery.ReliablePublisher`):
the replay resumes from the first message the broker may not have, catches up with what fell
due meanwhile as fast as the broker takes it (as a gateway empties its spool), then keeps the
recording's pace again.
"""

from __future__ import annotations

import json
import logging
import struct
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from pathlib import Path

from footfall.config.settings import Settings
from footfall.core.pacing import Pacer
from footfall.core.units import NS
from footfall.recordings.session_file import SessionMessage, iter_messages, read_info
from footfall.wire.delivery import ReliablePublisher
from footfall.wire.events import utc_iso
from footfall.wire.frame import HEADER_SIZE, MAGIC
from footfall.wire.topics import INPUT_STREAMS, Stream, Topic

log = logging.getLogger(__name__)

#: publishes awaiting their PUBACK at once when replaying as fast as possible
FAST_WINDOW = 64
_UTC_NS = struct.Struct("<q")
_UTC_NS_OFFSET = struct.calcsize("<2sBBIQ")


@dataclass
class ReplayStats:
    messages_sent: int = 0
    messages_total: int = 0  # of the selected streams
    frames_sent: int = 0
    session_s: float = 0.0  # session time covered so far (log time since the start)
    duration_s: float = 0.0  # session time of the whole file
    wall_s: float = 0.0
    topics: frozenset[str] = frozenset()
    reconnects: int = 0  # the broker was lost and came back
    resent: int = 0  # messages sent again after a reconnect

    @property
    def fraction(self) -> float:
        return self.messages_sent / self.messages_total if self.messages_total else 1.0


def retime_payload(stream: Stream, payload: bytes, shift_ns: int) -> bytes:
    """The payload with its UTC time(s) moved by ``shift_ns``; anything else unchanged."""
    if shift_ns == 0:
        return payload
    if stream is Stream.IMU:
        if len(payload) < HEADER_SIZE or payload[:2] != MAGIC:
            return payload
        buf = bytearray(payload)
        (utc_ns,) = _UTC_NS.unpack_from(buf, _UTC_NS_OFFSET)
        _UTC_NS.pack_into(buf, _UTC_NS_OFFSET, utc_ns + shift_ns)
        return bytes(buf)
    try:
        event = json.loads(payload)
    except ValueError:
        return payload
    if not isinstance(event, dict) or not isinstance(event.get("time_ns"), int):
        return payload
    event["time_ns"] += shift_ns
    if "time_utc" in event:
        event["time_utc"] = utc_iso(event["time_ns"])
    return json.dumps(event, separators=(",", ":"), allow_nan=False).encode()


def relabel(topic: Topic, athlete: str | None, session: str | None) -> Topic:
    return replace(topic, athlete=athlete or topic.athlete, session=session or topic.session)


async def replay_session(
    path: Path | str,
    settings: Settings,
    *,
    speed: float | None = 1.0,
    athlete: str | None = None,
    session: str | None = None,
    streams: Collection[Stream] = INPUT_STREAMS,
    retime: bool = False,
    progress: Callable[[ReplayStats], None] | None = None,
    client_id: str | None = None,
    on_outage: Callable[[str], None] | None = None,
) -> ReplayStats:
    """Publish a session file's messages.

    ``speed``: × real time (``None`` or 0: as fast as the broker acks, :mod:`footfall.core.pacing`).
    ``athlete``/``session`` re-label every topic (``None`` keeps the recorded ids).
    ``retime`` shifts all UTC timestamps by whole seconds so the first message is "now".
    ``progress`` is called every few messages and once at the end. Retained messages recorded
    before the first live one (the devices' ``meta``/``status``) go out at once, then the rest
    is paced by its log time. ``on_outage`` hears about a lost broker and its return.
    """
    pacer = Pacer(speed)  # 0 or None: as fast as the broker acks
    info = read_info(path)
    wall_begin = time.monotonic()
    selected = frozenset(streams)
    stats = ReplayStats(
        messages_total=sum(n for topic, n in info.channel_counts.items()
                           if Topic.parse(topic).stream in selected),
        duration_s=info.duration_s,
    )
    topics: set[str] = set()
    # a whole number of seconds: the session's combined figures are on a UTC-second grid, so
    # a retimed replay gives exactly the figures of the recording
    shift_ns = round((time.time_ns() - info.start_ns) / NS) * NS if retime else 0
    start_ns: int | None = None  # log time of the first live (not retained) message
    publisher = ReliablePublisher(settings, client_id=client_id, window=FAST_WINDOW,
                                  max_inflight_messages=FAST_WINDOW * 2, on_outage=on_outage)
    async with publisher:
        for message in iter_messages(path, selected):
            if start_ns is None and not message.retain:
                start_ns = message.log_time_ns
                pacer.start()
            if start_ns is not None:
                delay = pacer.delay_s((message.log_time_ns - start_ns) / 1e9)
                if delay > 0:
                    await publisher.flush()
                    await pacer.wait_until((message.log_time_ns - start_ns) / 1e9)
            topic = str(relabel(message.topic, athlete, session))
            payload = retime_payload(message.topic.stream, message.payload, shift_ns)
            await publisher.publish(topic, payload, retain=message.retain)
            topics.add(topic)
            _count(stats, message, info.start_ns if start_ns is None else start_ns)
            if progress is not None and stats.messages_sent % 50 == 0:
                progress(stats)
    stats.reconnects, stats.resent = publisher.stats.reconnects, publisher.stats.resent
    stats.wall_s = time.monotonic() - wall_begin
    stats.topics = frozenset(topics)
    if progress is not None:
        progress(stats)
    return stats


def _count(stats: ReplayStats, message: SessionMessage, start_ns: int) -> None:
    stats.messages_sent += 1
    if message.topic.stream is Stream.IMU:
        stats.frames_sent += 1
    stats.session_s = max(stats.session_s, (message.log_time_ns - start_ns) / 1e9)


__all__ = ["ReplayStats", "relabel", "replay_session",
           "retime_payload"]
