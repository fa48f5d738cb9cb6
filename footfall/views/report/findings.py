"""What the numbers say, in plain language: the report's findings, data-quality caveats and
session details — and ``footfall analyze``'s text output, which prints the same sentences.

Every number comes from the device summaries the processor computed (analyze's ``summary``)
through :class:`~footfall.views.report.data.Headline`'s documented rules, written by
:mod:`.text`; nothing here computes a gait figure of its own except the probe comparison
(which needs the feedback periods) and the visit-to-visit changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import tzinfo

from footfall.config.analysis import AnalysisConfig
from footfall.core.units import NS
from footfall.processing.load import CHRONIC_WEEKS, RAMP_FLAG_PCT, Week
from footfall.processing.summary import target_band_spm
from footfall.views.report import text as t
from footfall.views.report.data import (
    Headline,
    LegImpact,
    Notes,
    Session,
    Visit,
    probe_result,
)
from footfall.wire.events import RuleName

#: each alert rule (processing/alerts.py) in words a runner understands
RULE_WORDS: dict[RuleName, str] = {
    "impact": "impact high",
    "cadence_target": "cadence below the target",
    "cadence_drift": "cadence drifting below the baseline (possible fatigue)",
    "asymmetry": "left/right impact asymmetry",
    "clipping": "sensor range exceeded, impact underestimated",
    "packet_loss": "data lost in transit",
    "sensor_offline": "sensor offline",
    "no_data": "no data from a sensor",
}
#: more alerts than this are counted by kind instead of listed one by one
MAX_ALERTS_LISTED = 12
PTA_NOTE = ("Impact is the peak tibial acceleration of each step (PTA), in g: an impact "
            "marker, not a measure of bone load.")


@dataclass(frozen=True, slots=True)
class Finding:
    topic: str  # cadence, impact, symmetry, feedback, pauses, alerts, quality, visits, …
    text: str


def _rose(value: float | None) -> str:
    if value is None:
        return "changed"
    return "rose" if value > 0 else "fell" if value < 0 else "stayed the same"


# -- one session -------------------------------------------------------------------------------


def cadence_findings(head: Headline, session: Session | None,
                     config: AnalysisConfig) -> list[Finding]:
    out = []
    if head.cadence_spm is None:
        return [Finding("cadence", "Cadence: not measured.")]
    base, final = head.cadence_baseline_spm, head.cadence_final_spm
    line = f"Cadence was {t.spm(head.cadence_spm)} (median of every step)."
    if base is not None:
        window = session.baseline_window() if session is not None else None
        when = (f", {t.clock((window.start_ns - head.start_ns) / NS)}–"
                f"{t.clock((window.end_ns - head.start_ns) / NS)} into the run"
                if window is not None else "")
        line += (f" It went from {t.spm(base)} in the baseline (no feedback{when}) to "
                 f"{t.spm(final)} at the end: {t.change(head.cadence_change_pct)}.")
        explained = head.cadence_speed_explained_pct
        if explained is not None and abs(explained) >= 0.05:  # the speed changed
            line += (f" Of that, {t.change(explained)} is explained by the change of speed and "
                     f"{t.change(head.cadence_drift_pct)} is not.")
    else:
        line += (f" There is no baseline: the run was shorter than the warm-up and baseline "
                 f"({t.duration(config.warmup_s)} + {t.duration(config.baseline_s)}), so no "
                 "change against it.")
    out.append(Finding("cadence", line))
    if head.cadence_target_spm is not None and head.time_in_target_pct is not None:
        low, high = target_band_spm(head.cadence_target_spm, config.alerts)
        out.append(Finding("cadence", (
            f"The cadence target was {t.spm(head.cadence_target_spm)}; cadence stayed in the "
            f"target band ({t.number(low, 0)}{t.DASH}{t.spm(high)}) for "
            f"{t.pct(head.time_in_target_pct)} of the time after the target was set.")))
    else:
        out.append(Finding("cadence", "No cadence target was set for this run, so the time "
                                      "in the target band is not known."))
    return out


def _leg_sentence(leg: LegImpact, config: AnalysisConfig) -> str:
    limit = config.max_clipped_for_impact_pct
    if leg.impact_g is None:
        return (f"{leg.label}: not reported, because more than {t.pct(limit)} of its peaks "
                "reached the sensor's range (the rest would understate it).")
    line = f"{leg.label}: median {t.g(leg.impact_g)}"
    if leg.baseline_g is not None and leg.final_g is not None:
        line += (f"; from {t.g(leg.baseline_g)} in the baseline to {t.g(leg.final_g)} at the "
                 f"end: {t.change(leg.drift_pct)}")
    elif leg.baseline_g is not None:
        line += (f"; baseline {t.g(leg.baseline_g)}, no end value (more than "
                 f"{t.pct(limit)} of the last peaks reached the sensor's range)")
    return line + "."


def impact_findings(head: Headline, config: AnalysisConfig) -> list[Finding]:
    if not head.has_impact_sensor:
        return [Finding("impact", "Impact: not measured (a watch or foot pod measures no "
                                  "impact; that needs a tibia sensor).")]
    out = [Finding("impact", f"Impact (PTA), {_leg_sentence(leg, config)}")
           for leg in head.impacts]
    sym = head.symmetry_pct
    if sym is not None:
        higher = "right" if sym > 0 else "left"
        flag = config.alerts.asymmetry_pct
        verdict = "beyond" if abs(sym) > flag else "within"
        out.append(Finding("symmetry", (
            f"Left/right: the {higher} leg's median impact was {t.pct(abs(sym), 1)} higher "
            f"(symmetry index {t.change(sym)}), {verdict} the ±{t.pct(flag)} footfall flags.")))
    else:
        out.append(Finding("symmetry", "Left/right symmetry: not known (it needs a left and a "
                                       "right sensor, both with an impact figure)."))
    return out


def feedback_findings(session: Session) -> list[Finding]:
    if session.feedback is None:
        return [Finding("feedback", "Feedback periods: not recorded.")]
    out = []
    on = sum(p.duration_s for p in session.feedback_on())
    out.append(Finding("feedback", f"Feedback was on for {t.duration(on)} of the "
                                   f"{t.duration(session.headline.duration_s)} run."))
    result = probe_result(session)
    if result is None:
        out.append(Finding("feedback", "There was no no-feedback retention probe."))
        return out
    legs = ", ".join(f"{t.change(v)} ({label})" for label, v in
                     result.impact_vs_baseline_pct.items())
    out.append(Finding("feedback", (
        f"In the {t.duration(result.duration_s)} no-feedback probe, cadence was "
        f"{t.spm(result.cadence_spm)} ({t.change(result.cadence_vs_baseline_pct)} vs the "
        f"baseline)" + (f" and impact {legs} vs the baseline." if legs else "."))))
    return out


def pause_findings(session: Session) -> list[Finding]:
    if session.pauses is None:
        return [Finding("pauses", "Pauses and walking: not recorded.")]
    if not session.pauses:
        return [Finding("pauses", "No pauses.")]
    parts = []
    for kind, one, many in (("stop", "stop", "stops"), ("walk", "walking break",
                                                         "walking breaks")):
        these = [p for p in session.pauses if p.kind == kind]
        if these:
            total = sum(p.duration_s for p in these)
            parts.append(f"{len(these)} {one if len(these) == 1 else many} "
                         f"({t.duration(total)} in all)")
    return [Finding("pauses", f"Breaks in running: {' and '.join(parts)}, left out of the "
                              "baseline and the drift.")]


def alert_findings(session: Session) -> list[Finding]:
    start = session.start_ns
    starts = [(d, a) for d, a in session.alerts if a.state == "start"]
    if not starts:
        return [Finding("alerts", "No alert was raised.")]
    labels = {name: device.label for name, device in session.devices.items()}
    if len(starts) <= MAX_ALERTS_LISTED:
        items = [f"{t.clock((a.time_ns - start) / NS)} {RULE_WORDS[a.rule]}"
                 + (f" ({labels[d]})" if d in labels else "") for d, a in starts]
        return [Finding("alerts", "Alerts, in time order (minutes:seconds into the run): "
                                  + "; ".join(items) + ".")]
    by_rule: dict[str, list[int]] = {}
    for _, a in starts:
        by_rule.setdefault(a.rule, []).append(a.time_ns)
    items = [f"{RULE_WORDS[rule]} {len(times)} times, first at "  # type: ignore[index]
             f"{t.clock((times[0] - start) / NS)}" for rule, times in by_rule.items()]
    return [Finding("alerts", f"{len(starts)} alerts, by kind in the order they first came "
                              "(minutes:seconds into the run): " + "; ".join(items) + ".")]


def quality_caveats(session: Session) -> list[str]:
    """Data-quality caveats, stated plainly."""
    out = []
    head = session.headline
    for name, device in session.devices.items():
        s = device.summary
        if s.clipped_steps and s.steps:
            rng = f"±{device.accel_range_g}{t.NBSP}g " if device.accel_range_g else ""
            out.append(f"PTA is a lower bound on {t.pct(s.clipped_pct, 1)} of the "
                       f"{device.label}'s steps ({s.clipped_steps} of {s.steps}): the sensor's "
                       f"{rng}range was exceeded. They are left out of the impact figures; a "
                       f"±32{t.NBSP}g sensor avoids this.")
        del name
    if head.packet_loss_pct:
        out.append(f"{t.pct(head.packet_loss_pct, 1)} of the samples were lost on the way "
                   "from the sensors: some steps may be missing.")
    if session.belt_speed() is None:
        out.append("The belt speed was not recorded: a change in cadence or impact may come "
                   "from a change of speed (about 5.6 spm and 3.8 g per m/s).")
    if head.cadence_baseline_spm is None:
        out.append("No baseline could be taken, so there is no change or drift against it.")
    run = session.watch
    if run is not None and head.steps is not None and run.steps is not None \
            and abs(run.steps - head.steps) > 0.02 * run.steps:
        out.append(f"The {t.count(head.steps)} steps are counted from the cadence while "
                   f"running, as a foot pod's are; the watch's records, walking included, give "
                   f"{t.count(run.steps)} (the training-load count).")
    return out


def details(session: Session, tz: tzinfo) -> list[tuple[str, str]]:
    """The session details table: athlete, local date, duration, belt speed, shoes, pain,
    notes, sensors, steps."""
    head = session.headline
    notes = session.notes or Notes()
    speed = session.belt_speed()
    pain = "not recorded" if notes.pain_0_10 is None else f"{t.number(notes.pain_0_10, 0)} of 10"
    run = session.watch
    if run is not None and run.distance_m and run.time_s:
        pace = ("Distance", f"{t.km(run.distance_m, 2)} in {t.duration(run.time_s)} "
                f"(pace {t.pace(run.distance_m / run.time_s)})")
    else:
        pace = ("Belt speed", "not recorded" if speed is None else
                f"{t.kmh(speed)} (pace {t.pace(speed)})")
    return [
        ("Runner", session.athlete),
        ("Date", t.date_time(head.start_ns, tz)),
        ("Duration", t.duration(head.duration_s)),
        pace,
        ("Shoes", notes.shoes or "not recorded"),
        ("Pain (0–10)", pain),
        ("Notes", notes.text or "none"),
        ("Sensors", ", ".join(d.label for d in session.devices.values())),
        ("Steps", "—" if head.steps is None else f"{t.count(head.steps)}, both legs"),
    ]


def session_findings(session: Session) -> list[Finding]:
    head = session.headline
    return [*cadence_findings(head, session, session.config),
            *impact_findings(head, session.config), *feedback_findings(session),
            *pause_findings(session), *alert_findings(session)]


# -- visits ---------------------------------------------------------------------------------


def _first_last(values: Sequence[float | None]) -> tuple[float, float] | None:
    known = [v for v in values if v is not None]
    return (known[0], known[-1]) if len(known) >= 2 else None


def _trend(name: str, values: Sequence[float | None], fmt: str) -> str | None:
    pair = _first_last(values)
    if pair is None:
        return None
    first, last = pair
    show = t.spm if fmt == "spm" else t.g
    change = 100.0 * (last / first - 1) if first else None
    return (f"{name} went from {show(first)} at the first visit to {show(last)} at the last "
            f"({t.change(change)}).")


def visit_findings(visits: Sequence[Visit], config: AnalysisConfig,
                   tz: tzinfo) -> list[Finding]:
    if not visits:
        return []
    heads = [v.headline for v in visits]
    out = [Finding("visits", f"{len(visits)} visit(s), from "
                             f"{t.short_date(heads[0].start_ns, tz)} to "
                             f"{t.short_date(heads[-1].start_ns, tz)}.")]
    for name, values, fmt in (
            ("Cadence (median)", [h.cadence_spm for h in heads], "spm"),
            ("The baseline cadence (the runner's own, without feedback)",
             [h.cadence_baseline_spm for h in heads], "spm")):
        line = _trend(name, values, fmt)
        if line:
            out.append(Finding("cadence", line))
    for side in ("left", "right"):
        legs = [h.impact(side) for h in heads]
        line = _trend(f"Impact (PTA), {side} leg,", [leg.impact_g if leg else None
                                                       for leg in legs], "g")
        if line:
            out.append(Finding("impact", line))
    syms = [h.symmetry_pct for h in heads]
    flag = config.alerts.asymmetry_pct
    flagged = [str(i + 1) for i, s in enumerate(syms) if s is not None and abs(s) > flag]
    if any(s is not None for s in syms):
        last = next(s for s in reversed(syms) if s is not None)
        line = f"Left/right symmetry index at the last visit: {t.change(last)}."
        line += (f" Beyond ±{t.pct(flag)} at visit(s) {', '.join(flagged)}." if flagged else
                 f" Within ±{t.pct(flag)} at every visit.")
        out.append(Finding("symmetry", line))
    targets = [(i, h) for i, h in enumerate(heads) if h.time_in_target_pct is not None]
    if targets:
        i, h = targets[-1]
        out.append(Finding("cadence", f"In the target band for {t.pct(h.time_in_target_pct)} "
                                      f"of the time at visit {i + 1}."))
    else:
        out.append(Finding("cadence", "No cadence target was set at any visit: the time in "
                                      "the target band is not known."))
    probes = [(i, v.probe) for i, v in enumerate(visits) if v.probe is not None]
    if probes:
        i, probe = probes[-1]
        probe_legs = ", ".join(f"{t.change(v)} ({label})"
                               for label, v in probe.impact_vs_baseline_pct.items())
        out.append(Finding("feedback", f"Retention probe at visit {i + 1} (no feedback, "
                                       f"{t.duration(probe.duration_s)}): impact {probe_legs} vs "
                                       "that visit's baseline."))
    else:
        out.append(Finding("feedback", "Retention probes: not recorded."))
    pains = [v.notes.pain_0_10 if v.notes else None for v in visits]
    pair = _first_last(pains)
    if pair is not None:
        out.append(Finding("pain", f"Pain went from {t.number(pair[0], 0)} to "
                                   f"{t.number(pair[1], 0)} of 10."))
    else:
        out.append(Finding("pain", "Pain: not recorded at two or more visits."))
    return out


# -- training load --------------------------------------------------------------------------


def load_findings(weeks: Sequence[Week]) -> list[Finding]:
    if not weeks:
        return [Finding("load", "No run to count: no watch file and no treadmill session.")]
    out = []
    last = weeks[-1]
    out.append(Finding("load", (
        f"Week of {t.short_date_day(last.start)}: {last.count('watch')} watch run(s) and "
        f"{last.count('treadmill')} treadmill session(s), "
        f"{'' if last.distance_complete else 'at least '}{t.km(last.distance_m)}, "
        f"{t.duration(last.time_s)}, {t.count(last.steps)} steps.")))
    flagged = [w for w in weeks if w.ramp_flagged]
    if flagged:
        items = "; ".join(f"week of {t.short_date_day(w.start)} {t.change(w.ramp_pct)}"
                          for w in flagged)
        out.append(Finding("load", (
            f"Distance rose by more than {t.pct(RAMP_FLAG_PCT)} on the week before: {items}. "
            "In one study novice runners who did so had more distance-related injuries "
            "(Nielsen et al. 2014): worth a conversation, not an alarm.")))
    else:
        out.append(Finding("load", f"No week rose by more than {t.pct(RAMP_FLAG_PCT)} in "
                                   "distance on the week before."))
    if last.acwr is not None:
        out.append(Finding("load", (
            f"Acute:chronic distance ratio this week: {t.number(last.acwr, 2)} (this week / "
            f"the mean of the last {CHRONIC_WEEKS} weeks). The ratio is widely used and "
            "widely contested (Lolli et al. 2019; Impellizzeri et al. 2021): a number to "
            "talk about, not a verdict.")))
    else:
        out.append(Finding("load", f"Acute:chronic ratio: needs {CHRONIC_WEEKS} weeks of "
                                   "runs."))
    impact = [w.impact_load_g for w in weeks if w.impact_load_g is not None]
    if impact:
        out.append(Finding("load", (
            "Cumulative impact (steps × PTA) counts only the treadmill sessions with tibia "
            "sensors: a watch measures no impact. This week: "
            f"{t.impact_load(last.impact_load_g)}.")))
    return out
