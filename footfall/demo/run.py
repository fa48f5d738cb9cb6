"""The demo: private stack → processor → streamed run → summary read back from InfluxDB."""

from __future__ import annotations

import asyncio
import shutil
import time
from importlib import resources
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from footfall.config.settings import Settings, load_settings
from footfall.processing.config import AnalysisConfig
from footfall.service.processor import ProcessorService
from footfall.simulators.replay import ReplayStats, replay_session
from footfall.stack.servers import LocalStack, free_port
from footfall.storage.influx import InfluxClient, SpooledWriter, influx_target, rows
from footfall.wire.events import StepEvent
from footfall.wire.topics import Topic

#: a 2-minute treadmill run, two tibia IMUs at 1 kHz (made by scripts/make_sample_session.py)
SAMPLE_SESSION = "sample-session.mcap"
#: the sample is 2 minutes: a short warm-up and baseline leave a minute of drift to show
#: (the clinical default is 60 s + 60 s, see `footfall process --help`)
DEMO_ANALYSIS = AnalysisConfig(warmup_s=20.0, baseline_s=30.0)
STEP_QUERY = (
    'SELECT count("impact_g") AS steps, median("cadence_spm") AS cadence_spm, '
    'mean("impact_g") AS impact_g FROM "step" '
    "WHERE \"athlete\" = '{athlete}' AND \"session\" = '{session}' GROUP BY \"device\""
)
ALERT_QUERY = (
    'SELECT "state", "message" FROM "alert" '
    "WHERE \"athlete\" = '{athlete}' AND \"session\" = '{session}' GROUP BY \"device\", \"rule\""
)
FIRST_STEP_QUERY = (
    'SELECT first("sensor_time_s") AS sensor_time_s FROM "step" '
    "WHERE \"athlete\" = '{athlete}' AND \"session\" = '{session}'"
)
DRIFT_QUERY = (
    'SELECT last("cadence_drift_pct") AS cadence_drift_pct, '
    'last("impact_drift_pct") AS impact_drift_pct FROM "metrics" '
    "WHERE \"athlete\" = '{athlete}' AND \"session\" = '{session}' GROUP BY \"device\""
)


def sample_session() -> Path:
    return Path(str(resources.files("footfall").joinpath("data", SAMPLE_SESSION)))


async def _pipeline(settings: Settings, console: Console, speed: float | None,
                    quiet: bool) -> int:
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
                                   client_id=f"footfall-demo-{settings.session}",
                                   analysis=DEMO_ANALYSIS)
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
        # wait until the processor has every frame, then flush its look-ahead and the database
        deadline = time.monotonic() + 60
        while sum(service.stats.frames.values()) < stats.frames_sent:
            if time.monotonic() > deadline:
                console.print("[red]the processor did not receive every frame in 60 s[/]")
                break
            await asyncio.sleep(0.05)
        stop.set()
        await processor
        if not await writer.flush(60):
            console.print("[red]InfluxDB did not accept every point within 60 s[/]")
            return 1
        ids = {"athlete": settings.athlete, "session": settings.session}
        series = await influx.query(STEP_QUERY.format(**ids))
        drift = {row["device"]: row for row in rows(await influx.query(DRIFT_QUERY.format(**ids)))}
        alerts = sorted(rows(await influx.query(ALERT_QUERY.format(**ids))),
                        key=lambda row: row["time"])
        # the run's first sample: the first step's time minus its sensor time
        first = rows(await influx.query(FIRST_STEP_QUERY.format(**ids)))
        start_ms = (first[0]["time"] - 1000 * first[0]["sensor_time_s"]) if first else 0
    table = Table(title=f"Read back from InfluxDB ({settings.influx_url}, database "
                        f"{settings.influx_database})")
    table.caption = ("cadence: median of steps; impact: mean peak tibial acceleration, an impact "
                     "marker (not bone load); drift: last value vs the baseline")
    for column in ("sensor", "steps", "cadence spm", "impact g", "cadence drift",
                   "impact drift"):
        table.add_column(column, justify="right")
    found = rows(series)
    for row in found:
        end = drift.get(row["device"], {})
        table.add_row(row["device"], str(row["steps"]), f"{row['cadence_spm']:.1f}",
                      f"{row['impact_g']:.1f}", _pct(end.get("cadence_drift_pct")),
                      _pct(end.get("impact_drift_pct")))
    console.print(table)
    if not found:
        console.print("[red]no steps were found in InfluxDB[/]")
        return 1
    starts = [row for row in alerts if row["state"] == "start"]
    console.print(f"[bold]Alerts[/] (time into the run; {len(starts)} raised, "
                  f"{sum(row['state'] == 'clear' for row in alerts)} cleared):")
    for row in starts:
        console.print(f"  {(row['time'] - start_ms) / 1000:6.1f} s  [yellow]{row['rule']:15}[/]"
                      f"[cyan]{row['device']:12}[/] {row['message']}", highlight=False)
    console.print(f"Baseline: {DEMO_ANALYSIS.warmup_s:.0f} s warm-up, then "
                  f"{DEMO_ANALYSIS.baseline_s:.0f} s; drift is against it.")
    console.print(f"{stats.frames_sent} frames replayed, {service.stats.published['step']} "
                  f"steps and {service.stats.published['metrics']} metric records published, "
                  f"{writer.stats.lines_written} points written, "
                  f"{service.stats.malformed} malformed messages set aside.")
    return 0


def _pct(value: object) -> str:
    return f"{value:+.1f} %" if isinstance(value, int | float) else "—"


def run_demo(demo_dir: Path, *, speed: float | None, quiet: bool, keep: bool) -> int:
    console = Console()
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
        return asyncio.run(_pipeline(settings, console, speed, quiet))
    finally:
        if keep:
            console.print(f"servers left running: {stack.mosquitto.url}, {stack.influxdb.url}"
                          f" — stop them with: footfall stack down --state-dir {demo_dir}")
        else:
            stack.down()
