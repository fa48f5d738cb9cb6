"""``footfall monitor`` on the replayed sample session: real Mosquitto, the real processor,
the monitor both in-process (its frame rendered at 80x24) and as a command in an 80x24 tmux
pane — and the screen text must show the numbers the offline analysis of the file gives."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.console import Console

from footfall.config.settings import Settings
from footfall.processing.offline import analyze_messages
from footfall.recordings.session_file import iter_messages
from footfall.service.processor import ProcessorService
from footfall.simulators.replay import replay_session
from footfall.views.monitor.app import Monitor
from footfall.wire.events import AlertEvent, MetricsEvent, StepEvent
from footfall.wire.topics import INPUT_STREAMS
from tests.conftest import IN_CI

SAMPLE = Path(__file__).parents[2] / "footfall" / "data" / "sample-session.mcap"
pytestmark = pytest.mark.servers


def _expected() -> dict[str, object]:
    """The sample session through the same router offline (footfall analyze): what the monitor
    must end up showing (the live service publishes the same events; the end-of-session flush
    is not compared: the last metrics are those before it)."""
    results = analyze_messages([(m.topic, m.payload)
                                for m in iter_messages(SAMPLE, INPUT_STREAMS)])
    last_step: dict[str, StepEvent] = {}
    last_metrics: dict[str, MetricsEvent] = {}
    steps: dict[str, int] = {}
    active: dict[tuple[str, str], AlertEvent] = {}
    for device, result in results.items():
        if result.steps:
            last_step[device], steps[device] = result.steps[-1], len(result.steps)
        live = [m for m in result.metrics if not m.final]
        if live:
            last_metrics[device] = live[-1]
        for event in result.alerts:
            key = (event.device or device, event.rule)
            if event.state == "start":
                active[key] = event
            else:
                active.pop(key, None)
    return {"last_step": last_step, "last_metrics": last_metrics, "steps": steps,
            "active": active}


#: our own tmux server (socket name): a user's running tmux server, its config and sessions
#: never meet the test's
TMUX_SOCKET = f"footfall-test-{os.getpid()}"


def _tmux(*args: str, env: dict[str, str] | None = None) -> str:
    return subprocess.run(["tmux", "-L", TMUX_SOCKET, "-f", os.devnull, *args], check=True,
                          capture_output=True, text=True, env=env,
                          cwd=Path(__file__).parents[2]).stdout


async def _until(check: Callable[[], bool], what: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


async def test_monitor_shows_the_replayed_sample_session(settings: Settings,
                                                         tmp_path: Path) -> None:
    expected = _expected()
    steps: dict[str, int] = expected["steps"]  # type: ignore[assignment]
    last_step: dict[str, StepEvent] = expected["last_step"]  # type: ignore[assignment]
    last_metrics: dict[str, MetricsEvent] = expected["last_metrics"]  # type: ignore[assignment]
    active: dict[tuple[str, str], AlertEvent] = expected["active"]  # type: ignore[assignment]
    athlete, session = settings.athlete, settings.session

    service = ProcessorService(settings, writer=None, athlete=athlete, session=session,
                               client_id=f"test-monitor-{session}")
    stop_service, stop_monitor = asyncio.Event(), asyncio.Event()
    service_task = asyncio.create_task(service.run(stop_service))
    console = Console(file=open(os.devnull, "w"), width=80, height=24)  # noqa: SIM115
    monitor = Monitor(settings, athlete=athlete, session=session, console=console,
                      keys=False, screen=False)
    monitor_task = asyncio.create_task(monitor.run(stop_monitor))
    pane = f"fftest-{uuid.uuid4().hex[:8]}"
    tmux = shutil.which("tmux")
    if tmux is None and IN_CI:
        pytest.fail("CI=true and tmux is not installed (scripts/setup installs it)")
    if tmux:
        env = {**os.environ, "FOOTFALL_MQTT_URL": settings.mqtt_url,
               "FOOTFALL_ATHLETE": athlete, "FOOTFALL_STATE_DIR": str(tmp_path / "mon")}
        command = f"{sys.executable} -m footfall monitor --session {session}"
        _tmux("new-session", "-d", "-x", "80", "-y", "24", "-s", pane, command, env=env)
    try:
        await asyncio.wait_for(service.connected.wait(), 30)
        await asyncio.wait_for(monitor.connected.wait(), 30)
        if tmux:
            await _until(lambda: "DATA QUALITY" in _tmux("capture-pane", "-p", "-t", pane),
                         "the tmux monitor to start")
        await replay_session(SAMPLE, settings, speed=None, athlete=athlete, session=session)

        def caught_up() -> bool:
            devs = monitor.state.devices
            return all(d in devs and devs[d].steps == n
                       and getattr(devs[d].metrics, "time_ns", None) == last_metrics[d].time_ns
                       for d, n in steps.items())

        await _until(caught_up, "the monitor to receive every step and metrics event")
        frame = monitor.draw()
        screen = Console(record=True, width=80, height=24, color_system=None)
        screen.print(frame)
        texts = {"in-process": screen.export_text()}
        if tmux:
            want = f"steps {max(steps.values())}"
            await _until(lambda: want in _tmux("capture-pane", "-p", "-t", pane),
                         "the tmux pane to show every step")
            await asyncio.sleep(0.3)  # the pane redraws after the last metrics
            texts["tmux 80x24"] = _tmux("capture-pane", "-p", "-t", pane)
    finally:
        stop_service.set()
        stop_monitor.set()
        await service_task
        await monitor_task
        if tmux:
            subprocess.run(["tmux", "-L", TMUX_SOCKET, "kill-server"], check=False)

    # what the data raises offline, plus what only a live service sees: the devices' retained
    # status (the recording ends with both sensors offline) and their silence
    shown = set(monitor.state.alerts)
    assert set(active) <= shown
    assert {rule for _, rule in shown - set(active)} <= {"sensor_offline", "no_data"}
    cadences = [m.cadence_spm for m in last_metrics.values() if m.cadence_spm is not None]
    cadence_text = f"CADENCE {sum(cadences) / len(cadences):.1f} spm"
    for where, text in texts.items():
        lines = text.rstrip("\n").split("\n")
        assert len(lines) <= 24 and max(len(line) for line in lines) <= 80, where
        assert cadence_text in text, (where, text)
        for device, step in last_step.items():
            side = device.split("-")[1]
            row = next(line for line in lines if line.startswith(f"{side} tibia"))
            impact = f"{step.impact_g:.1f} g" + ("!" if step.clipped else "")
            rolling = last_metrics[device].impact_g  # withheld (None) when too many clip
            shown_rolling = "—" if rolling is None else f"{rolling:.1f} g"
            assert impact in row and shown_rolling in row, (where, row)
            quality = next(line for line in lines if line.startswith(f" {device}"))
            assert f"steps {steps[device]}" in quality, (where, quality)
        assert active, "the sample session raises alerts (one leg clips)"
        header = next(line for line in lines if line.startswith("ALERTS"))
        assert header.split()[:2] == ["ALERTS", str(len(shown))], (where, header)
        for device, rule in shown:
            assert any(f"{rule} {device}" in line for line in lines), (where, rule, text)


async def test_keys_publish_control_commands_the_processor_can_act_on(settings: Settings) -> None:
    import aiomqtt

    from footfall.wire.control import ControlCommand, control_topic

    athlete, session = settings.athlete, settings.session
    monitor = Monitor(settings, athlete=athlete, session=session,
                      console=Console(file=open(os.devnull, "w")),  # noqa: SIM115
                      keys=False, screen=False, clock=lambda: 1_795_540_800_000_000_000)
    stop = asyncio.Event()
    task = asyncio.create_task(monitor.run(stop))
    received: list[tuple[ControlCommand, bool]] = []
    try:
        await asyncio.wait_for(monitor.connected.wait(), 30)
        async with aiomqtt.Client(settings.mqtt_host, settings.mqtt_port) as client:
            await client.subscribe(control_topic(athlete, session), qos=1)
            for key in ("b", "t", "1", "7", "8", "\r", "x"):
                monitor.handle_key(key)

            async def collect() -> None:
                async for message in client.messages:
                    assert isinstance(message.payload, bytes)
                    received.append((ControlCommand.from_json(message.payload),
                                     message.retain))
                    if len(received) == 4:
                        return

            await asyncio.wait_for(collect(), 30)
        # a processor (or monitor) that connects later gets the last target, retained
        async with aiomqtt.Client(settings.mqtt_host, settings.mqtt_port) as late:
            await late.subscribe(control_topic(athlete, session), qos=1)
            message = await asyncio.wait_for(anext(aiter(late.messages)), 10)
            assert isinstance(message.payload, bytes)
            retained = ControlCommand.from_json(message.payload)
    finally:
        stop.set()
        await task
    actions = [(c.action, c.cadence_spm, c.increase_pct, retain) for c, retain in received]
    assert actions == [("mark_baseline", None, None, False), ("set_target", None, 7.5, False),
                       ("set_target", 178.0, None, False), ("set_target", None, None, False)]
    assert (retained.action, retained.cadence_spm, retained.increase_pct) == (
        "set_target", None, None)  # "x": no target, and that is what a late joiner learns
    assert monitor.state.target_cadence_spm is None and monitor.state.notice == "target removed"


async def test_without_a_session_the_monitor_follows_the_next_one_that_reports(
        settings: Settings) -> None:
    import aiomqtt

    from footfall.wire.events import MetricsEvent

    athlete = settings.athlete
    monitor = Monitor(settings, athlete=athlete, session=None,
                      console=Console(file=open(os.devnull, "w")),  # noqa: SIM115
                      keys=False, screen=False)
    stop = asyncio.Event()
    task = asyncio.create_task(monitor.run(stop))
    topic = f"footfall/v1/{athlete}/run-2/tibia-left/metrics"
    try:
        async with aiomqtt.Client(settings.mqtt_host, settings.mqtt_port) as client:
            deadline = time.monotonic() + 30
            while "tibia-left" not in monitor.state.devices:
                assert time.monotonic() < deadline, "the monitor never picked the session up"
                await client.publish(topic, MetricsEvent(
                    time_ns=1_795_540_800 * 10**9, cadence_spm=171.0, steps_total=3,
                    placement="tibia", side="left").to_json(), qos=1)
                await asyncio.sleep(0.2)
    finally:
        stop.set()
        await task
    assert monitor.state.session == "run-2"
    metrics = monitor.state.devices["tibia-left"].metrics
    assert metrics is not None and metrics.cadence_spm == 171.0


async def test_after_a_normal_end_the_monitor_follows_the_next_session(
        settings: Settings) -> None:
    """A second bout needs no restart: the first ends normally (not as an alarm), the
    monitor waits, and shows the next session of the athlete when it reports."""
    import aiomqtt

    from footfall.wire.events import DeviceStatus, MetricsEvent

    athlete = settings.athlete
    monitor = Monitor(settings, athlete=athlete, session=None,
                      console=Console(file=open(os.devnull, "w")),  # noqa: SIM115
                      keys=False, screen=False)
    stop = asyncio.Event()
    task = asyncio.create_task(monitor.run(stop))

    def metrics(cadence: float) -> bytes:
        return MetricsEvent(time_ns=1_795_540_800 * 10**9, cadence_spm=cadence, steps_total=3,
                            placement="tibia", side="left").to_json()

    try:
        async with aiomqtt.Client(settings.mqtt_host, settings.mqtt_port) as client:
            async def until(check: Callable[[], bool], publish: tuple[str, bytes],
                            what: str) -> None:
                deadline = time.monotonic() + 30
                while not check():
                    assert time.monotonic() < deadline, what
                    await client.publish(*publish, qos=1)
                    await asyncio.sleep(0.2)

            first = f"footfall/v1/{athlete}/bout-1/tibia-left"
            await until(lambda: monitor.state.session == "bout-1" and
                        "tibia-left" in monitor.state.devices,
                        (f"{first}/metrics", metrics(170.0)), "bout-1 never shown")
            ended = DeviceStatus(online=False, reason="end of run", final=True).to_json()
            await client.publish(f"{first}/status", ended, qos=1)
            second = f"footfall/v1/{athlete}/bout-2/tibia-left/metrics"
            await until(lambda: monitor.state.session == "bout-2" and
                        "tibia-left" in monitor.state.devices,
                        (second, metrics(175.0)), "the monitor did not follow bout-2")
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
    assert [s.session for s in monitor.finished] == ["bout-1"]
    assert monitor.finished[0].ended and not monitor.finished[0].alerts
    assert monitor.state.devices["tibia-left"].metrics.cadence_spm == 175.0  # type: ignore[union-attr]
