"""The processor obeys the control stream (footfall monitor's keys) end to end."""

from __future__ import annotations

import asyncio
import json

import aiomqtt
import pytest

from footfall.config.settings import Settings
from footfall.storage.influx import InfluxClient, influx_target, rows
from footfall.wire.control import ControlCommand, control_topic
from footfall.wire.topics import SESSION_DEVICE, Stream, Topic
from tests.pipeline_helpers import run_pipeline, streams_of, tibia_runs

pytestmark = pytest.mark.servers


async def test_a_cadence_target_above_the_runner_raises_one_alert(settings: Settings) -> None:
    """The runner holds 170 spm; the therapist sets 185: one cadence_target alert,
    published, kept in the retained active set, and stored for the dashboards."""
    target = ControlCommand.set_target(1_795_540_800 * 10**9, cadence_spm=185.0)

    async def send_control() -> None:
        async with aiomqtt.Client(settings.mqtt_host, settings.mqtt_port) as client:
            topic = control_topic(settings.athlete, settings.session)
            await client.publish(topic, b"{not json", qos=1)  # set aside, not obeyed
            await client.publish(topic, target.to_json(), qos=1, retain=target.retain)

    runs = tibia_runs(60.0, cadence_spm=170.0, seed=4)
    # sent alongside the run: whenever it lands, 40+ s of running below 185 spm remain
    result = await run_pipeline(settings, streams_of(runs), during=send_control)
    assert result.service.stats.malformed == 1

    async with InfluxClient(influx_target(settings)) as influx:
        alerts = rows(await influx.query(
            "SELECT \"state\", \"value\" FROM \"alert\" WHERE \"session\" = "
            f"'{settings.session}' AND \"rule\" = 'cadence_target'"))
    assert [a["state"] for a in alerts] == ["start"], alerts

    retained: list[object] = []
    active = Topic(settings.athlete, settings.session, SESSION_DEVICE, Stream.ALERTS_ACTIVE)
    async with aiomqtt.Client(settings.mqtt_host, settings.mqtt_port) as client:
        await client.subscribe(str(active), qos=1)
        async with asyncio.timeout(10):
            async for message in client.messages:
                retained = json.loads(message.payload)  # type: ignore[arg-type]
                break
    assert any(a["rule"] == "cadence_target"  # type: ignore[index]
               for a in retained), retained
