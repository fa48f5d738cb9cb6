"""``footfall coach``: the live retraining web app (runner view, therapist view, sound)."""

from __future__ import annotations

import argparse

from footfall.commands._common import HelpFormatter, add_settings_options, settings_from_args

HELP = """\
A web app for gait retraining on the treadmill. The runner view (/runner), full screen in front
of the runner, shows the cadence against its target band and each step's impact against the
impact target, per leg, in colours and shapes readable from 2 m. The therapist view (/) picks
the session, marks the baseline, sets a cadence target (+x % or exact spm) and an impact target
(% of the runner's baseline PTA), chooses per channel (cadence, impact) a feedback mode (off,
continuous, bandwidth = only when out of target, faded = on a schedule), starts a no-feedback
retention probe, and notes pain, shoes and belt speed. The browser plays the sound (Web Audio):
a metronome at the target step rate (auto: it starts when cadence has been below the band for N
steps and stops once it is back) and a tone on every step over the impact target, higher and
louder the further over. Open /runner on the screen and click "tap for sound" once.

Every setting goes on the session's control topic, so the processor (`footfall process`, which
must be running) decides when feedback is on, and the recording and the report see it.

  footfall stack up && footfall process &          # broker, database, processor
  footfall simulate --athlete ann --duration 600 &  # or a real session: footfall ingest
  footfall coach                                    # then open http://127.0.0.1:8080/
  footfall coach --host 0.0.0.0 --port 8080         # reachable from a tablet on the clinic network
  footfall coach --athlete ann                      # /runner follows ann's latest session
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("coach", help="live retraining web app: runner and therapist views, "
                            "metronome and impact cues", description=HELP,
                            formatter_class=HelpFormatter)
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default %(default)s: this machine only; "
                             "0.0.0.0 for the clinic network)")
    parser.add_argument("--port", type=int, default=8080, help="port (default %(default)s)")
    add_settings_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import asyncio

    from rich.console import Console

    from footfall.core.errors import CommandError
    from footfall.views.coach.server import bind, serve

    if not 0 < args.port < 65536:
        raise CommandError(f"--port {args.port} is not a TCP port (1-65535)")
    settings = settings_from_args(args)
    athlete = settings.athlete if "athlete" in settings.model_fields_set else None
    sock = bind(args.host, args.port)
    shown = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    console = Console()
    console.print(f"footfall coach on http://{shown}:{args.port}/ (therapist) and "
                  f"http://{shown}:{args.port}/runner (runner), broker {settings.mqtt_url}; "
                  "Ctrl-C to stop")
    try:
        coach = asyncio.run(serve(settings, sock, default_athlete=athlete))
    except KeyboardInterrupt:  # uvicorn re-raises the signal it handled
        coach = None
    finally:
        sock.close()
    malformed = coach.quarantine.total if coach is not None else 0
    console.print("coach stopped" + (f"; {malformed} malformed messages set aside"
                                     if malformed else ""))
    return 0
