"""``footfall analyze FILE``: the live processor run over a recording, in one call."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich_argparse import RawDescriptionRichHelpFormatter

from footfall.core.errors import CommandError

if TYPE_CHECKING:
    from footfall.processing.config import AnalysisConfig
    from footfall.processing.offline import AnalysisResult

HELP = """\
Analyse a recording exactly as the live processor would have (same code, fed in one call):
every step with its impact peak, cadence, drift against a baseline, clipping and data quality.

Inputs (recognised by extension, else by content):
  CSV      header time_s,ax_g,ay_g,az_g (any order; optional gx_dps,gy_dps,gz_dps); one
           sensor, acceleration in g. No usable time column? give --sample-rate.
  FIT      a watch or foot-pod activity: its cadence/speed records are replayed as a foot pod
           (FIT cadence is strides/min; reported here in steps/min). Multisport files: only
           the running sessions are analysed. No accelerometer, so no impact.
  MCAP     a footfall session recording (footfall record / footfall simulate --record): every
           device, with the placement and side from its own meta.

What a "step" is: a tibia or foot sensor sees its own leg's strikes (one per stride; cadence is
2 × the stride rate, in steps/min), a sacrum sensor sees every step. impact_g is the peak
resultant acceleration — an impact marker, not bone load; a peak that reached the sensor's
full-scale range is flagged clipped (its value is a lower bound) and left out of impact
medians. The baseline is taken after a warm-up (defaults 60 s + 60 s; recordings shorter than
3 min use their first 10 % as warm-up and the next 20 % as baseline).

Examples:
  footfall analyze run.csv --placement tibia --side left
  footfall analyze shank.csv --range-g 8 --json > steps.json
  footfall analyze morning-run.fit
  footfall analyze session.mcap --json | jq .summary
"""

KINDS = ("auto", "csv", "fit", "session")
SHORT_RECORDING_S = 180.0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("analyze", help="analyse a CSV, FIT or session file offline",
                            description=HELP, formatter_class=RawDescriptionRichHelpFormatter)
    parser.add_argument("file", type=Path, metavar="FILE", help="CSV, FIT or MCAP session file")
    parser.add_argument("--kind", choices=KINDS, default="auto",
                        help="file type (default: from the extension, else the content)")
    parser.add_argument("--placement", choices=("tibia", "foot", "sacrum"), default=None,
                        help="where the sensor was worn (CSV; devices without meta in a "
                             "session); default tibia")
    parser.add_argument("--side", choices=("left", "right", "none"), default=None,
                        help="which leg (default none)")
    parser.add_argument("--sample-rate", type=float, metavar="HZ", default=None,
                        help="CSV sample rate; replaces the time column")
    parser.add_argument("--range-g", type=int, metavar="G", default=None,
                        help="CSV sensor full-scale range (±G); samples at it are clipped. "
                             "Default: the smallest standard range covering the data")
    parser.add_argument("--warmup-s", type=float, metavar="S", default=None,
                        help="seconds before the baseline starts")
    parser.add_argument("--baseline-s", type=float, metavar="S", default=None,
                        help="length of the baseline window")
    parser.add_argument("--speed", type=float, metavar="M_PER_S", default=None,
                        help="treadmill speed, to separate speed-explained cadence change")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object: steps, summary, alerts")
    parser.add_argument("--metrics", action="store_true",
                        help="with --json: also the per-second metrics")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json

    path: Path = args.file
    if not path.is_file():
        raise CommandError(f"{path} does not exist or is not a file")
    kind = args.kind if args.kind != "auto" else detect_kind(path)
    notes: list[str] = []
    results, time_label = _analyze(kind, path, args, notes)
    report = build_report(results, include_metrics=args.metrics)
    report["file"], report["kind"], report["timebase"] = str(path), kind, time_label
    report["notes"] = notes
    if args.json:
        print(json.dumps(report, allow_nan=False))
    else:
        _print_report(report)
    return 0


def detect_kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        return "csv"
    if suffix == ".fit":
        return "fit"
    if suffix == ".mcap":
        return "session"
    with path.open("rb") as f:
        head = f.read(16)
    if head[8:12] == b".FIT":
        return "fit"
    if head.startswith(b"\x89MCAP"):
        return "session"
    if head[:1].isascii():
        return "csv"
    raise CommandError(f"cannot tell what {path} is: pass --kind csv|fit|session")


def _config(args: argparse.Namespace, duration_s: float) -> AnalysisConfig:
    from footfall.processing.config import AnalysisConfig

    warmup, baseline = args.warmup_s, args.baseline_s
    if warmup is None and baseline is None and duration_s < SHORT_RECORDING_S:
        warmup, baseline = 0.1 * duration_s, 0.2 * duration_s
    defaults = AnalysisConfig()
    return AnalysisConfig(
        default_placement=args.placement or "tibia", default_side=args.side or "none",
        warmup_s=defaults.warmup_s if warmup is None else warmup,
        baseline_s=defaults.baseline_s if baseline is None else baseline,
        treadmill_speed_mps=args.speed,
    )


def _analyze(kind: str, path: Path, args: argparse.Namespace,
             notes: list[str]) -> tuple[dict[str, AnalysisResult], str]:
    from footfall.processing.offline import DEVICE, analyze_accel, analyze_rsc, choose_range_g

    if kind == "csv":
        from footfall.recordings.csv import CsvFormatError, read_csv

        try:
            rec = read_csv(path, args.sample_rate)
        except (CsvFormatError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        config = _config(args, float(rec.time_s[-1] - rec.time_s[0]))
        range_g = args.range_g or choose_range_g(rec.accel_g)
        notes.append(f"sensor range ±{range_g} g" + (
            " assumed (the smallest standard range covering the data; pass --range-g): "
            "samples at it count as clipped" if args.range_g is None else ""))
        result = analyze_accel(rec.accel_g, rec.sample_rate_hz, accel_range_g=range_g,
                               placement=config.default_placement,
                               side=config.default_side, config=config,
                               time_s=rec.time_s, gyro_dps=rec.gyro_dps)
        label = "the file's time_s" if rec.time_from_file else \
            f"s from the first sample at {rec.sample_rate_hz:g} Hz"
        return {DEVICE: result}, label
    if kind == "fit":
        from footfall.recordings.fit import FitImportError, read_fit

        try:
            fit = read_fit(path)
        except FitImportError as exc:
            raise CommandError(str(exc)) from exc
        if not fit.samples:
            raise CommandError(f"{path}: no running records with cadence and speed")
        span = (fit.samples[-1].time_ns - fit.samples[0].time_ns) / 1e9
        result = analyze_rsc(fit.samples, side=args.side or "none",
                             config=_config(args, span))
        return {DEVICE: result}, "s from the first running record (UTC in time_utc)"
    if kind == "session":
        return _analyze_session(path, args, notes), "s from the session's first sample " \
            "(UTC in time_utc)"
    raise CommandError(f"unknown kind {kind!r}")


def _analyze_session(path: Path, args: argparse.Namespace,
                     notes: list[str]) -> dict[str, AnalysisResult]:
    from footfall.processing.offline import collect
    from footfall.processing.session import SessionProcessor
    from footfall.recordings.session_file import (
        RAW_STREAMS,
        SessionFileError,
        data_span_ns,
        iter_messages,
        read_info,
    )
    from footfall.wire import frame as wire_frame
    from footfall.wire.events import DeviceMeta, EventError, RscSample
    from footfall.wire.topics import Stream

    try:
        info = read_info(path)
        # the data's own time, not when it was recorded: a session recorded from a replay or
        # simulation at --speed 10 was received in a tenth of its duration
        start_ns, end_ns = data_span_ns(path) or (info.start_ns, info.end_ns)
        processor = SessionProcessor(info.athlete or "offline", info.session or "offline",
                                     _config(args, (end_ns - start_ns) / 1e9))
        results: dict[str, AnalysisResult] = {}
        for msg in iter_messages(path, RAW_STREAMS):
            device, stream = msg.topic.device, msg.topic.stream
            try:
                if stream == Stream.META:
                    processor.set_meta(device, DeviceMeta.from_json(msg.payload))
                elif stream == Stream.IMU:
                    collect(processor.feed_frame(device, wire_frame.decode(msg.payload)),
                            results)
                elif stream == Stream.RSC:
                    collect(processor.feed_rsc(device, RscSample.from_json(msg.payload)),
                            results)
            except (EventError, wire_frame.FrameError) as exc:
                notes.append(f"skipped a malformed {stream} message of {device}: {exc}")
        collect(processor.finish(), results)
    except SessionFileError as exc:
        raise CommandError(str(exc)) from exc
    for result in results.values():
        result.utc0_ns = start_ns
    return results


def build_report(results: dict[str, AnalysisResult],
                 include_metrics: bool = False) -> dict[str, Any]:
    """The ``--json`` object. ``summary`` is the device with the most steps (the only one
    for CSV/FIT); ``devices`` has every device's summary."""
    from footfall.wire.events import utc_iso

    steps: list[dict[str, Any]] = []
    alerts: list[dict[str, Any]] = []
    metrics: list[dict[str, Any]] = []
    multi = sum(1 for r in results.values() if r.steps or r.metrics) > 1
    for device, r in results.items():
        for s in r.steps:
            step = {
                "time_s": r.input_time_s(s.time_ns),
                "impact_g": s.impact_g,
                "impact_axial_g": s.extra.get("impact_axial_g"),
                "clipped": s.clipped,
                "side": s.side,
                "placement": s.placement,
                "cadence_spm": s.cadence_spm,
                "interval_s": s.interval_s,
                "loading_rate_gps": s.extra.get("loading_rate_gps"),
                "confidence": s.confidence,
                "time_utc": utc_iso(s.time_ns) if r.utc0_ns else None,
            }
            if multi:
                step["device"] = device
            steps.append(step)
        for a in r.alerts:
            alerts.append({"time_s": r.input_time_s(a.time_ns), "device": device,
                           "rule": a.rule, "state": a.state, "severity": a.severity,
                           "message": a.message, "value": a.value})
        if include_metrics:
            metrics += [{"time_s": r.input_time_s(m.time_ns), "device": device,
                         "cadence_spm": m.cadence_spm, "steps_total": m.steps_total,
                         **m.extra} for m in r.metrics]
    steps.sort(key=lambda s: s["time_s"])
    # session-wide alerts come under the pseudo-device "session", which has no summary
    summaries = {d: r.summary() for d, r in results.items() if r.steps or r.metrics}
    main = max(summaries, key=lambda d: summaries[d]["steps"], default=None)
    report: dict[str, Any] = {
        "steps": steps,
        "summary": summaries[main] if main is not None else {"steps": 0},
        "alerts": alerts,
        "devices": summaries,
    }
    if include_metrics:
        report["metrics"] = metrics
    return report


def _print_report(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"[bold]{report['file']}[/] ({report['kind']}; times in "
                  f"{report['timebase']})")
    for note in report.get("notes", []):
        console.print(f"[dim]note: {note}[/]")
    for device, s in report["devices"].items():
        table = Table(title=f"{device}: {s.get('placement') or '?'} "
                            f"{s.get('side') or ''}".strip(), show_header=False)
        table.add_column(style="bold")
        table.add_column(justify="right")
        strike = s.get("strike")
        what = {"stride": "strikes of this leg (strides)", "step": "steps"}.get(
            strike or "", "steps (from the pod's cadence)")
        rows = [
            (what, f"{s['steps']}"),
            ("cadence, median", _fmt(s.get("cadence_spm"), "spm")),
            ("cadence baseline → end", f"{_fmt(s.get('cadence_baseline_spm'), 'spm')} → "
                                       f"{_fmt(s.get('cadence_final_spm'), 'spm')}"),
            ("cadence change vs baseline", _fmt(s.get("cadence_change_pct"), "%", "+.1f")),
            ("  explained by speed", _fmt(s.get("cadence_speed_explained_pct"), "%", "+.1f")),
            ("  drift (not explained)", _fmt(s.get("cadence_drift_pct"), "%", "+.1f")),
            ("cadence trend", _fmt(s.get("cadence_trend_spm_per_min"), "spm/min", "+.2f")),
        ]
        if s.get("source") == "imu":
            rows += [
                ("impact (PTA marker), median", _fmt(s.get("impact_g"), "g")),
                ("impact baseline → end", f"{_fmt(s.get('impact_baseline_g'), 'g')} → "
                                          f"{_fmt(s.get('impact_final_g'), 'g')}"),
                ("impact drift", _fmt(s.get("impact_drift_pct"), "%", "+.1f")),
                ("impact symmetry (R − L) / max", _fmt(s.get("symmetry_pct"), "%", "+.1f")),
                ("step-time symmetry", _fmt(s.get("step_time_symmetry_pct"), "%", "+.1f")),
                ("clipped peaks", f"{s.get('clipped_steps', 0)} "
                                  f"({_fmt(s.get('clipped_pct'), '%', '.0f')})"),
                ("packet loss", _fmt(s.get("packet_loss_pct"), "%")),
            ]
        for row in rows:
            table.add_row(*row)
        console.print(table)
        if s.get("clipped_steps"):
            console.print("[yellow]Some impact peaks reached the sensor's range: their impact "
                          "is a lower bound and is left out of the impact figures. A ≥ ±32 g "
                          "sensor avoids this.[/]")
    for a in report["alerts"]:
        console.print(f"[red]alert[/] {a['time_s']:8.1f} s {a['device']}: {a['rule']} "
                      f"{a['state']}: {a['message']}")


def _fmt(value: float | None, unit: str, spec: str = ".1f") -> str:
    return "—" if value is None else f"{format(float(value), spec)} {unit}"
