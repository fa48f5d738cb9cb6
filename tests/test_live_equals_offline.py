"""One path: a recording replayed through the live service (broker, processor, InfluxDB) gives
exactly the events `footfall analyze` gives for the same file, one by one — with the
therapist's control commands in it and a sensor that goes offline and comes back."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from footfall.config.settings import Settings
from footfall.core.vocab import Placement, Side
from footfall.processing.offline import analyze_messages
from footfall.recordings.session_file import SessionWriter, iter_messages
from footfall.service.processor import ProcessorService
from footfall.simulators.framing import to_frames
from footfall.simulators.replay import replay_session
from footfall.simulators.runner import RunnerParams, render, simulate_gait
from footfall.storage.influx import InfluxClient, SpooledWriter, influx_target, rows
from footfall.wire.control import ControlCommand
from footfall.wire.events import DeviceMeta, DeviceStatus
from footfall.wire.frame import encode
from footfall.wire.topics import INPUT_STREAMS, SESSION_DEVICE, Stream, Topic

pytestmark = pytest.mark.servers

START_NS = 1_795_540_800_000_000_000
RATE_HZ = 500.0
DURATION_S = 150.0
#: the right sensor's link drops here and comes back, 8 s later
OFFLINE_S, ONLINE_S = 110.0, 118.0


def _recording(path: Path, athlete: str, session: str) -> None:
    params = RunnerParams(sample_rate_hz=RATE_HZ, accel_range_g=16, seed=7,
                          fatigue_start_fraction=0.5, fatigue_cadence_drop_pct=5.0,
                          fatigue_pta_rise_pct=20.0)
    gait = simulate_gait(params, DURATION_S)
    items: list[tuple[int, int, Topic, bytes]] = []

    def at(t_s: float) -> int:
        return START_NS + round(t_s * 1e9)

    for order, side in enumerate((Side.LEFT, Side.RIGHT)):
        device = f"tibia-{side.value}"
        run = render(gait, replace(params, side=side))
        meta = DeviceMeta(profile="sim", placement=Placement.TIBIA, side=side,
                          sample_rate_hz=RATE_HZ, accel_range_g=16)
        items.append((at(-0.1), order, Topic(athlete, session, device, Stream.META),
                      meta.to_json()))
        items.append((at(-0.1), order, Topic(athlete, session, device, Stream.STATUS),
                      DeviceStatus(online=True, reason="streaming").to_json()))
        frames, _ = to_frames(run, start_utc_ns=START_NS, samples_per_frame=12)
        for timed in frames:
            t = timed.frame.utc_ns
            if side is Side.RIGHT and at(OFFLINE_S) <= t < at(ONLINE_S):
                continue  # the link is down: these samples never arrive
            items.append((START_NS + round(timed.due_s * 1e9), order,
                          Topic(athlete, session, device, Stream.IMU), encode(timed.frame)))
        if side is Side.RIGHT:
            status = Topic(athlete, session, device, Stream.STATUS)
            items.append((at(OFFLINE_S), order, status, DeviceStatus(
                online=False, reason="ble-disconnected").to_json()))
            items.append((at(ONLINE_S), order, status, DeviceStatus(
                online=True, reason="streaming").to_json()))
        items.append((at(DURATION_S + 0.5), order, Topic(athlete, session, device, Stream.STATUS),
                      DeviceStatus(online=False, reason="stopped", final=True).to_json()))
    control = Topic(athlete, session, SESSION_DEVICE, Stream.CONTROL)
    # the therapist marks the baseline at 40.5 s and sets a +8 % cadence target at 50.5 s
    # (between two metrics events: a command that coincides with one to the millisecond may
    # reach the processor before or after that second's frame, docs/wire.md "control")
    items.append((at(40.5), 2, control, ControlCommand.mark_baseline(at(40.5)).to_json()))
    items.append((at(50.5), 2, control,
                  ControlCommand.set_target(at(50.5), increase_pct=8.0).to_json()))
    with SessionWriter(path, source="test") as writer:
        for log_ns, _, topic, payload in sorted(items, key=lambda i: (i[0], i[1])):
            writer.write(topic, payload, log_time_ns=log_ns)


def _by_device(events: list[tuple[Topic, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for topic, event in events:
        out.setdefault(topic.device, []).append(event.to_dict())
    return out


async def test_live_service_gives_the_events_analyze_gives(settings: Settings,
                                                           tmp_path: Path) -> None:
    path = tmp_path / "session.mcap"
    _recording(path, settings.athlete, settings.session)

    offline: list[tuple[Topic, Any]] = []

    def keep(topic: Topic, event: Any) -> None:
        offline.append((topic, event))

    results = analyze_messages([(m.topic, m.payload) for m in iter_messages(path, INPUT_STREAMS)])
    for device, result in results.items():
        for event in (*result.steps, *result.metrics, *result.alerts):
            keep(Topic(settings.athlete, settings.session, device, Stream(event.TYPE)), event)

    live: list[tuple[Topic, Any]] = []
    async with InfluxClient(influx_target(settings)) as influx, \
            SpooledWriter(influx, settings.spool_dir) as writer:
        service = ProcessorService(settings, writer=writer, athlete=settings.athlete,
                                   session=settings.session, client_id=f"eq-{settings.session}",
                                   on_event=lambda t, e: live.append((t, e)))
        stop = asyncio.Event()
        task = asyncio.create_task(service.run(stop))
        await asyncio.wait_for(service.connected.wait(), 30)
        await replay_session(path, settings, speed=None)
        deadline = time.monotonic() + 60
        while service.stats.sessions_finished < 1:  # the devices said the session ended
            assert time.monotonic() < deadline, "the live session never finished"
            await asyncio.sleep(0.05)
        stop.set()
        await task
        assert await writer.flush(60)
        assert writer.stats.lines_rejected == 0 and writer.stats.lines_written > 0, writer.stats
        stored = rows(await influx.query(
            f"SELECT count(\"impact_g\") FROM \"step\" WHERE \"session\" = '{settings.session}' "
            "GROUP BY \"device\""))

    live_events = _by_device([(t, e) for t, e in live if e.TYPE != "summary"])
    offline_events = _by_device(offline)
    # the offline lists are grouped by type: compare each type's sequence per device
    for device in offline_events:
        for kind in ("step", "metrics", "alert"):
            mine = [e for e in live_events.get(device, []) if e["type"] == kind]
            theirs = [e for e in offline_events[device] if e["type"] == kind]
            assert len(mine) == len(theirs), (device, kind, len(mine), len(theirs))
            for i, (a, b) in enumerate(zip(mine, theirs, strict=True)):
                differ = {k: (a.get(k), b.get(k)) for k in a.keys() | b.keys()
                          if a.get(k) != b.get(k)}
                assert not differ, (device, kind, i, differ)
    assert set(live_events) == set(offline_events)
    # what the run holds: both legs' steps, the therapist's target, the right leg's outage
    rules = {(e["device"], e["rule"], e["state"])
             for e in offline_events[SESSION_DEVICE] + offline_events["tibia-right"]
             if e["type"] == "alert"}
    assert ("tibia-right", "sensor_offline", "start") in rules
    assert ("tibia-right", "sensor_offline", "clear") in rules
    assert ("session", "cadence_target", "start") in rules
    baseline_marked = [e for e in offline_events["tibia-left"] if e["type"] == "metrics"
                       and e["baseline_state"] == "set"]
    # marked at 40.5 s for 60 s: set from the first metrics after 100.5 s (the auto one: 120 s)
    assert baseline_marked and baseline_marked[0]["time_ns"] == START_NS + 101 * 10**9
    # and the summaries match too, live (stored at the session's end) and offline
    summaries = {t.device: e.to_dict() for t, e in live if e.TYPE == "summary"}
    assert summaries == {d: r.summary() for d, r in results.items()
                         if r.device_summary is not None}
    assert {r["device"]: r["count"] for r in stored} == {
        d: len(r.steps) for d, r in results.items() if r.steps}
