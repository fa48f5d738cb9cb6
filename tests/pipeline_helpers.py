"""Drive the real pipeline (publisher → Mosquitto → processor → InfluxDB) from a test."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from footfall.config.settings import Settings
from footfall.service.processor import ProcessorService
from footfall.simulators.publish import DeviceStream, PublishStats, device_stream, publish_streams
from footfall.simulators.runner import RunnerParams, SyntheticRun, synthesize
from footfall.storage.influx import InfluxClient, SpooledWriter, influx_target


@dataclass
class PipelineResult:
    service: ProcessorService
    writer: SpooledWriter
    published: PublishStats


def tibia_runs(duration_s: float, **params: object) -> list[SyntheticRun]:
    base = RunnerParams(**params)  # type: ignore[arg-type]
    return [synthesize(replace(base, side=side), duration_s) for side in ("left", "right")]


def streams_of(runs: list[SyntheticRun]) -> list[DeviceStream]:
    return [device_stream(run, f"tibia-{run.side}") for run in runs]


async def run_pipeline(
    settings: Settings,
    streams: list[DeviceStream],
    *,
    speed: float | None = None,
    during: Callable[[], Awaitable[None]] | None = None,
    flush_timeout_s: float = 60.0,
    writer_options: dict[str, float] | None = None,
) -> PipelineResult:
    """Publish ``streams`` through a live processor; ``during`` runs alongside the publisher."""
    async with InfluxClient(influx_target(settings)) as influx, SpooledWriter(
        influx, settings.spool_dir, **(writer_options or {})
    ) as writer:
        service = ProcessorService(settings, writer=writer, athlete=settings.athlete,
                                   session=settings.session,
                                   client_id=f"test-processor-{settings.session}")
        stop = asyncio.Event()
        processor = asyncio.create_task(service.run(stop))
        await asyncio.wait_for(service.connected.wait(), 30)
        side_task = asyncio.create_task(during()) if during else None
        published = await publish_streams(settings, streams, speed=speed)
        deadline = time.monotonic() + 60
        while sum(service.stats.frames.values()) < published.frames_sent:
            assert time.monotonic() < deadline, "processor did not receive every frame"
            await asyncio.sleep(0.05)
        if side_task is not None:
            await side_task
        stop.set()
        await processor
        assert await writer.flush(flush_timeout_s), "InfluxDB did not take every point"
    return PipelineResult(service, writer, published)
