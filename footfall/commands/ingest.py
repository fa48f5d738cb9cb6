"""``footfall ingest``: stream BLE foot pods and IMUs to the broker in the wire format."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from footfall.commands._common import (
    HelpFormatter,
    add_settings_options,
    pacer_speed,
    settings_from_args,
    stop_on_signals,
)

if TYPE_CHECKING:
    from footfall.harness.emulated_gateway import EmulatedRadios

#: with --emulate: signal per notification (10 samples at 200 Hz; WitMotion: one per sample)
EMULATE_CHUNK_MS = 50.0
#: with --emulate and no --duration: seconds of running the emulated devices have to send
EMULATE_RUN_S = 600.0

HELP = """\
Connect to one or more BLE devices at once and stream them to the broker (topics
footfall/v1/<athlete>/<session>/<device>/imu|rsc|meta|status). Each device is
ADDRESS:PROFILE:PLACEMENT:SIDE, with optional ,id=…,rate=…,range=…,cadence=auto|1|2.
Profiles: footfall (open IMU frame), polar-pmd, movesense, witmotion, rsc.

  footfall ingest --device C4:7C:8D:6A:11:22:polar-pmd:chest:none \\
                  --device F0:11:22:33:44:55:footfall:tibia:left,rate=400
  footfall ingest --devices devices.toml --athlete anna --record run.mcap
  footfall ingest --emulate --duration 60 --device EE:00:00:00:00:01:footfall:tibia:left \\
                  --device EE:00:00:00:00:02:rsc:foot:right     # no hardware needed
  footfall ingest --replay run.mcap --speed 0                    # a recording, re-parsed

Dropped links are reconnected (start commands re-issued), a broker outage is spooled on disk
under --state-dir and published in order when it returns, malformed packets are counted and
kept under <state-dir>/quarantine. Ctrl-C stops cleanly (publishes what is spooled).
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("ingest", help="stream BLE devices to the broker",
                            description=HELP, formatter_class=HelpFormatter)
    dev = parser.add_argument_group("devices")
    dev.add_argument("--device", action="append", default=[], metavar="SPEC",
                     help="ADDRESS:PROFILE:PLACEMENT:SIDE[,key=value…] (repeat for more)")
    dev.add_argument("--devices", type=Path, metavar="FILE",
                     help="TOML file with [[device]] tables (see docs/ingest.md)")
    dev.add_argument("--record", type=Path, metavar="FILE",
                     help="also save the session as a session file (.mcap): every raw "
                          "notification (for --replay) and every message published (for "
                          "footfall replay / analyze)")
    dev.add_argument("--duration", type=float, default=None, metavar="S",
                     help="stop after S seconds (default: until Ctrl-C)")
    dev.add_argument("--stats-every", type=float, default=30.0, metavar="S",
                     help="print each device's counters every S seconds, 0 = only at the end "
                          "(default %(default)s)")
    emu = parser.add_argument_group("no hardware")
    emu.add_argument("--emulate", action="store_true",
                     help="the devices are byte-exact emulators worn by a synthetic runner: "
                          "the whole BLE path (parsers, clocks, spool) without Bluetooth")
    emu.add_argument("--speed", "--emulate-speed", "--replay-speed", dest="speed", type=float,
                     default=1.0, metavar="X",
                     help="with --emulate or --replay: time factor, 1 = real time, 0 = as fast "
                          "as the pipeline takes it (default 1); with --emulate the gateway's "
                          "clock is simulated, so it sees a real-time session at any speed")
    emu.add_argument("--cadence", type=float, default=None, metavar="SPM",
                     help="with --emulate: the runner's cadence (default from speed, ≈170)")
    emu.add_argument("--replay", type=Path, metavar="FILE",
                     help="feed a --record file through the parsers to the broker instead of "
                          "connecting to devices (devices come from the file)")
    add_settings_options(parser)
    parser.set_defaults(func=run_command)


def run_command(args: argparse.Namespace) -> int:
    import asyncio
    import contextlib

    from footfall.core.errors import CommandError, SettingError
    from footfall.ingest.ble import BleakConnector, BluetoothUnavailable, check_bluetooth
    from footfall.ingest.devices import load_devices_file, parse_device_arg
    from footfall.ingest.errors import DeviceError
    from footfall.ingest.gateway import Gateway, Recorder, SessionConfig
    from footfall.wire.mqtt import BrokerConfig

    settings = settings_from_args(args)
    try:
        specs = [parse_device_arg(d) for d in args.device]
        if args.devices:
            specs += load_devices_file(args.devices)
    except SettingError as exc:
        raise CommandError(str(exc)) from exc
    if args.replay:
        from footfall.ingest.gateway import read_recording_specs
        from footfall.recordings.session_file import SessionFileError

        if specs or args.emulate:
            raise CommandError("--replay takes its devices from the recording: drop --device, "
                               "--devices and --emulate")
        try:
            specs = read_recording_specs(args.replay)
        except (OSError, ValueError, TypeError, SessionFileError) as exc:
            raise CommandError(f"cannot read recording {args.replay}: {exc}") from exc
        if not specs:
            raise CommandError(f"{args.replay} holds no device (not a `footfall ingest "
                               "--record` file?)")
    if not specs:
        raise CommandError("no device given: use --device ADDRESS:PROFILE:PLACEMENT:SIDE or "
                           "--devices FILE (find addresses with `footfall scan`)")
    radios = None
    if args.emulate:
        try:
            radios = _emulated(specs, args)
        except (SettingError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
    config = SessionConfig(settings.athlete, settings.session,
                           BrokerConfig.from_settings(settings), settings.state_dir)

    async def main() -> bool:

        players: list[asyncio.Task[Any]] = []
        if radios is not None:
            connector = radios.connector()
        elif args.replay:
            connector = BleakConnector()  # never used: nothing connects in a replay
        else:
            try:
                await check_bluetooth()
            except BluetoothUnavailable as exc:
                raise CommandError(f"cannot ingest: {exc}") from exc
            connector = BleakConnector()
        recorder = Recorder(args.record) if args.record else None
        try:
            gateway = Gateway(specs, config, connector, recorder=recorder,
                              clock=radios.clock if radios is not None else None)
        except (DeviceError, SettingError) as exc:
            raise CommandError(str(exc)) from exc
        stop = stop_on_signals()
        task = asyncio.create_task(gateway.run(ble=not args.replay))
        print(f"ingesting {len(specs)} device(s) as {settings.athlete}/{settings.session} "
              f"to {settings.mqtt_url}; Ctrl-C to stop")
        if radios is not None:
            players.append(asyncio.create_task(radios.play(gateway, speed=pacer_speed(args))))
        if args.stats_every > 0:
            players.append(asyncio.create_task(_report(gateway, args.stats_every)))
        if args.replay:
            players.append(asyncio.create_task(gateway.replay(args.replay,
                                                              speed=pacer_speed(args))))
            players[-1].add_done_callback(lambda _t: stop.set())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), args.duration)
        drained = await gateway.stop()
        task.cancel()
        for p in players:
            p.cancel()
        if recorder is not None:
            recorder.close()
        for s in gateway.sessions:
            print(_summary(s))
        return drained

    drained = asyncio.run(main())
    if not drained:
        print(f"broker unreachable: unsent messages stay spooled under {settings.state_dir} "
              "and are sent by the next `footfall ingest` of this athlete/session/device")
        return 1
    return 0


def _emulated(specs: list[Any], args: argparse.Namespace) -> EmulatedRadios:
    """The devices as byte-exact emulators worn by one synthetic runner, on a fake BLE stack."""
    from footfall.harness.emulated_gateway import EmulatedRadios, plan_devices
    from footfall.simulators.runner import RunnerParams

    run_s = (args.duration or EMULATE_RUN_S) * (args.speed or 1.0) + 5
    plan = plan_devices(specs, RunnerParams(cadence_spm=args.cadence), run_s,
                        chunk_ms=EMULATE_CHUNK_MS)
    for note in plan.notes:
        print(f"note: {note}")
    return EmulatedRadios(plan)


def _summary(session: Any) -> str:
    st = session.stats
    return (f"{session.spec.id}: {st.frames} frames / {st.samples} samples"
            f"{f' / {st.rsc_samples} rsc' if st.rsc_samples else ''}, "
            f"{st.gaps} gaps ({st.lost_samples} samples lost), {st.rejected} rejected, "
            f"{st.duplicates} duplicates, {st.disconnects} disconnects, "
            f"{session.publisher.spool.pending} still spooled")


async def _report(gateway: Any, every_s: float) -> int:
    import asyncio

    while True:
        await asyncio.sleep(every_s)
        for s in gateway.sessions:
            state = "streaming" if s.streaming.is_set() else "not streaming"
            print(f"  {_summary(s)} [{state}, mqtt "
                  f"{'up' if s.publisher.connected else 'DOWN'}]")
