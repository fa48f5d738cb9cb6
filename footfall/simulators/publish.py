"""Publish device streams to the broker as a live device would: chunked frames, paced in time.

Used by ``footfall simulate`` and the demo. Each device gets its retained ``meta`` and
``status``; frames go out in sensor-time order across devices, at ``speed`` × real time (or as
fast as the broker acknowledges them), so the processor sees the same interleaving as live.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import aiomqtt
import numpy as np
import numpy.typing as npt

from footfall.config import Settings
from footfall.simulators.runner import SyntheticRun
from footfall.wire.events import DeviceMeta, DeviceStatus
from footfall.wire.frame import ImuFrame, encode
from footfall.wire.topics import Stream, Topic

log = logging.getLogger(__name__)

#: 25 samples = 25 ms at 1 kHz: 40 messages/s per sensor; docs/wire.md has the measurement
DEFAULT_CHUNK_MS = 25.0


@dataclass(frozen=True)
class DeviceStream:
    """Everything one simulated device will send."""

    device: str
    meta: DeviceMeta
    counts: npt.NDArray[np.int16]  # (n, 3|6) int16 counts of ±accel_range_g
    sample_rate_hz: float
    accel_range_g: int
    #: frame sequence numbers lost on the way (BLE loss emulation): counted, never sent
    dropped_seqs: frozenset[int] = field(default_factory=frozenset)

    def frames(self, start_utc_ns: int, chunk_samples: int) -> Iterator[ImuFrame]:
        n = self.counts.shape[0]
        for seq, first in enumerate(range(0, n, chunk_samples)):
            offset_ns = round(first * 1e9 / self.sample_rate_hz)
            yield ImuFrame(
                seq=seq,
                sensor_time_us=offset_ns // 1000,
                utc_ns=start_utc_ns + offset_ns,
                sample_rate_hz=self.sample_rate_hz,
                accel_range_g=self.accel_range_g,
                counts=self.counts[first : first + chunk_samples],
            )


@dataclass
class PublishStats:
    frames_sent: int = 0
    frames_dropped: int = 0
    samples_sent: int = 0
    duration_s: float = 0.0  # sensor time covered


def chunk_samples_for(sample_rate_hz: float, chunk_ms: float) -> int:
    return max(1, round(sample_rate_hz * chunk_ms / 1000.0))


async def publish_streams(
    settings: Settings,
    streams: list[DeviceStream],
    *,
    start_utc_ns: int | None = None,
    speed: float | None = 1.0,
    chunk_ms: float = DEFAULT_CHUNK_MS,
    progress: Callable[[float, PublishStats], None] | None = None,
    client_id: str | None = None,
) -> PublishStats:
    """Send every stream; ``speed=None`` means as fast as the broker takes it."""
    start_utc_ns = time.time_ns() if start_utc_ns is None else start_utc_ns
    stats = PublishStats()
    topic = {s.device: Topic(settings.athlete, settings.session, s.device, Stream.IMU)
             for s in streams}
    # merge the devices' frames in sensor-time order
    heap: list[tuple[int, int, int, ImuFrame]] = []
    iterators = []
    for index, stream in enumerate(streams):
        it = stream.frames(start_utc_ns, chunk_samples_for(stream.sample_rate_hz, chunk_ms))
        iterators.append(it)
        first = next(it, None)
        if first is not None:
            heap.append((first.utc_ns, index, first.seq, first))
    heapq.heapify(heap)
    total_s = max((s.counts.shape[0] / s.sample_rate_hz for s in streams), default=0.0)

    async with aiomqtt.Client(
        settings.mqtt_host, settings.mqtt_port, username=settings.mqtt_username,
        password=(settings.mqtt_password.get_secret_value() if settings.mqtt_password else None),
        identifier=client_id, max_inflight_messages=100,
    ) as client:
        for stream in streams:
            base = Topic(settings.athlete, settings.session, stream.device, Stream.META)
            await client.publish(str(base), stream.meta.to_json(), qos=1, retain=True)
            status = Topic(settings.athlete, settings.session, stream.device, Stream.STATUS)
            await client.publish(str(status), DeviceStatus(online=True).to_json(), qos=1,
                                 retain=True)
        wall_start = time.monotonic()
        try:
            while heap:
                _, index, _, frame = heapq.heappop(heap)
                stream = streams[index]
                nxt = next(iterators[index], None)
                if nxt is not None:
                    heapq.heappush(heap, (nxt.utc_ns, index, nxt.seq, nxt))
                end_s = (frame.utc_ns - start_utc_ns) / 1e9 + frame.duration_s
                if speed is not None:
                    # a real sensor sends a chunk once its last sample exists
                    delay = wall_start + end_s / speed - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                stats.duration_s = max(stats.duration_s, end_s)
                if frame.seq in stream.dropped_seqs:
                    stats.frames_dropped += 1
                    continue
                await client.publish(str(topic[stream.device]), encode(frame), qos=1)
                stats.frames_sent += 1
                stats.samples_sent += frame.n_samples
                if progress is not None and stats.frames_sent % 20 == 0:
                    progress(min(1.0, end_s / total_s) if total_s else 1.0, stats)
        finally:
            for stream in streams:
                status = Topic(settings.athlete, settings.session, stream.device, Stream.STATUS)
                await client.publish(str(status),
                                     DeviceStatus(online=False, reason="end of run").to_json(),
                                     qos=1, retain=True)
    if progress is not None:
        progress(1.0, stats)
    return stats


def device_stream(run: SyntheticRun, device: str, *, chunk_ms: float = DEFAULT_CHUNK_MS,
                  profile: str = "sim") -> DeviceStream:
    """A synthetic run as the device that recorded it, with its BLE frame losses applied."""
    meta = DeviceMeta(profile=profile, placement=run.placement, side=run.side,
                      sample_rate_hz=run.sample_rate_hz, accel_range_g=run.accel_range_g,
                      model="footfall synthetic runner")
    n_frames = -(-run.n_samples // chunk_samples_for(run.sample_rate_hz, chunk_ms))
    loss = run.params.packet_loss_pct / 100.0
    rng = np.random.default_rng(run.params.seed + 7919)
    dropped = frozenset(int(i) for i in np.flatnonzero(rng.random(n_frames) < loss)) if loss else \
        frozenset()
    return DeviceStream(device, meta, run.counts, run.sample_rate_hz, run.accel_range_g, dropped)
