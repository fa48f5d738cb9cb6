"""Record → replay through a real Mosquitto gives back the same messages, byte for byte."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from pathlib import Path

import aiomqtt
import pytest

from footfall.config.settings import Settings
from footfall.recordings.fit import read_fit
from footfall.recordings.recorder import RecordStats, record_session
from footfall.recordings.session_file import iter_messages, read_info
from footfall.recordings.sources import ImportOptions, import_file
from footfall.simulators.replay import ReplayStats, replay_session
from footfall.wire.events import RscSample
from footfall.wire.topics import INPUT_STREAMS, Stream, subscription

from .test_importers import FENIX2

pytestmark = pytest.mark.servers


def by_topic(path: Path, athlete: str | None = None) -> dict[str, list[bytes]]:
    out: dict[str, list[bytes]] = defaultdict(list)
    for m in iter_messages(path, INPUT_STREAMS):
        out[f"{m.topic.device}/{m.topic.stream.value}"].append(m.payload)
        assert athlete is None or m.topic.athlete == athlete
    return dict(out)


async def record_while_replaying(settings: Settings, source: Path, out: Path, *,
                                 speed: float | None, session: str | None = None
                                 ) -> ReplayStats:
    """Replay ``source`` re-labelled to the test's athlete (and ``session``), recording it."""
    session = session or settings.session
    ready = asyncio.Event()
    recorder = asyncio.create_task(record_session(
        settings, out, athlete=settings.athlete, session=session, stop_when_offline=True,
        ready=ready, duration_s=60))
    await asyncio.wait_for(ready.wait(), 10)
    stats = await replay_session(source, settings, speed=speed, athlete=settings.athlete,
                                 session=session)
    await asyncio.wait_for(recorder, 30)
    return stats


async def test_record_replay_gives_the_same_bytes(broker_settings: Settings,
                                                  short_session: Path, tmp_path: Path) -> None:
    recorded = tmp_path / "recorded.mcap"
    stats = await record_while_replaying(broker_settings, short_session, recorded, speed=None)
    original = by_topic(short_session)
    assert stats.messages_sent == sum(len(v) for v in original.values())
    again = by_topic(recorded, athlete=broker_settings.athlete)
    assert again == original  # every payload, in order, per device and stream
    info = read_info(recorded)
    assert info.source == "mqtt"
    assert info.devices["tibia-left"].sample_rate_hz == 1000.0
    assert (info.athlete, info.session) == (broker_settings.athlete, broker_settings.session)

    # and the recording replays to the same bytes once more (a new session id: the first
    # round's retained meta/status would otherwise greet the recorder again)
    twice = tmp_path / "twice.mcap"
    await record_while_replaying(broker_settings, recorded, twice, speed=None, session="again")
    assert by_topic(twice) == original


async def test_replay_keeps_the_original_timing(broker_settings: Settings,
                                                short_session: Path, tmp_path: Path) -> None:
    recorded = tmp_path / "timed.mcap"
    stats = await record_while_replaying(broker_settings, short_session, recorded, speed=8.0)
    # 4 s of session at 8x: about 0.5 s of wall time (generous bounds: CI machines stall)
    assert 0.45 < stats.wall_s < 5.0
    imu = [m.log_time_ns for m in iter_messages(recorded, {Stream.IMU})]
    assert 0.4 < (imu[-1] - imu[0]) / 1e9 < 5.0


async def test_fit_replay_reproduces_the_file_cadence(broker_settings: Settings,
                                                      tmp_path: Path) -> None:
    session = tmp_path / "fenix2.mcap"
    import_file("fit", FENIX2, session, ImportOptions(athlete="x", session="y"))
    received: list[RscSample] = []
    settings = broker_settings
    topic = subscription(settings.athlete, settings.session, "footpod", Stream.RSC)
    async with aiomqtt.Client(settings.mqtt_host, settings.mqtt_port) as client:
        await client.subscribe(topic, qos=1)
        await replay_session(session, settings, speed=None, athlete=settings.athlete,
                             session=settings.session)
        expected = len(read_fit(FENIX2).samples)
        async with asyncio.timeout(30):
            async for message in client.messages:
                assert isinstance(message.payload, bytes)
                received.append(RscSample.from_json(message.payload))
                if len(received) == expected:
                    break
    truth = [s.cadence_spm for s in read_fit(FENIX2).samples]
    assert [s.cadence_spm for s in received] == pytest.approx(truth, abs=1.0)
    mean = sum(s.cadence_spm for s in received) / len(received)
    assert mean == pytest.approx(sum(truth) / len(truth), abs=1.0)


async def test_a_cancelled_recording_is_a_complete_file(broker_settings: Settings,
                                                        short_session: Path,
                                                        tmp_path: Path) -> None:
    out = tmp_path / "cut.mcap"
    ready = asyncio.Event()
    stats = RecordStats()
    recorder = asyncio.create_task(record_session(
        broker_settings, out, athlete=broker_settings.athlete, ready=ready, stats=stats))
    await asyncio.wait_for(ready.wait(), 10)
    await replay_session(short_session, broker_settings, speed=None,
                         athlete=broker_settings.athlete)
    async with asyncio.timeout(10):
        while stats.messages < 10:
            await asyncio.sleep(0.01)
    recorder.cancel()  # what Ctrl-C / SIGTERM do in `footfall record`
    with pytest.raises(asyncio.CancelledError):
        await recorder
    info = read_info(out)
    assert info.message_count == stats.messages >= 10


async def test_a_late_record_says_the_session_already_ended(settings: Settings,
                                                             tmp_path: Path) -> None:
    """`footfall record --until-offline` started after the run: it says what it waits for
    instead of waiting silently for ever."""
    from footfall.wire.events import DeviceStatus

    topic = f"footfall/v1/{settings.athlete}/{settings.session}/tibia-left/status"
    ended = DeviceStatus(online=False, reason="end of run", final=True).to_json()
    async with aiomqtt.Client(settings.mqtt_host, settings.mqtt_port) as client:
        await client.publish(topic, ended, qos=1, retain=True)
    said: list[str] = []
    try:
        await record_session(settings, tmp_path / "late.mcap", athlete=settings.athlete,
                             session=settings.session, stop_when_offline=True,
                             duration_s=5.0, notice=said.append)
    finally:
        async with aiomqtt.Client(settings.mqtt_host, settings.mqtt_port) as client:
            await client.publish(topic, b"", qos=1, retain=True)  # clear the retained status
    assert len(said) == 1 and "ended before recording started" in said[0]
    assert "tibia-left" in said[0] and "before the run" in said[0]
