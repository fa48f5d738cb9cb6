"""End to end on real servers: simulated sensors → Mosquitto → processor → InfluxDB."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest

from footfall.config.settings import Settings
from footfall.stack.servers import Server, free_port
from footfall.storage.influx import InfluxClient, influx_target, rows
from footfall.wire.topics import Stream, Topic
from tests.pipeline_helpers import run_pipeline, streams_of, tibia_runs

pytestmark = pytest.mark.servers


async def step_rows(settings: Settings) -> list[dict[str, object]]:
    async with InfluxClient(influx_target(settings)) as influx:
        series = await influx.query(
            "SELECT \"impact_g\", \"cadence_spm\", \"clipped\", \"sensor_time_s\" "
            f"FROM \"step\" WHERE "
            f"\"athlete\" = '{settings.athlete}' AND \"session\" = '{settings.session}' "
            "GROUP BY \"device\", \"side\", \"placement\""
        )
    return rows(series)


@pytest.mark.parametrize("seed", [11, 2026])
async def test_simulated_run_reaches_influxdb_with_every_step(
    settings: Settings, seed: int
) -> None:
    runs = tibia_runs(40.0, cadence_spm=172.0, seed=seed)
    result = await run_pipeline(settings, streams_of(runs))

    found = await step_rows(settings)
    assert result.service.stats.malformed == 0
    for run in runs:
        device = f"tibia-{run.side}"
        mine = [r for r in found if r["device"] == device]
        truth = run.truth.own()
        assert abs(len(mine) - len(truth)) <= 1, (device, len(mine), len(truth))
        assert {r["side"] for r in mine} == {run.side}
        assert {r["placement"] for r in mine} == {"tibia"}
        # the first strike has no interval yet, so no cadence (None, never a made-up 0)
        known = [float(r["cadence_spm"]) for r in mine if r["cadence_spm"] is not None]  # type: ignore[arg-type]
        assert len(known) >= len(mine) - 2
        cadence = float(np.median(known))
        assert abs(cadence - 172.0) < 1.0, (device, cadence)
        # each reported step is this leg's own strike (not the other leg's echo), timed and
        # sized like the truth
        times = np.array([float(r["sensor_time_s"]) for r in mine])  # type: ignore[arg-type]
        nearest = np.abs(times[:, None] - truth.time_s[None, :]).argmin(axis=1)
        offset_s = np.abs(times - truth.time_s[nearest])
        assert np.mean(offset_s < 0.015) > 0.97, (device, np.sort(offset_s)[-5:])
        impacts = np.array([float(r["impact_g"]) for r in mine])  # type: ignore[arg-type]
        error = np.abs(impacts - truth.impact_g[nearest]) / truth.impact_g[nearest]
        assert np.median(error) < 0.1, (device, np.median(error))
    # per-second metrics made it too
    async with InfluxClient(influx_target(settings)) as influx:
        metrics = rows(await influx.query(
            f"SELECT count(\"steps_total\") FROM \"metrics\" WHERE \"session\" = "
            f"'{settings.session}' GROUP BY \"device\""))
    assert {m["device"] for m in metrics} == {"tibia-left", "tibia-right"}
    assert all(int(m["count"]) >= 35 for m in metrics)  # type: ignore[call-overload]


async def test_malformed_frames_are_counted_and_set_aside(settings: Settings) -> None:
    import aiomqtt

    runs = tibia_runs(6.0, seed=3)
    garbage = [b"", b"FF\x01", b"not a frame at all" * 3]

    async def inject() -> None:
        topic = Topic(settings.athlete, settings.session, "tibia-left", Stream.IMU)
        async with aiomqtt.Client(settings.mqtt_host, settings.mqtt_port) as client:
            for payload in garbage:
                await client.publish(str(topic), payload, qos=1)

    result = await run_pipeline(settings, streams_of(runs), during=inject)
    assert result.service.stats.malformed == len(garbage)
    quarantined = list((settings.state_dir / "quarantine").glob("*.jsonl"))
    lines = quarantined[0].read_text().splitlines()
    assert len(lines) == len(garbage)
    assert "shorter than the header" in lines[0] or "shorter than the header" in lines[1]
    # and the good data still went through
    assert len(await step_rows(settings)) > 0


async def test_influxdb_outage_loses_and_duplicates_nothing(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Stop InfluxDB mid-run and restart it: every step arrives, each written exactly once."""
    own = Server("influxdb", tmp_path_factory.mktemp("influx-outage"), "127.0.0.1", free_port(),
                 rpc_port=free_port())
    own.start()
    settings = settings.model_copy(update={"influx_url": own.url})
    runs = tibia_runs(30.0, seed=5)
    outage = {}

    async def outage_midway() -> None:
        await asyncio.sleep(1.5)
        await asyncio.to_thread(own.stop)
        await asyncio.sleep(3.0)
        outage["failures_during"] = True
        await asyncio.to_thread(own.start)

    try:
        # 30 s of signal at 5x: the run outlasts the outage window
        result = await run_pipeline(settings, streams_of(runs), speed=5.0, during=outage_midway,
                                    writer_options={"flush_interval_s": 0.2,
                                                    "backoff_initial_s": 0.2,
                                                    "backoff_max_s": 1.0})
        stats = result.writer.stats
        assert stats.write_failures > 0, "the outage was not noticed: the test proves nothing"
        assert stats.lines_rejected == 0
        assert stats.lines_written == stats.lines_queued  # each line sent successfully once
        found = await step_rows(settings)
        assert len(found) == result.service.stats.published["step"]
        times = [(r["device"], r["time"]) for r in found]
        assert len(times) == len(set(times))
        assert not list(settings.spool_dir.glob("*.lp"))
    finally:
        own.stop()


async def test_processor_survives_a_broker_restart(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Broker down between two halves of a run: the processor reconnects to its persistent
    session, and every frame sent while it was away is delivered and processed."""
    from footfall.service.processor import ProcessorService
    from footfall.simulators.publish import publish_streams
    from footfall.storage.influx import SpooledWriter

    broker = Server("mosquitto", tmp_path_factory.mktemp("broker-restart"), "127.0.0.1",
                    free_port())
    broker.start()
    settings = settings.model_copy(update={"mqtt_url": broker.url})
    halves = [s.split(10.0) for s in streams_of(tibia_runs(20.0, seed=8))]
    first = [before for before, _ in halves]
    try:
        async with InfluxClient(influx_target(settings)) as influx, \
                SpooledWriter(influx, settings.spool_dir) as writer:
            service = ProcessorService(settings, writer=writer, athlete=settings.athlete,
                                       session=settings.session, reconnect_s=0.2,
                                       client_id=f"restart-{settings.session}")
            stop = asyncio.Event()
            processor = asyncio.create_task(service.run(stop))
            await asyncio.wait_for(service.connected.wait(), 30)
            start_ns = time.time_ns()
            sent = (await publish_streams(settings, first, speed=None,
                                          start_utc_ns=start_ns)).frames_sent
            while sum(service.stats.frames.values()) < sent:
                await asyncio.sleep(0.05)
            await asyncio.to_thread(broker.stop)
            await asyncio.sleep(0.5)
            await asyncio.to_thread(broker.start)
            # the second half is published before the processor is back: the broker queues it
            # for the processor's persistent session
            second = [after for _, after in halves]
            sent += (await publish_streams(settings, second, speed=None,
                                           start_utc_ns=start_ns)).frames_sent
            for _ in range(600):
                if sum(service.stats.frames.values()) >= sent:
                    break
                await asyncio.sleep(0.05)
            stop.set()
            await processor
            assert await writer.flush(30)
        assert service.stats.reconnects >= 1
        assert sum(service.stats.frames.values()) == sent
    finally:
        broker.stop()


async def test_ble_frame_loss_is_reported_as_packet_loss(settings: Settings) -> None:
    """Frames lost on the (emulated) BLE link show up in the stored data-quality metrics."""
    runs = tibia_runs(40.0, seed=21, packet_loss_pct=4.0)
    result = await run_pipeline(settings, streams_of(runs))
    assert result.published.frames_lost > 0
    async with InfluxClient(influx_target(settings)) as influx:
        last = rows(await influx.query(
            f"SELECT last(\"packet_loss_pct\") FROM \"metrics\" WHERE \"session\" = "
            f"'{settings.session}' GROUP BY \"device\""))
    assert {r["device"] for r in last} == {"tibia-left", "tibia-right"}
    total = sum(s.frames_lost + len(s.frames) for s in streams_of(runs))
    expected_pct = 100.0 * result.published.frames_lost / total
    for row in last:
        loss_pct = float(row["last"])  # type: ignore[arg-type]
        assert abs(loss_pct - expected_pct) < 2.5, (row, expected_pct)
