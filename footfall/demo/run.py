"""The demo: private stack → processor → replayed run → summary read back from InfluxDB.

The processor runs with the same analysis settings as every command (the clinical default,
or ``footfall.toml``), so the figures it prints are the ones ``footfall analyze`` gives for the
sample file; ``--json`` prints them in ``analyze --json``'s ``summary`` schema.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
import time
from importlib import resources
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from footfall.config.settings import Settings, load_settings
from footfall.service.processor import ProcessorService
from footfall.simulators.replay import ReplayStats, replay_session
from footfall.stack.servers import LocalStack, free_port
from footfall.storage.influx import InfluxClient, SpooledWriter, influx_target, rows
from footfall.storage.schema import event_from_row
from footfall.views.terminal import console as terminal_console
from footfall.wire.events import DeviceSummary, StepEvent
from footfall.wire.topics import Topic

#: a 4-minute treadmill run, two tibia IMUs at 500 Hz (made by scripts/make_sample_session.py)
SAMPLE_SESSION = "sample-session.mcap"
SUMMARY_QUERY = ("SELECT * FROM \"summary\" WHERE \"athlete\" = '{athlete}' "
                 "AND \"session\" = '{session}' GROUP BY *")
ALERT_QUERY = ("SELECT \"state\", \"message\", \"value\" FROM \"alert\" WHERE "
               "\"athlete\" = '{athlete}' AND \"session\" = '{session}' "
               "GROUP BY \"device\", \"rule\"")


def sample_session() -> Path:
    return Path(str(resources.files("footfall").joinpath("data", SAMPLE_SESSION)))


async def _pipeline(settings: Settings, console: Console, speed: float | None,
                    quiet: bool) -> tuple[dict[str, DeviceSummary], list[dict[str, Any]],
                                          ProcessorService, SpooledWriter, ReplayStats]:
    def show(topic: Topic, event: object) -> None:
        if not quiet and isinstance(event, StepEvent):
            flag = "  [red]clipped[/]" if event.clipped else ""
            cadence = f"{event.cadence_spm:5.1f}" if event.cadence_spm else "    —"
            console.print(f"  {event.sensor_time_s:7.2f} s  [cyan]{topic.device:12}[/] "
                          f"impact {event.impact_g:5.1f} g   cadence {cadence} spm{flag}",
                          highlight=False)

    async with InfluxClient(influx_target(settings)) as influx, \
            SpooledWriter(influx, settings.spool_dir) as writer:
        service = ProcessorService(settings, writer=writer, athlete=settings.athlete,
                                   session=settings.session, on_event=show,
                                   client_id=f"footfall-demo-{settings.session}")
        stop = asyncio.Event()
        processor = asyncio.create_task(service.run(stop))
        await asyncio.wait_for(service.connected.wait(), 30)
        with Progress(TextColumn("[bold]replaying[/] sample session"), BarColumn(),
                      TextColumn("{task.percentage:>3.0f}%"), TimeRemainingColumn(),
                      console=console, transient=True) as bar:
            task = bar.add_task("run", total=1.0)

            def progress(replay: ReplayStats) -> None:
                if replay.duration_s:
                    bar.update(task, completed=replay.session_s / replay.duration_s)

            # retime: the recorded run appears to happen now, as a live one would in Grafana
            stats = await replay_session(sample_session(), settings, speed=speed,
                                         athlete=settings.athlete, session=settings.session,
                                         retime=True, progress=progress)
        # the devices said the run ended: the processor finishes the session by itself
        deadline = time.monotonic() + 60
        while service.stats.sessions_finished < 1:
            if time.monotonic() > deadline:
                console.print("[red]the processor did not finish the session within 60 s[/]")
                break
            await asyncio.sleep(0.05)
        stop.set()
        await processor
        if not await writer.flush(60):
            console.print("[red]InfluxDB did not accept every point within 60 s[/]")
        ids = {"athlete": settings.athlete, "session": settings.session}
        summaries = {row["device"]: event_from_row(DeviceSummary, row)
                     for row in rows(await influx.query(SUMMARY_QUERY.format(**ids)))}
        alerts = sorted(rows(await influx.query(ALERT_QUERY.format(**ids))),
                        key=lambda row: row["time"])
    return summaries, alerts, service, writer, stats


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:+.1f} %"


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def _print(console: Console, settings: Settings, summaries: dict[str, DeviceSummary],
           alerts: list[dict[str, Any]], service: ProcessorService, writer: SpooledWriter,
           stats: ReplayStats) -> None:
    analysis = settings.analysis_for()
    console.print(f"[bold]The session, read back from InfluxDB[/] ({settings.influx_url}, "
                  f"database {settings.influx_database}):")
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("sensor", "steps", "cadence spm", "drift", "impact g", "drift"):
        table.add_column(column, justify="left" if column == "sensor" else "right")
    for device, s in sorted(summaries.items()):
        table.add_row(device, str(s.steps), f"{_num(s.cadence_baseline_spm)} → "
                      f"{_num(s.cadence_final_spm)}", _pct(s.cadence_drift_pct),
                      f"{_num(s.impact_baseline_g)} → {_num(s.impact_final_g)}",
                      _pct(s.impact_drift_pct))
    console.print(table)
    console.print("baseline → end of the run, and the drift between them. Impact is the peak "
                  "tibial acceleration, an impact marker (not bone load).")
    start_ms = min((s.start_ns for s in summaries.values()), default=0) / 1e6
    starts = [row for row in alerts if row["state"] == "start"]
    console.print(f"[bold]Alerts[/] (time into the run; {len(starts)} raised, "
                  f"{sum(row['state'] == 'clear' for row in alerts)} cleared):")
    for row in starts:
        console.print(f"  {(row['time'] - start_ms) / 1000:6.1f} s  [yellow]{row['rule']:15}[/]"
                      f"[cyan]{row['device']:12}[/] {row['message']}", highlight=False)
    console.print(f"Baseline: {analysis.warmup_s:.0f} s warm-up, then {analysis.baseline_s:.0f} s"
                  " (the clinical default of every command); drift is against it. `footfall "
                  f"analyze {sample_session()}` gives the same figures.")
    console.print(f"{stats.frames_sent} frames replayed, {service.stats.published['step']} "
                  f"steps and {service.stats.published['metrics']} metric records published, "
                  f"{writer.stats.lines_written} points written, "
                  f"{service.stats.malformed} malformed messages set aside.")


def run_demo(demo_dir: Path, *, speed: float | None, quiet: bool, keep: bool,
             as_json: bool = False) -> int:
    console = terminal_console(stderr=as_json)
    if demo_dir.exists():
        LocalStack.at(demo_dir / "stack").down()  # a --keep'd earlier demo
        shutil.rmtree(demo_dir)
    stack = LocalStack.at(demo_dir / "stack", mqtt_port=free_port(), influx_port=free_port())
    console.print("[bold]footfall demo[/]: starting a private Mosquitto and InfluxDB …")
    stack.up()
    settings = load_settings(mqtt_url=stack.mosquitto.url, influx_url=stack.influxdb.url,
                             influx_database="footfall", athlete="demo",
                             state_dir=demo_dir / "state")
    console.print(f"  broker {stack.mosquitto.url}, database {stack.influxdb.url}; "
                  f"athlete {settings.athlete}, session {settings.session}")
    try:
        summaries, alerts, service, writer, stats = asyncio.run(
            _pipeline(settings, console, speed, quiet or as_json))
    finally:
        if keep:
            console.print(f"servers left running: {stack.mosquitto.url}, {stack.influxdb.url}"
                          f" — stop them with: footfall stack down --state-dir {demo_dir}")
        else:
            stack.down()
    if not summaries:
        console.print("[red]no session summary was found in InfluxDB[/]")
        return 1
    if as_json:
        report = {"summary": {d: s.to_dict() for d, s in sorted(summaries.items())},
                  "alerts": alerts}
        sys.stdout.write(json.dumps(report, allow_nan=False) + "\n")
    else:
        _print(console, settings, summaries, alerts, service, writer, stats)
    return 0
