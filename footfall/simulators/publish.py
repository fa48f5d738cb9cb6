"""Publish device streams to the broker as a live device would: chunked frames, paced in time.

Used by ``footfall simulate``. Each device gets its retained ``meta`` and ``status``; frames go
out in arrival order across devices (``framing.TimedFrame.due_s``: the last sample's time plus
BLE latency and jitter), at ``speed`` × real time or as fast as the broker acknowledges them,
so the processor sees the same interleaving as live. Lost frames (``framing``) never leave.
A broker lost mid-run is waited for and nothing is skipped
(:class:`~footfall.wire.delivery.ReliablePublisher`).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from footfall.config.settings import Settings
from footfall.core.pacing import Pacer
from footfall.recordings.framing import TimedFrame
from footfall.simulators.framing import to_frames
from footfall.simulators.runner import SyntheticRun
from footfall.wire.delivery import ReliablePublisher
from footfall.wire.events import DeviceMeta, DeviceStatus
from footfall.wire.frame import encode
from footfall.wire.topics import Stream, Topic

log = logging.getLogger(__name__)

#: 25 samples = 25 ms at 1 kHz: 40 messages/s per sensor; docs/wire.md has the measurement
DEFAULT_CHUNK_MS = 25.0


@dataclass(frozen=True)
class DeviceStream:
    """Everything one simulated device will send.

    Frame ``utc_ns`` values are relative to the run's first sample (t = 0); the publisher adds
    the start time, so one stream can be published "now" any number of times.
    """

    device: str
    meta: DeviceMeta
    frames: list[TimedFrame]
    frames_lost: int = 0

    def split(self, at_s: float) -> tuple[DeviceStream, DeviceStream]:
        """The frames due before ``at_s``, and the rest (for outage tests)."""
        before = [f for f in self.frames if f.due_s < at_s]
        return (dataclasses.replace(self, frames=before),
                dataclasses.replace(self, frames=self.frames[len(before):]))


@dataclass
class PublishStats:
    frames_sent: int = 0
    frames_lost: int = 0  # by the emulated BLE link, on purpose
    samples_sent: int = 0
    duration_s: float = 0.0  # sensor time covered
    reconnects: int = 0  # the broker was lost and came back
    resent: int = 0  # messages sent again after a reconnect


def chunk_samples_for(sample_rate_hz: float, chunk_ms: float) -> int:
    return max(1, round(sample_rate_hz * chunk_ms / 1000.0))


def device_stream(run: SyntheticRun, device: str, *, chunk_ms: float = DEFAULT_CHUNK_MS,
                  profile: str = "sim") -> DeviceStream:
    """A synthetic run as the device that recorded it, with its BLE losses and jitter."""
    meta = DeviceMeta(profile=profile, placement=run.placement, side=run.side,
                      sample_rate_hz=run.sample_rate_hz, accel_range_g=run.accel_range_g,
                      model="footfall synthetic runner")
    frames, stats = to_frames(run, start_utc_ns=0,
                              samples_per_frame=chunk_samples_for(run.sample_rate_hz, chunk_ms))
    return DeviceStream(device, meta, frames, stats.frames_lost)


async def publish_streams(
    settings: Settings,
    streams: list[DeviceStream],
    *,
    start_utc_ns: int | None = None,
    speed: float | None = 1.0,
    progress: Callable[[float, PublishStats], None] | None = None,
    client_id: str | None = None,
    on_outage: Callable[[str], None] | None = None,
) -> PublishStats:
    """Send every stream at ``speed`` × real time (``None`` or 0: as fast as the broker
    takes it); ``on_outage`` hears about a lost broker and its return."""
    stats = PublishStats(frames_lost=sum(s.frames_lost for s in streams))
    timeline = sorted(((timed.due_s, index, timed) for index, s in enumerate(streams)
                       for timed in s.frames), key=lambda item: (item[0], item[1]))
    total_s = timeline[-1][0] if timeline else 0.0
    topics = [str(Topic(settings.athlete, settings.session, s.device, Stream.IMU))
              for s in streams]

    publisher = ReliablePublisher(settings, client_id=client_id, max_inflight_messages=100,
                                  on_outage=on_outage)
    async with publisher:
        for stream in streams:
            meta = Topic(settings.athlete, settings.session, stream.device, Stream.META)
            await publisher.publish(str(meta), stream.meta.to_json(), retain=True)
            status = Topic(settings.athlete, settings.session, stream.device, Stream.STATUS)
            await publisher.publish(str(status), DeviceStatus(online=True).to_json(),
                                    retain=True)
        # the first sample is "now" once connected: stamped before the connect (and the retained
        # publishes) every frame would look that much older than it is
        start_utc_ns = time.time_ns() if start_utc_ns is None else start_utc_ns
        pacer = Pacer(speed)
        pacer.start()
        try:
            for due_s, index, timed in timeline:
                await pacer.wait_until(due_s)
                frame = timed.frame.replace(utc_ns=timed.frame.utc_ns + start_utc_ns)
                await publisher.publish(topics[index], encode(frame))
                stats.frames_sent += 1
                stats.samples_sent += frame.n_samples
                stats.duration_s = max(stats.duration_s, due_s)
                if progress is not None and stats.frames_sent % 20 == 0:
                    progress(min(1.0, due_s / total_s) if total_s else 1.0, stats)
        finally:
            for stream in streams:
                status = Topic(settings.athlete, settings.session, stream.device, Stream.STATUS)
                await publisher.publish(str(status),
                                        DeviceStatus(online=False, reason="end of run",
                                                     final=True).to_json(), retain=True)
    stats.reconnects, stats.resent = publisher.stats.reconnects, publisher.stats.resent
    if progress is not None:
        progress(1.0, stats)
    return stats
