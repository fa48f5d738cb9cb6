"""``footfall analyze FILE``: the live processor run over a recording, in one call."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from footfall.commands._common import HelpFormatter, add_analysis_options, analysis_overrides
from footfall.core.errors import CommandError
from footfall.core.vocab import PLACEMENTS, SIDES

if TYPE_CHECKING:
    from collections.abc import Callable

    from footfall.config.analysis import AnalysisConfig
    from footfall.processing.offline import AnalysisResult

HELP = """\
Analyse a recording exactly as the live processor would have (same code, fed in one call):
every step with its impact peak, cadence, drift against a baseline, clipping and data quality.

Inputs (recognised by extension, else by content):
  CSV      header time_s,ax_g,ay_g,az_g (any order; optional gx_dps,gy_dps,gz_dps); one
           sensor, acceleration in g. No usable time column? give --sample-rate.
  FIT      a watch or foot-pod activity: its cadence/speed records are replayed as a foot pod
           (FIT cadence is strides/min; reported here in steps/min). Multisport files: each
           running session is a run leg, analysed on its own (devices footpod-leg1, -leg2 …;
           --leg N for one). No accelerometer, so no impact.
  MCAP     a footfall session recording (footfall record / footfall simulate --record): every
           device, with the placement and side from its own meta.

What a "step" is: a tibia or foot sensor sees its own leg's strikes (one per stride; cadence is
2 × the stride rate, in steps/min), a sacrum sensor sees every step. impact_g is the peak
resultant acceleration — an impact marker, not bone load; a peak that reached the sensor's
full-scale range is flagged clipped (its value is a lower bound) and left out of impact
medians; the notes say which clipping rule found it. Stops and walking breaks are listed as
pauses and left out of the baseline and the drift. The baseline is taken on *running* time
after a warm-up (defaults 60 s + 60 s, the same as `footfall process`); the drift compares the
end of the run (its last 10 %, 1–10 min of running) with it, speed-corrected when speed is
known. A recording with too little running has no baseline and no drift.

Examples:
  footfall analyze run.csv --placement tibia --side left
  footfall analyze shank.csv --range-g 8 --json > steps.json
  footfall analyze morning-run.fit
  footfall analyze ironman.fit --leg 1 --json | jq '.pauses'
  footfall analyze session.mcap --json | jq .summary
"""

KINDS = ("auto", "csv", "fit", "session", "dataset")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("analyze", help="analyse a CSV, FIT or session file offline",
                            description=HELP, formatter_class=HelpFormatter)
    parser.add_argument("file", type=Path, metavar="FILE", help="CSV, FIT or MCAP session file")
    parser.add_argument("--kind", choices=KINDS, default="auto",
                        help="file type (default: from the extension, else the content)")
    parser.add_argument("--placement", choices=PLACEMENTS, default=None,
                        help="where the sensor was worn (CSV; devices without meta in a "
                             "session); default tibia")
    parser.add_argument("--side", choices=SIDES, default=None, help="which leg (default none)")
    parser.add_argument("--sample-rate", type=float, metavar="HZ", default=None,
                        help="CSV sample rate; replaces the time column")
    parser.add_argument("--range-g", type=int, metavar="G", default=None,
                        help="CSV sensor full-scale range (±G); samples at it are clipped. "
                             "Default: the standard range the data reach (see the note)")
    parser.add_argument("--leg", type=int, metavar="N", default=None,
                        help="FIT: analyse only the N-th run leg of a multisport file "
                             "(1 = the first running session; default: every run leg)")
    add_analysis_options(parser)
    parser.add_argument("--config", type=Path, metavar="FILE", default=None,
                        help="TOML settings file with [analysis]/[alerts] tables (default "
                             "./footfall.toml if present)")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object: steps, summary per device, pauses, "
                             "alerts, notes")
    parser.add_argument("--metrics", action="store_true",
                        help="with --json: also the per-second metrics")
    parser.add_argument("--timezone", metavar="ZONE", default=None,
                        help="IANA time zone of the date in the text output (default: this "
                             "machine's)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json

    from footfall.config.settings import load_settings

    path: Path = args.file
    if not path.exists():
        raise CommandError(f"{path} does not exist")
    settings = load_settings(args.config)
    notes: list[str] = []
    results, kind, time_label = analyze_path(path, args, settings.analysis_for, notes)
    report = build_report(results, include_metrics=args.metrics)
    report["file"], report["kind"], report["timebase"] = str(path), kind, time_label
    report["notes"] = notes + clipping_notes(results)
    if args.json:
        print(json.dumps(report, allow_nan=False))
    else:
        _print_report(report, results, path, kind, args,
                      settings.analysis_for(None, overrides=analysis_overrides(args)))
    return 0


def analyze_path(path: Path, args: argparse.Namespace,
                 analysis_for: Callable[..., AnalysisConfig],
                 notes: list[str]) -> tuple[dict[str, AnalysisResult], str, str]:
    """The file's results by device, its kind, and how its times are given."""
    from footfall.core.vocab import Placement, Side
    from footfall.processing.offline import analyze_file
    from footfall.recordings.session_file import SessionFileError
    from footfall.recordings.sources import ImportKindError, ImportOptions

    def config_for(athlete: str) -> AnalysisConfig:
        return analysis_for(athlete, overrides=analysis_overrides(args))

    options = ImportOptions(
        placement=Placement(args.placement or "tibia"), side=Side(args.side or "none"),
        accel_range_g=args.range_g, sample_rate_hz=args.sample_rate,
        leg=getattr(args, "leg", None))
    try:
        analysis = analyze_file(path, args.kind, options, config_for=config_for)
    except (ImportKindError, SessionFileError) as exc:
        raise CommandError(str(exc)) from exc
    except FileNotFoundError as exc:
        if not path.is_dir():
            raise CommandError(str(exc)) from exc
        # a folder (also "", here) is read as a public dataset: this one has not its files
        raise CommandError(f"{exc} (a folder is read as a public dataset; give a recording "
                           "file: .mcap, .fit, .csv)") from exc
    notes += analysis.notes
    return analysis.results, analysis.kind, analysis.timebase


def build_report(results: dict[str, AnalysisResult],
                 include_metrics: bool = False) -> dict[str, Any]:
    """The ``--json`` object: ``summary`` has every device's whole-session figures."""
    from footfall.recordings.framing import UNDATED_UTC_NS
    from footfall.wire.events import utc_iso

    steps: list[dict[str, Any]] = []
    alerts: list[dict[str, Any]] = []
    metrics: list[dict[str, Any]] = []
    pauses: list[dict[str, Any]] = []
    multi = sum(1 for r in results.values() if r.steps or r.metrics) > 1
    for device, r in results.items():
        dated = r.utc0_ns != UNDATED_UTC_NS
        for s in r.steps:
            step = {
                "time_s": r.input_time_s(s.time_ns),
                "impact_g": s.impact_g,
                "impact_axial_g": s.impact_axial_g,
                "clipped": s.clipped,
                "side": s.side.value,
                "placement": s.placement.value,
                "cadence_spm": s.cadence_spm,
                "interval_s": s.interval_s,
                "loading_rate_gps": s.loading_rate_gps,
                "confidence": s.confidence,
                "clip_rule": s.clip_rule,
                "time_utc": utc_iso(s.time_ns) if dated else None,
            }
            if multi:
                step["device"] = device
            steps.append(step)
        for p in r.pauses:
            pauses.append({"start_s": r.input_time_s(p.start_ns),
                           "end_s": r.input_time_s(p.time_ns), "device": device,
                           "kind": p.kind, "duration_s": p.duration_s,
                           "running_s": p.running_s,
                           "start_utc": utc_iso(p.start_ns) if dated else None})
        for a in r.alerts:
            alerts.append({"time_s": r.input_time_s(a.time_ns), "device": device,
                           "rule": a.rule, "state": a.state, "severity": a.severity,
                           "message": a.message, "value": a.value})
        if include_metrics:
            metrics += [{"time_s": r.input_time_s(m.time_ns), "device": device,
                         **m.model_dump(mode="json", exclude={"v", "type", "time_ns",
                                                              "time_utc"})}
                        for m in r.metrics]
    steps.sort(key=lambda s: s["time_s"])
    alerts.sort(key=lambda a: a["time_s"])
    pauses.sort(key=lambda p: p["start_s"])
    # session-wide alerts come under the pseudo-device "session", which has no summary
    summaries = {d: r.summary() for d, r in results.items() if r.device_summary is not None}
    report: dict[str, Any] = {"steps": steps, "summary": summaries, "pauses": pauses,
                              "alerts": alerts}
    if include_metrics:
        report["metrics"] = metrics
    return report


#: what each clipping rule means, for the notes (docs/metrics.md, "Clipping")
CLIP_RULE_TEXT = {
    "full_scale": "within 0.1 % of the sensor's full scale",
    "rail": "at the rail the peaks piled up against (whatever range was declared)",
    "flat": "a flat top at the peak",
}


def clipping_notes(results: dict[str, AnalysisResult]) -> list[str]:
    """Per device with clipped strikes: how many each rule found."""
    from collections import Counter

    notes = []
    for device, r in results.items():
        rules = Counter(s.clip_rule for s in r.steps if s.clipped and s.clip_rule)
        if rules:
            found = "; ".join(f"{n} {rule} ({CLIP_RULE_TEXT[rule]})"
                              for rule, n in rules.most_common())
            notes.append(f"{device}: {sum(rules.values())} of {len(r.steps)} strikes clipped, "
                         f"impact a lower bound there: {found}")
    return notes


def _print_report(report: dict[str, Any], results: dict[str, AnalysisResult], path: Path,
                  kind: str, args: argparse.Namespace, config: AnalysisConfig) -> None:
    """Plain language, as the report says it: a header (athlete, local date, duration, pace),
    what we found, data quality, the figures per sensor, the alerts in time order."""
    from rich.table import Table

    from footfall.core.errors import FootfallError
    from footfall.views.report import findings
    from footfall.views.report import text as t
    from footfall.views.report.data import device_label, session_from_analysis
    from footfall.views.terminal import console as terminal_console

    console = terminal_console(highlight=False)
    athlete, session_id = "not recorded", path.stem
    ranges: dict[str, int] = {}
    if kind == "session":
        from footfall.recordings.session_file import read_info

        info = read_info(path)
        athlete, session_id = info.athlete, info.session
        ranges = {d: i.accel_range_g for d, i in info.devices.items()}
    try:
        session = session_from_analysis(results, athlete=athlete, session=session_id,
                                        source=f"{kind} file {path.name}", config=config,
                                        ranges_g=ranges)
    except FootfallError:
        console.print(f"[bold]{path}[/]: no steps and no cadence were found in it.")
        return
    head = session.headline
    tz = t.zone(args.timezone)
    pace = _pace(path, kind, session.belt_speed())
    who = f"[bold]{athlete}[/]" if kind == "session" else "athlete not recorded"
    console.print(f"{who} · {t.date_time(head.start_ns, tz)} · "
                  f"{t.duration(head.duration_s)} · {pace}")
    what = {"session": "a session file", "fit": "a FIT file", "csv": "a CSV file"}.get(
        kind, kind)
    console.print(f"{path} ({what}; sensors: "
                  f"{', '.join(d.label for d in session.devices.values())})")
    for note in report.get("notes", []):
        console.print(f"[dim]note: {note}[/]")
    console.print("\n[bold]What we found[/]")
    for f in findings.session_findings(session):
        if f.topic != "alerts":  # listed below with their messages
            console.print(f" • {f.text}")
    console.print("\n[bold]Data quality[/]")
    for caveat in findings.quality_caveats(session) or ["No data-quality problem was found."]:
        console.print(f" • {caveat}")
    console.print()
    table = Table(title="Per sensor", title_justify="left", show_header=True)
    table.add_column("")
    names = list(report["summary"])
    for device in names:
        summary = session.devices[device].summary if device in session.devices else None
        table.add_column(device_label(summary, device) if summary else device,
                         justify="right")
    for label, cells in _sensor_rows([report["summary"][d] for d in names]):
        table.add_row(label, *cells)
    console.print(table)
    t0 = min((r.input_time_s(head.start_ns) for r in results.values()), default=0.0)
    pauses = report.get("pauses", [])
    if pauses:
        console.print(f"[bold]Pauses and walking breaks[/] ({len(pauses)}; minutes:seconds "
                      "into the run)")
    for p in pauses:
        kind = "stopped" if p["kind"] == "stop" else "walked"
        console.print(f"  {t.clock(p['start_s'] - t0):>7}  {kind} for {p['duration_s']:.0f} s "
                      f"({p['device']}), after {_minutes(p['running_s'])} of running")
    starts = [a for a in report["alerts"] if a["state"] == "start"]
    console.print(f"[bold]Alerts, in time order[/] ({len(starts)} raised; minutes:seconds "
                  "into the run)" if starts else "[bold]No alert was raised.[/]")
    labels = {d: device_label(s.summary, d) for d, s in session.devices.items()}
    for a in starts:  # already in time order (build_report sorts them)
        rule = findings.RULE_WORDS.get(a["rule"], a["rule"])
        console.print(f"  {t.clock(a['time_s'] - t0):>7}  {rule} — "
                      f"{labels.get(a['device'], 'whole session')}: {a['message']}")


def _pace(path: Path, kind: str, belt_speed_mps: float | None) -> str:
    from footfall.views.report import text as t

    if kind == "fit":
        from footfall.processing.load import fit_activities
        from footfall.recordings.fit import read_fit

        runs = fit_activities(read_fit(path), path.name)
        distance = sum(r.distance_m or 0 for r in runs)
        time_s = sum(r.time_s for r in runs)
        if distance and time_s:
            return f"{t.km(distance, 2)}, pace {t.pace(distance / time_s)}"
    if belt_speed_mps:
        return f"belt {t.kmh(belt_speed_mps)}, pace {t.pace(belt_speed_mps)}"
    return "pace not known (no belt speed given: --belt-speed)"


def _sensor_rows(summaries: list[dict[str, Any]]) -> list[tuple[str, list[str]]]:
    """The per-sensor figures in words, one row per figure, one column per sensor."""
    def each(fmt: Callable[[dict[str, Any]], str]) -> list[str]:
        return [fmt(s) for s in summaries]

    def strike(s: dict[str, Any]) -> str:
        what = {"stride": "by this leg", "step": "both legs"}.get(s.get("strike") or "",
                                                                  "from the pod's cadence")
        return f"{s['steps']} ({what})"

    rows = [
        ("steps", each(strike)),
        ("cadence, median", each(lambda s: _fmt(s.get("cadence_spm"), "spm"))),
        ("cadence at the baseline → at the end",
         each(lambda s: f"{_fmt(s.get('cadence_baseline_spm'), 'spm')} → "
                        f"{_fmt(s.get('cadence_final_spm'), 'spm')}")),
        ("speed at the baseline → at the end",
         each(lambda s: f"{_fmt(s.get('speed_baseline_mps'), 'm/s', '.2f')} → "
                        f"{_fmt(s.get('speed_final_mps'), 'm/s', '.2f')}")),
        ("change from the baseline", each(lambda s: _fmt(s.get("cadence_change_pct"), "%",
                                                         "+.1f"))),
        ("  of it from a change of speed",
         each(lambda s: _fmt(s.get("cadence_speed_explained_pct"), "%", "+.1f"))),
        ("  of it not from speed (drift)",
         each(lambda s: _fmt(s.get("cadence_drift_pct"), "%", "+.1f"))),
        ("cadence trend", each(lambda s: _fmt(s.get("cadence_trend_spm_per_min"),
                                              "spm per minute", "+.2f"))),
        ("time in the cadence target band",
         each(lambda s: "no target set" if s.get("time_in_target_pct") is None else
              f"{s['time_in_target_pct']:.0f} % (target {s['cadence_target_spm']:.0f} spm)")),
    ]
    if any(s.get("source") == "imu" for s in summaries):
        rows += [
            ("impact (PTA), median", each(lambda s: _fmt(s.get("impact_g"), "g"))),
            ("impact at the baseline → at the end",
             each(lambda s: f"{_fmt(s.get('impact_baseline_g'), 'g')} → "
                            f"{_fmt(s.get('impact_final_g'), 'g')}")),
            ("impact change from the baseline",
             each(lambda s: _fmt(s.get("impact_drift_pct"), "%", "+.1f"))),
            ("clipped steps (PTA a lower bound)",
             each(lambda s: f"{s.get('clipped_steps', 0)} "
                            f"({_fmt(s.get('clipped_pct'), '%', '.1f')})")),
            ("data lost in transit", each(lambda s: _fmt(s.get("packet_loss_pct"), "%"))),
        ]
    rows += [
        ("running / walking / stopped",
         each(lambda s: " / ".join(_minutes(s.get(k))
                                   for k in ("running_s", "walking_s", "paused_s")))),
        ("pauses / walking breaks (≥ 10 s)",
         each(lambda s: f"{s.get('pauses') or 0} / {s.get('walks') or 0}")),
    ]
    return rows


def _minutes(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"


def _fmt(value: float | None, unit: str, spec: str = ".1f") -> str:
    return "—" if value is None else f"{format(float(value), spec)} {unit}"
