"""Replaying the sample session drives the live pipeline to the same steps as offline analysis."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest

from footfall.config.settings import Settings
from footfall.processing.offline import analyze_messages
from footfall.recordings.session_file import iter_messages
from footfall.service.processor import ProcessorService
from footfall.simulators.replay import replay_session
from footfall.storage.influx import InfluxClient, SpooledWriter, influx_target, rows
from footfall.wire.events import StepEvent

from .test_sample_session import SAMPLE

pytestmark = pytest.mark.servers


def offline_steps(athlete: str, session: str) -> dict[str, list[StepEvent]]:
    """The same file through the same router, in one go (no broker): footfall analyze."""
    results = analyze_messages([(m.topic, m.payload) for m in iter_messages(SAMPLE)])
    return {device: r.steps for device, r in results.items() if r.steps}


async def test_sample_replay_matches_offline_analysis(settings: Settings) -> None:
    async with InfluxClient(influx_target(settings)) as influx, SpooledWriter(
            influx, settings.spool_dir) as writer:
        service = ProcessorService(settings, writer=writer, athlete=settings.athlete,
                                   session=settings.session, client_id=f"t-{settings.session}")
        stop = asyncio.Event()
        processor = asyncio.create_task(service.run(stop))
        await asyncio.wait_for(service.connected.wait(), 30)
        stats = await replay_session(SAMPLE, settings, speed=None, athlete=settings.athlete,
                                     session=settings.session)
        deadline = time.monotonic() + 60
        while sum(service.stats.frames.values()) < stats.frames_sent:
            assert time.monotonic() < deadline, "the processor did not get every frame"
            await asyncio.sleep(0.05)
        stop.set()
        await processor
        assert await writer.flush(60)
        found = rows(await influx.query(
            f"SELECT \"impact_g\", \"sensor_time_s\" FROM \"step\" WHERE \"session\" = "
            f"'{settings.session}' GROUP BY \"device\""))
    offline = offline_steps(settings.athlete, settings.session)
    assert set(offline) == {"tibia-left", "tibia-right"}
    for device, steps in offline.items():
        live = sorted((r for r in found if r["device"] == device),
                      key=lambda r: float(r["sensor_time_s"]))
        assert len(live) == len(steps) > 160
        assert np.allclose([float(r["sensor_time_s"]) for r in live],
                           [s.sensor_time_s for s in steps], atol=1e-6)
        assert np.allclose([float(r["impact_g"]) for r in live],
                           [s.impact_g for s in steps], rtol=1e-6)
