"""Device tracks (one device's timed messages) and writing them as a session file."""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from footfall.recordings.framing import TimedFrame
from footfall.recordings.session_file import (
    DEFAULT_CHUNK_SIZE,
    SessionInfo,
    SessionWriter,
    read_info,
)
from footfall.wire.events import DeviceMeta, DeviceStatus
from footfall.wire.frame import encode
from footfall.wire.topics import Stream, Topic

#: the retained meta/status precede a device's first data by this much
META_LEAD_NS = 2_000_000
#: the same chunk length as the live publisher (docs/wire.md): 25 ms
DEFAULT_CHUNK_MS = 25.0


@dataclass(frozen=True, slots=True)
class DeviceTrack:
    """Everything one device publishes, as (log_time_ns, stream, payload), time-ordered."""

    device: str
    meta: DeviceMeta
    messages: Sequence[tuple[int, Stream, bytes]]
    end_reason: str = "end of recording"
    status: bool = field(default=True)  # wrap in status online/offline like a live device


def imu_track(device: str, meta: DeviceMeta, frames: Iterable[TimedFrame],
              start_utc_ns: int) -> DeviceTrack:
    """Frames delivered at ``start_utc_ns + due_s`` (what a live recording would have logged)."""
    messages = [(start_utc_ns + round(f.due_s * 1e9), Stream.IMU, encode(f.frame))
                for f in frames]
    return DeviceTrack(device, meta, messages)


def chunk_samples(sample_rate_hz: float, chunk_ms: float = DEFAULT_CHUNK_MS) -> int:
    return max(1, round(sample_rate_hz * chunk_ms / 1000))


def track_messages(tracks: Sequence[DeviceTrack], *, athlete: str,
                   session: str) -> Iterator[tuple[int, Topic, bytes]]:
    """Every track's messages merged in log-time order, each device framed by its retained
    ``meta`` and ``status`` (online first; at the end offline with ``final``, a normal end),
    exactly as they would reach the broker: what a session file holds and what ``footfall
    analyze`` feeds the processor."""
    if not tracks or not any(t.messages for t in tracks):
        raise ValueError("nothing to play: no device has any message")
    first_ns = min(t.messages[0][0] for t in tracks if t.messages)
    last_ns = max(t.messages[-1][0] for t in tracks if t.messages)
    streams: list[list[tuple[int, int, Topic, bytes]]] = []
    for index, track in enumerate(tracks):
        def topic(stream: Stream, device: str = track.device) -> Topic:
            return Topic(athlete, session, device, stream)
        items = [(first_ns - META_LEAD_NS, index, topic(Stream.META), track.meta.to_json())]
        if track.status:
            items.append((first_ns - META_LEAD_NS, index, topic(Stream.STATUS),
                          DeviceStatus(online=True).to_json()))
        items += [(t, index, topic(s), p) for t, s, p in track.messages]
        if track.status:
            items.append((last_ns + 1_000_000, index, topic(Stream.STATUS),
                          DeviceStatus(online=False, reason=track.end_reason,
                                       final=True).to_json()))
        streams.append(items)
    for log_ns, _, topic_, payload in heapq.merge(*streams, key=lambda m: (m[0], m[1])):
        yield log_ns, topic_, payload


def write_session(
    path: Path | str,
    tracks: Sequence[DeviceTrack],
    *,
    athlete: str,
    session: str,
    source: str,
    extra: Mapping[str, str] | None = None,
    attachments: Mapping[str, bytes] | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    created_ns: int | None = None,
) -> SessionInfo:
    """Write the tracks as a session file (:func:`track_messages`, then the attachments)."""
    messages = list(track_messages(tracks, athlete=athlete, session=session))
    with SessionWriter(path, source=source, extra=extra, chunk_size=chunk_size,
                       created_ns=created_ns) as writer:
        for log_ns, topic_, payload in messages:
            writer.write(topic_, payload, log_time_ns=log_ns)
        for name, data in (attachments or {}).items():
            writer.attach(name, data)
    return read_info(path)
