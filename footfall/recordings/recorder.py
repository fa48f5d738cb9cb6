"""Record a session's MQTT traffic into a session file (the inverse of :mod:`.replay`).

Everything under ``footfall/v1/<athlete>/<session>/#`` is written as received, raw device data
and derived events alike; the retained ``meta``/``status`` arrive first, on subscribing. The
file is always finished (summary and metadata written), also on cancel or a broker error.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from footfall.config.settings import Settings
from footfall.recordings.session_file import SessionWriter
from footfall.wire import mqtt
from footfall.wire.events import DeviceStatus, EventError
from footfall.wire.topics import ROOT, Stream, Topic, TopicError

log = logging.getLogger(__name__)

#: aiomqtt drops (and logs) beyond this; writing a message takes microseconds
MAX_QUEUED_MESSAGES = 100_000
#: with --until-offline and no device online by then, say what the recording waits for
WAITING_NOTICE_S = 3.0


@dataclass
class RecordStats:
    messages: int = 0
    skipped: int = 0
    by_stream: dict[str, int] = field(default_factory=dict)
    devices: set[str] = field(default_factory=set)
    wall_s: float = 0.0


async def record_session(
    settings: Settings,
    path: Path | str,
    *,
    athlete: str = "+",
    session: str = "+",
    duration_s: float | None = None,
    stop_when_offline: bool = False,
    ready: asyncio.Event | None = None,
    progress: Callable[[RecordStats], None] | None = None,
    extra: Mapping[str, str] | None = None,
    client_id: str | None = None,
    stats: RecordStats | None = None,
    notice: Callable[[str], None] | None = None,
) -> RecordStats:
    """Record until ``duration_s`` passes, every device went offline, or the task is cancelled.

    ``athlete``/``session`` filter the topics (``+`` = any). ``ready`` is set once the
    subscription is active, so a caller can start publishing without losing the beginning.
    With ``stop_when_offline``, recording ends when every device that reported a status has
    published ``online: false`` (the end of a simulated or replayed run, or the last will).
    Pass ``stats`` to read the counts even when the task is cancelled (Ctrl-C); the file is
    finished either way. ``notice`` hears, once, what a recording that waits for a device to
    come online is waiting for (a late start: the session it was meant for already ended).
    """
    stats = RecordStats() if stats is None else stats
    online: dict[str, bool] = {}
    seen_online = False
    started = time.monotonic()
    filter_ = f"{ROOT}/{athlete}/{session}/#"
    source_extra = {"recorded_from": settings.mqtt_url, "topic_filter": filter_, **(extra or {})}
    with SessionWriter(path, source="mqtt", extra=source_extra) as writer:
        async with mqtt.client(settings, client_id=client_id,
                               max_queued_incoming_messages=MAX_QUEUED_MESSAGES) as client:
            await client.subscribe(filter_, qos=1)
            if ready is not None:
                ready.set()

            async def say_what_it_waits_for() -> None:
                await asyncio.sleep(WAITING_NOTICE_S)
                if notice is None or not stop_when_offline or seen_online:
                    return
                if online:
                    notice(f"every device on {filter_} says it is offline ("
                           f"{', '.join(sorted(k.rsplit('/', 1)[1] for k in online))}): the "
                           "session ended before recording started. --until-offline now "
                           "waits for a device to come online; start `footfall record` "
                           "before the run, or Ctrl-C")
                else:
                    notice(f"no device has reported on {filter_} yet: waiting for the run to "
                           "start (Ctrl-C stops)")

            waiter = asyncio.create_task(say_what_it_waits_for())
            try:
                async with asyncio.timeout(duration_s):
                    async for message in client.messages:
                        now_ns = time.time_ns()
                        payload = message.payload
                        if not isinstance(payload, bytes | bytearray):
                            stats.skipped += 1
                            log.warning("skipping non-binary payload on %s", message.topic)
                            continue
                        try:
                            topic = Topic.parse(message.topic.value)
                        except TopicError as exc:
                            stats.skipped += 1
                            log.warning("skipping message: %s", exc)
                            continue
                        writer.write(topic, bytes(payload), log_time_ns=now_ns)
                        stats.messages += 1
                        stats.by_stream[topic.stream.value] = \
                            stats.by_stream.get(topic.stream.value, 0) + 1
                        stats.devices.add(topic.device)
                        if progress is not None and stats.messages % 100 == 0:
                            progress(stats)
                        if topic.stream is Stream.STATUS:
                            is_online = _is_online(bytes(payload))
                            online[f"{topic.athlete}/{topic.session}/{topic.device}"] = is_online
                            seen_online = seen_online or is_online
                            # a retained "offline" of an earlier run must not end it at once
                            if stop_when_offline and seen_online and not any(online.values()):
                                log.info("every device is offline: recording ends")
                                break
            except TimeoutError:
                log.info("recording ends after %.1f s", duration_s)
            finally:
                waiter.cancel()
    stats.wall_s = time.monotonic() - started
    if progress is not None:
        progress(stats)
    return stats


def _is_online(payload: bytes) -> bool:
    try:
        return DeviceStatus.from_json(payload).online
    except EventError as exc:
        log.warning("unreadable status payload (%s): treating the device as online", exc.reason)
        return True
