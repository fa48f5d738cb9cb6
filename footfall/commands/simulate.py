"""``footfall simulate``: a synthetic runner streaming to the broker like real sensors."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from footfall.commands._common import (
    HelpFormatter,
    add_settings_options,
    add_speed_options,
    pacer_speed,
    settings_from_args,
    speed_mps,
)

if TYPE_CHECKING:
    from footfall.config.settings import Settings
    from footfall.core.vocab import Side
    from footfall.harness.emulated_gateway import GatewayRunStats
    from footfall.simulators.runner import RunnerParams

DEFAULT_RATE_HZ = 1000.0
DEFAULT_RANGE_G = 16
#: footfall.simulators.devices.play.DEVICE_PROFILES (not imported here: keeps --help fast)
DEVICE_CHOICES = ["footfall", "polar-pmd", "witmotion", "movesense", "rsc"]

HELP = """\
Synthesise a runner (impact transients, swing, gravity, step-to-step variability, both legs)
and publish its sensors' frames to the broker in real time, or faster with --speed.
Start `footfall process` first to see steps and metrics.

  footfall simulate                          # 2 min, 170 spm, tibia sensors on both legs
  footfall simulate --duration 600 --speed 10 --cadence 165 --fatigue
  footfall simulate --range-g 8 --pta 12     # watch clipped peaks get flagged

With --device PROFILE the same runner goes the way real sensors do: each sensor becomes a
byte-exact emulator of that device (at a rate and range it really offers), its BLE
notifications go through the `footfall ingest` gateway (connect, start commands, parser,
clock mapping, gap detection, disk spool) and the gateway publishes, meta and status included.
Profiles: footfall (open IMU frame, any --rate), polar-pmd (H10: 25-200 Hz, ±2/4/8 g),
witmotion (up to 200 Hz, ±16 g), movesense (13-1666 Hz), rsc (foot pod: speed and cadence,
1 Hz).

  footfall simulate --device polar-pmd --duration 60          # two H10s at 200 Hz, ±8 g
  footfall simulate --device movesense --rate 833 --fast
  footfall simulate --device rsc --rsc-cadence-convention steps --speed 10
"""


#: long enough that the default analysis (60 s warm-up + 60 s baseline) has a baseline and
#: shows drift and a relative target against it, with the default settings
DEFAULT_DURATION_S = 240.0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("simulate", help="stream a synthetic runner to the broker",
                            description=HELP, formatter_class=HelpFormatter)
    run = parser.add_argument_group("the runner")
    run.add_argument("--duration", type=float, default=DEFAULT_DURATION_S, metavar="S",
                     help="seconds of running (default %(default)g: the processor's 60 s "
                          "warm-up and 60 s baseline, then two minutes against them)")
    run.add_argument("--cadence", type=float, default=None, metavar="SPM",
                     help="steps per minute (default: from running speed, 170 at 3 m/s)")
    run.add_argument("--belt-speed", type=speed_mps, default="10.8", metavar="KMH",
                     help="treadmill belt speed the runner runs at, in km/h (or e.g. 3m/s; "
                          "default %(default)s km/h = 3 m/s)")
    run.add_argument("--pta", type=float, default=None, metavar="G",
                     help="peak tibial acceleration (default: from speed, ≈10 g at 3 m/s)")
    run.add_argument("--asymmetry", type=float, default=0.0, metavar="PCT",
                     help="right-vs-left impact asymmetry in %% (default 0)")
    run.add_argument("--fatigue", action="store_true",
                     help="cadence falls 6 %% and impact rises 30 %% over the last 40 %% "
                          "of the run")
    run.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    sensor = parser.add_argument_group("the sensors")
    sensor.add_argument("--placement", choices=["tibia", "foot", "sacrum"], default="tibia")
    sensor.add_argument("--legs", choices=["both", "left", "right"], default="both",
                        help="which legs carry a sensor (ignored for sacrum; default both)")
    sensor.add_argument("--rate", type=float, default=None, metavar="HZ",
                        help=f"sample rate (default {DEFAULT_RATE_HZ:g}; with --device, the "
                             "device's usual rate)")
    sensor.add_argument("--range-g", type=int, default=None, choices=[2, 4, 8, 16, 32, 64, 200],
                        help=f"full-scale range; peaks above it clip (default {DEFAULT_RANGE_G};"
                             " with --device, the device's usual range)")
    sensor.add_argument("--packet-loss", type=float, default=0.0, metavar="PCT",
                        help="share of BLE frames (with --device: notifications) lost on the way "
                             "(default 0)")
    device = parser.add_argument_group("emulated device")
    device.add_argument("--device", choices=DEVICE_CHOICES, default=None, metavar="PROFILE",
                        help="emulate this device and publish through the ingest gateway: "
                             f"{', '.join(DEVICE_CHOICES)} (default: publish decoded frames)")
    device.add_argument("--record", type=Path, default=None, metavar="FILE",
                        help="with --device: save the session as a session file (.mcap), as "
                             "`footfall ingest --record` does: every raw notification and "
                             "every message the gateway published")
    device.add_argument("--rsc-cadence-convention", choices=["per-leg", "steps"],
                        default="per-leg",
                        help="what the foot pod's cadence counts: strides of one leg (~85/min) "
                             "or steps of both (~170/min); the gateway detects which "
                             "(default %(default)s)")
    timing = parser.add_argument_group("timing")
    add_speed_options(timing, what="the simulated run")
    timing.add_argument("--chunk-ms", type=float, default=25.0,
                        help="samples per frame (with --device: per notification, up to what "
                             "fits in one), in ms of signal (default %(default)s)")
    add_settings_options(parser)
    parser.set_defaults(func=run_command)


def run_command(args: argparse.Namespace) -> int:
    import asyncio
    from dataclasses import replace

    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from footfall.core.errors import CommandError
    from footfall.core.vocab import Placement, Side
    from footfall.simulators.publish import device_stream, publish_streams
    from footfall.simulators.runner import RunnerParams, synthesize

    if args.duration <= 0:
        raise CommandError("--duration must be positive")
    speed = pacer_speed(args)
    settings = settings_from_args(args)
    params = RunnerParams(
        cadence_spm=args.cadence, speed_mps=args.belt_speed, pta_g=args.pta,
        asymmetry_pct=args.asymmetry,
        sample_rate_hz=DEFAULT_RATE_HZ if args.rate is None else args.rate,
        accel_range_g=DEFAULT_RANGE_G if args.range_g is None else args.range_g,
        placement=Placement(args.placement), seed=args.seed, packet_loss_pct=args.packet_loss,
        fatigue_cadence_drop_pct=6.0 if args.fatigue else 0.0,
        fatigue_pta_rise_pct=30.0 if args.fatigue else 0.0,
    )
    sides = [Side.NONE] if args.placement == "sacrum" else (
        [Side.LEFT, Side.RIGHT] if args.legs == "both" else [Side(args.legs)])
    if args.device is not None:
        return _through_gateway(args, settings, params, sides)
    if args.record is not None:
        raise CommandError("--record needs --device: without it no gateway runs (record the "
                           "broker's traffic with `footfall record` instead)")
    streams = []
    for side in sides:
        run = synthesize(replace(params, side=side), args.duration)
        device = f"{args.placement}-{side}" if side != "none" else args.placement
        streams.append(device_stream(run, device, chunk_ms=args.chunk_ms))

    with Progress(TextColumn("[bold]simulating[/]"), BarColumn(),
                  TextColumn("{task.percentage:>3.0f}%  {task.fields[info]}"),
                  TimeRemainingColumn()) as bar:
        task = bar.add_task("run", total=1.0, info="")

        def progress(fraction: float, stats: object) -> None:
            bar.update(task, completed=fraction,
                       info=f"{getattr(stats, 'frames_sent', 0)} frames")

        stats = asyncio.run(publish_streams(
            settings, streams, speed=speed, progress=progress,
            on_outage=lambda text: bar.console.print(f"[yellow]{text}[/]")))
    print(f"sent {stats.frames_sent} frames ({stats.samples_sent} samples, "
          f"{stats.frames_lost} lost on the emulated BLE link) from {len(streams)} sensor(s) as "
          f"athlete {settings.athlete}, session {settings.session}"
          + (f"; the broker was lost {stats.reconnects} time(s), {stats.resent} message(s) "
             "sent again" if stats.reconnects else ""))
    return 0


def _through_gateway(args: argparse.Namespace, settings: Settings, params: RunnerParams,
                     sides: list[Side]) -> int:
    """``--device``: emulated devices → the ingest gateway → the broker."""
    import asyncio

    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from footfall.core.errors import CommandError, SettingError
    from footfall.harness.emulated_gateway import (
        SimulationError,
        plan_run,
        run_through_gateway,
    )
    from footfall.ingest.gateway import Recorder

    try:
        plan = plan_run(args.device, params, args.duration, sides=sides, rate_hz=args.rate,
                        range_g=args.range_g, chunk_ms=args.chunk_ms,
                        rsc_convention=args.rsc_cadence_convention)
    except (SettingError, ValueError) as exc:
        raise CommandError(str(exc)) from exc
    for note in plan.notes:
        print(f"note: {note}")
    with Progress(TextColumn(f"[bold]simulating {args.device}[/]"), BarColumn(),
                  TextColumn("{task.percentage:>3.0f}%  {task.fields[info]}"),
                  TimeRemainingColumn()) as bar:
        task = bar.add_task("run", total=1.0, info="")

        def progress(fraction: float, stats: GatewayRunStats) -> None:
            bar.update(task, completed=fraction,
                       info=f"{stats.notifications} notifications → {stats.published} published")

        recorder = Recorder(args.record) if args.record is not None else None
        try:
            stats = asyncio.run(run_through_gateway(
                settings, plan, speed=pacer_speed(args), progress=progress, recorder=recorder))
        except SimulationError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            if recorder is not None:
                recorder.close()
    for line in stats.device_lines():
        print(line)
    print(f"sent {stats.notifications} notifications ({stats.notifications_lost} lost on the "
          f"emulated BLE link) from {len(plan.devices)} emulated {args.device} device(s) through "
          f"the gateway as athlete {settings.athlete}, session {settings.session}")
    if not stats.drained:
        print(f"broker did not take everything: {stats.still_spooled} message(s) stay spooled "
              f"under {settings.state_dir} for the next `footfall ingest`/`simulate --device` "
              "of this athlete/session/device")
        return 1
    return 0
