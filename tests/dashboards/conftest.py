"""The sample session, replayed once through the real broker and processor into InfluxDB."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import pytest

from footfall.config.settings import Settings, load_settings
from footfall.recordings.session_file import read_info
from footfall.service.processor import ProcessorService
from footfall.simulators.replay import replay_session
from footfall.stack.servers import Server
from footfall.storage.influx import InfluxClient, SpooledWriter, influx_target
from footfall.wire.events import StepEvent
from footfall.wire.topics import Topic

SAMPLE = Path(str(resources.files("footfall").joinpath("data", "sample-session.mcap")))
#: The sample session lasts 120 s: exactly the default warm-up (60 s) + baseline (60 s), so its
#: baseline would complete at its very end and no drift would ever be written. The replay marks
#: the baseline early, as a therapist does live (SessionProcessor.mark_baseline), so that
#: every panel — drift, target band, segments — has data to show.
BASELINE_AT_S = 20.0
BASELINE_S = 30.0


@dataclass(frozen=True)
class Replayed:
    settings: Settings
    athlete: str
    session: str
    from_ms: int
    to_ms: int

    def query(self, q: str) -> list[dict[str, Any]]:
        """Run InfluxQL the way Grafana does (GET /query, epoch=ms); raises on an error."""
        target = influx_target(self.settings)
        response = httpx.get(f"{target.url}/query",
                             params=target.params(q=q, epoch="ms"), timeout=30)
        response.raise_for_status()
        body = response.json()
        result = body["results"][0]
        if "error" in result:
            raise AssertionError(f"InfluxDB refused {q!r}: {result['error']}")
        series: list[dict[str, Any]] = result.get("series", [])
        return series


async def _replay(settings: Settings) -> None:
    info = read_info(SAMPLE)
    marked: list[bool] = []

    def mark_baseline(topic: Topic, event: object) -> None:
        if marked or not isinstance(event, StepEvent):
            return
        processor = service.processor(topic.athlete, topic.session)
        if set(processor.imu) == set(info.devices):
            processor.mark_baseline(at_ns=info.start_ns + round(BASELINE_AT_S * 1e9),
                                    duration_s=BASELINE_S)
            marked.append(True)

    async with InfluxClient(influx_target(settings)) as influx, \
            SpooledWriter(influx, settings.spool_dir) as writer:
        service = ProcessorService(settings, writer=writer, client_id=f"dash-{settings.session}",
                                   on_event=mark_baseline)
        stop = asyncio.Event()
        task = asyncio.create_task(service.run(stop))
        await asyncio.wait_for(service.connected.wait(), 30)
        stats = await replay_session(SAMPLE, settings, speed=None, athlete=settings.athlete,
                                     session=settings.session)
        async with asyncio.timeout(60):
            while sum(service.stats.frames.values()) < stats.frames_sent:
                await asyncio.sleep(0.05)
        stop.set()
        await task
        if not await writer.flush(60):
            raise AssertionError("InfluxDB did not take every point")
    if not marked:
        raise AssertionError("the baseline was never marked: no step from both devices")


@pytest.fixture(scope="package")
def replayed(mosquitto: Server, influxdb: Server,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replayed]:
    unique = uuid.uuid4().hex[:8]
    settings = load_settings(
        mqtt_url=mosquitto.url, influx_url=influxdb.url, influx_database=f"dash_{unique}",
        athlete=f"ana.{unique}", session=f"20260115T090000Z-{unique}",
        state_dir=tmp_path_factory.mktemp("dashboards"),
        # a cadence target, so the summary has a time in the target band to show
        alerts={"target_increase_pct": 5.0},
    )
    asyncio.run(_replay(settings))
    info = read_info(SAMPLE)
    yield Replayed(settings, settings.athlete, settings.session,
                   from_ms=info.start_ns // 1_000_000 - 1000,
                   to_ms=info.end_ns // 1_000_000 + 5000)
