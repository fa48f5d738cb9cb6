"""Validate the gait processor and write docs/validation.md.

    .venv/bin/python scripts/validate.py                 # writes docs/validation.md
    .venv/bin/python scripts/validate.py --out -         # print only

Sections: (1) real sacral recordings with force-plate truth (Alcantara et al. 2022);
(2) confirmation latency and PTA agreement with the published 375-ms method on synthetic 1 kHz
tibia runs; (3) the issue's "must show" cases, which have no public recording and are therefore
*synthetic* (footfall.simulators.runner): a ~143 Hz shank sensor clipping at ±8 g, analysed
with ``footfall analyze`` on a CSV, and a 1 kHz tibia fatigue run.
Everything goes through the live processor (SessionProcessor), fed as frames.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from footfall.commands import analyze  # noqa: E402
from footfall.config.analysis import AnalysisConfig  # noqa: E402
from footfall.core.vocab import Placement, Side  # noqa: E402
from footfall.processing.offline import AnalysisResult, analyze_accel  # noqa: E402
from footfall.processing.tuning import PLACEMENT_TUNING  # noqa: E402
from footfall.processing.validation import (  # noqa: E402
    TrialScore,
    pta_agreement,
    quantised_axial,
    quantised_resultant,
    score_sacral,
)
from footfall.recordings.alcantara import load_trials  # noqa: E402
from footfall.simulators.runner import RunnerParams, SyntheticRun, synthesize  # noqa: E402

SACRAL = ROOT / "tests" / "data" / "sacral-grf-alcantarar"
MATCH_S = 0.020  # a detected strike within ±20 ms of a true one is a hit


def _f(value: float | None, spec: str = ".1f") -> str:
    return "—" if value is None else format(value, spec)


# -- 1. sacral force-plate data ---------------------------------------------------------------

def sacral_section() -> tuple[list[str], dict[str, Any]]:
    scores = [score_sacral(t) for t in load_trials(SACRAL)]
    tp = sum(s.true_pos for s in scores)
    fp = sum(s.false_pos for s in scores)
    fn = sum(s.false_neg for s in scores)
    errs = [s.cadence_error_spm for s in scores if s.cadence_error_spm is not None]
    mean_errs = [s.cadence_mean_spm - s.cadence_truth_mean_spm for s in scores
                 if s.cadence_mean_spm is not None and s.cadence_truth_mean_spm is not None]
    delays = [s.max_delay_ms for s in scores]
    stats = {
        "recall": tp / (tp + fn), "precision": tp / (tp + fp), "contacts": tp + fn,
        "within_1_spm": sum(abs(e) <= 1.0 for e in errs), "trials": len(scores),
        "max_abs_err": max(abs(e) for e in errs),
        "mean_within_1_spm": sum(abs(e) <= 1.0 for e in mean_errs),
        "max_abs_mean_err": max(abs(e) for e in mean_errs),
        "max_delay_ms": max(delays),
        "median_delay_ms": float(np.median([s.median_delay_ms for s in scores])),
    }
    lines = [
        "| trial | speed m/s | slope ° | contacts | hits | false | missed | cadence truth spm |"
        " ours spm | error spm | first→last error spm | median per-step spm | max delay ms |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in scores:
        lines.append(_sacral_row(s))
    return lines, stats


def _sacral_row(s: TrialScore) -> str:
    mean_err = (None if s.cadence_mean_spm is None or s.cadence_truth_mean_spm is None
                else s.cadence_mean_spm - s.cadence_truth_mean_spm)
    return (f"| {s.trial} | {s.speed_mps:.2f} | {s.slope_deg:+.0f} | {s.contacts} | "
            f"{s.true_pos} | {s.false_pos} | {s.false_neg} | {_f(s.cadence_truth_spm, '.2f')} | "
            f"{_f(s.cadence_spm, '.2f')} | {_f(s.cadence_error_spm, '+.2f')} | "
            f"{_f(mean_err, '+.2f')} | {_f(s.cadence_median_spm)} | {s.max_delay_ms:.0f} |")


# -- 2. latency and PTA agreement on synthetic 1 kHz tibia -------------------------------------

def match(result: AnalysisResult, run: SyntheticRun) -> tuple[int, int, int, np.ndarray]:
    """(hits, false, missed, truth index per hit) against the sensor's own-leg strikes."""
    truth = run.truth.own().time_s
    found = np.array([s.sensor_time_s for s in result.steps])
    used = np.zeros(truth.size, dtype=bool)
    hits: list[int] = []
    false = 0
    for t in found:
        k = int(np.argmin(np.abs(truth - t))) if truth.size else -1
        if k >= 0 and abs(truth[k] - t) <= MATCH_S and not used[k]:
            used[k] = True
            hits.append(k)
        else:
            false += 1
    return len(hits), false, int((~used).sum()), np.asarray(hits, dtype=np.intp)


def latency_section() -> tuple[list[str], dict[str, Any]]:
    lines = ["| run | strikes | hits | false | missed | resultant PTA = 375-ms (equal / compared) |"
             " axial PTA = 375-ms on axial | delay median ms | delay max ms |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    equal = compared = equal_ax = compared_ax = 0
    all_delays: list[float] = []
    runs: list[tuple[int, float, Side]] = [(1, 2.7, "left"), (2, 3.0, "right"),
                                           (3, 3.3, "left"), (4, 3.7, "right"), (5, 4.2, "left")]
    for seed, speed, side in runs:
        params = RunnerParams(placement="tibia", side=side, sample_rate_hz=1000.0,
                              accel_range_g=32, speed_mps=speed, seed=seed)
        run = synthesize(params, 300.0)
        result = analyze_accel(run.accel_g, 1000.0, accel_range_g=32, placement="tibia",
                               side=side)
        hits, false, missed, _ = match(result, run)
        eq, comp = pta_agreement(result, quantised_resultant(run.accel_g, 32), 1000.0)
        eq_ax, comp_ax = pta_agreement(result, quantised_axial(run.accel_g, 32), 1000.0,
                                       axial=True)
        equal_ax, compared_ax = equal_ax + eq_ax, compared_ax + comp_ax
        delays = [s.extra["confirm_delay_ms"] for s in result.steps]
        equal, compared = equal + eq, compared + comp
        all_delays += delays
        lines.append(f"| tibia {side}, {speed} m/s, seed {seed}, 5 min | "
                     f"{len(run.truth.own())} | {hits} | {false} | {missed} | {eq} / {comp} | "
                     f"{eq_ax} / {comp_ax} | "
                     f"{np.median(delays):.0f} | {max(delays):.0f} |")
    stats = {"pta_equal_pct": 100.0 * equal / compared, "compared": compared,
             "axial_equal_pct": 100.0 * equal_ax / compared_ax, "axial_compared": compared_ax,
             "delay_median_ms": float(np.median(all_delays)),
             "delay_max_ms": float(max(all_delays)),
             "lookahead_ms": PLACEMENT_TUNING["tibia"].lookahead_ms}
    return lines, stats


# -- 3. must-show cases (synthetic) ------------------------------------------------------------

def clipping_shank_section(workdir: Path) -> tuple[list[str], dict[str, Any]]:
    params = RunnerParams(placement="tibia", side="left", sample_rate_hz=143.0,
                          accel_range_g=8, speed_mps=3.3, seed=11)
    run = synthesize(params, 300.0)
    csv = workdir / "shank-143hz-8g.csv"
    time_s = np.arange(run.n_samples) / run.sample_rate_hz
    np.savetxt(csv, np.column_stack([time_s, run.accel_g]), delimiter=",", fmt="%.6f",
               header="time_s,ax_g,ay_g,az_g", comments="")
    report = run_analyze([str(csv), "--range-g", "8", "--side", "left"])
    truth = run.truth.own()
    found = np.array([s["time_s"] for s in report["steps"]])
    clipped = np.array([s["clipped"] for s in report["steps"]])
    hits = flags_ok = 0
    used = np.zeros(len(truth), dtype=bool)
    for t, c in zip(found, clipped, strict=True):
        k = int(np.argmin(np.abs(truth.time_s - t)))
        if abs(truth.time_s[k] - t) <= MATCH_S and not used[k]:
            used[k] = True
            hits += 1
            flags_ok += int(bool(truth.clipped[k]) == bool(c))
    true_cadence = float(np.mean(run.profile.cadence_spm))
    s = report["summary"]
    stats = {"truth": len(truth), "found": len(found), "hits": hits,
             "recall": hits / len(truth), "precision": hits / max(len(found), 1),
             "cadence_spm": s["cadence_spm"], "true_cadence_spm": true_cadence,
             "clipped_truth": int(truth.clipped.sum()), "clipped_found": int(clipped.sum()),
             "clip_flag_agreement": flags_ok / max(hits, 1), "impact_g": s["impact_g"],
             "alerts": [a["rule"] for a in report["alerts"] if a["state"] == "start"]}
    return [], stats


def fatigue_section() -> tuple[list[str], dict[str, Any]]:
    params = RunnerParams(placement="tibia", side="right", sample_rate_hz=1000.0,
                          accel_range_g=32, speed_mps=3.0, seed=5,
                          fatigue_start_fraction=0.4, fatigue_cadence_drop_pct=3.0,
                          fatigue_pta_rise_pct=12.0)
    run = synthesize(params, 900.0)
    config = AnalysisConfig(warmup_s=60.0, baseline_s=60.0, treadmill_speed_mps=3.0)
    result = analyze_accel(run.accel_g, 1000.0, accel_range_g=32, placement="tibia",
                           side="right", config=config)
    hits, false, missed, _ = match(result, run)
    s = result.summary()
    prof = run.profile
    base = (prof.time_s >= 60) & (prof.time_s <= 120)
    end = prof.time_s >= prof.time_s[-1] - 10
    true_cad_drift = 100 * (prof.cadence_spm[end].mean() / prof.cadence_spm[base].mean() - 1)
    model_pta_rise = 100 * (prof.pta_g[end].mean() / prof.pta_g[base].mean() - 1)
    # the strikes actually rendered vary ±8 %: the same windows and statistic as ours
    own = run.truth.own()
    in_base = (own.time_s >= 60) & (own.time_s <= 120)
    in_end = own.time_s >= own.time_s[-1] - 10
    true_pta_rise = 100 * (np.median(own.impact_g[in_end]) / np.median(own.impact_g[in_base]) - 1)
    stats = {"truth": len(run.truth.own()), "hits": hits, "false": false, "missed": missed,
             "cadence_baseline_spm": s["cadence_baseline_spm"],
             "cadence_final_spm": s["cadence_final_spm"],
             "cadence_drift_pct": s["cadence_drift_pct"], "true_cadence_drift_pct": true_cad_drift,
             "cadence_trend_spm_per_min": s["cadence_trend_spm_per_min"],
             "impact_baseline_g": s["impact_baseline_g"], "impact_final_g": s["impact_final_g"],
             "impact_drift_pct": s["impact_drift_pct"], "true_impact_rise_pct": true_pta_rise,
             "impact_axial_drift_pct": s["impact_axial_drift_pct"],
             "model_impact_rise_pct": model_pta_rise,
             "alerts": sorted({a.rule for a in result.alerts if a.state == "start"})}
    return [], stats


def loss_section() -> tuple[list[str], dict[str, Any]]:
    """Packet loss and jitter on the BLE link (the simulators' framing), fed as they arrive."""
    from footfall.processing.session import SessionProcessor
    from footfall.simulators.framing import to_frames
    from footfall.wire.events import DeviceMeta, MetricsEvent, StepEvent

    lines = ["| loss % | jitter ms | measured loss % | strikes (truth) | found | matched |"
             " false | final cadence spm (true) |", "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    worst = 0.0
    for loss in (0.0, 2.0, 5.0, 10.0):
        run = synthesize(RunnerParams(placement="tibia", side="left", accel_range_g=32, seed=7,
                                      speed_mps=3.3), 300.0)
        frames, _ = to_frames(run, start_utc_ns=0, packet_loss_pct=loss, jitter_ms=5.0, seed=3)
        proc = SessionProcessor("validate", "loss")
        proc.set_meta("tib", DeviceMeta(profile="sim", placement="tibia", side="left"))
        events = []
        for tf in sorted(frames, key=lambda f: f.due_s):
            events += [e for _, e in proc.feed_frame("tib", tf.frame)]
        events += [e for _, e in proc.finish()]
        result = AnalysisResult(steps=[e for e in events if isinstance(e, StepEvent)])
        hits, false, _, _ = match(result, run)
        final = [e for e in events if isinstance(e, MetricsEvent)][-1]
        true_cad = float(run.profile.cadence_at(run.duration_s - 5))
        worst = max(worst, abs((final.cadence_spm or 0.0) - true_cad))
        lines.append(f"| {loss:.0f} | 5 | {final.extra['packet_loss_total_pct']:.1f} | "
                     f"{len(run.truth.own())} | {len(result.steps)} | {hits} | {false} | "
                     f"{_f(final.cadence_spm)} ({true_cad:.1f}) |")
    return lines, {"worst_cadence_error_spm": worst}


def grid_section() -> tuple[list[str], dict[str, Any]]:
    """Robustness over placements, rates, speeds, noise and ranges (60-s synthetic runs)."""
    import itertools

    cells: dict[tuple[str, float], list[bool]] = {}
    failures: list[str] = []
    placements: list[tuple[Placement, Side]] = [("tibia", "left"), ("tibia", "right"),
                                                ("foot", "left"), ("foot", "right"),
                                                ("sacrum", "none")]
    for (placement, side), rate, speed, noise, rng in itertools.product(
            placements, (100.0, 200.0, 500.0, 1000.0), (2.2, 3.0, 4.5), (0.03, 0.15),
            (8, 16, 32)):
        params = RunnerParams(placement=placement, side=side, sample_rate_hz=rate,
                              speed_mps=speed, noise_g=noise, accel_range_g=rng, seed=1,
                              asymmetry_pct=10.0)
        run = synthesize(params, 60.0)
        result = analyze_accel(run.accel_g, rate, accel_range_g=rng, placement=placement,
                               side=side)
        truth = run.truth.own().time_s
        found = np.array([st.sensor_time_s for st in result.steps])
        # the sacrum's peak can be any hump of the stance: one detection per step is the test
        tol = 0.4 * 60 / float(np.mean(run.profile.cadence_spm)) if placement == "sacrum" \
            else max(MATCH_S, 2 / rate)
        d = np.abs(found[:, None] - truth[None, :]) if found.size else np.ones((1, truth.size))
        recall = float((d.min(axis=0) < tol).mean())
        precision = float((d.min(axis=1) < tol).mean()) if found.size else 0.0
        cadence = result.summary()["cadence_spm"] or 0.0
        err = cadence - float(np.mean(run.profile.cadence_spm))
        ok = recall >= 0.98 and precision >= 0.98 and abs(err) <= 1.0
        cells.setdefault((placement, rate), []).append(ok)
        if not ok:
            failures.append(f"{placement} {side}, {rate:.0f} Hz, {speed} m/s, noise {noise} g, "
                            f"±{rng} g: recall {100 * recall:.0f} %, precision "
                            f"{100 * precision:.0f} %, cadence {err:+.1f} spm")
    rates = (100.0, 200.0, 500.0, 1000.0)
    lines = ["| placement | " + " | ".join(f"{r:.0f} Hz" for r in rates) + " |",
             "|---|" + "---:|" * len(rates)]
    for placement in ("tibia", "foot", "sacrum"):
        row = [f"{sum(cells[(placement, r)])}/{len(cells[(placement, r)])}" for r in rates]
        lines.append(f"| {placement} | " + " | ".join(row) + " |")
    total = sum(len(v) for v in cells.values())
    passed = sum(sum(v) for v in cells.values())
    lines += ["", f"Runs outside the bar ({total - passed} of {total}):", ""]
    lines += [f"- {f}" for f in failures] or ["- none"]
    return lines, {"passed": passed, "total": total}


def run_analyze(argv: list[str]) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="footfall")
    analyze.register(parser.add_subparsers())
    args = parser.parse_args(["analyze", *argv, "--json"])
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        args.func(args)
    report: dict[str, Any] = json.loads(out.getvalue())
    return report


# -- the document ------------------------------------------------------------------------------

def render(sacral: tuple[list[str], dict[str, Any]], latency: tuple[list[str], dict[str, Any]],
           shank: dict[str, Any], fatigue: dict[str, Any], loss: list[str],
           grid: tuple[list[str], dict[str, Any]], seconds: float) -> str:
    table, st = sacral
    lat_table, lat = latency
    rows = [
        ("step recall ≥ 99 % (sacral, force plate)",
         f"**{100 * st['recall']:.1f} %** of {st['contacts']} contacts"),
        ("step precision ≥ 99 % (sacral, force plate)", f"**{100 * st['precision']:.1f} %**"),
        ("cadence within 1 spm per trial (sacral)",
         f"**{st['within_1_spm']}/{st['trials']} trials** (largest error "
         f"{st['max_abs_err']:.2f} spm)"),
        ("step confirmed ≤ 100 ms after its impact peak",
         f"**max {lat['delay_max_ms']:.0f} ms**, median {lat['delay_median_ms']:.0f} ms "
         f"(synthetic 1 kHz tibia); sacral max {st['max_delay_ms']:.0f} ms, median "
         f"{st['median_delay_ms']:.0f} ms — vs ≥ 375 ms for the published method"),
        ("PTA equal to the 375-ms method's on ≥ 99 % of steps",
         f"**{lat['pta_equal_pct']:.2f} %** of {lat['compared']} steps on the resultant "
         f"(`impact_g`), **{lat['axial_equal_pct']:.2f} %** of {lat['axial_compared']} on the "
         "axial channel (`impact_axial_g`, the published method's signal) — synthetic 1 kHz "
         "tibia"),
        ("~143 Hz shank clipping at ±8 g: ≥ 97 % recall and precision, cadence within 2 spm, "
         "clipped peaks flagged",
         f"recall {100 * shank['recall']:.1f} %, precision {100 * shank['precision']:.1f} %, "
         f"cadence {shank['cadence_spm']:.1f} vs {shank['true_cadence_spm']:.1f} spm, "
         f"{shank['clipped_found']} peaks flagged clipped vs {shank['clipped_truth']} true "
         f"({100 * shank['clip_flag_agreement']:.1f} % agreement) — **synthetic**"),
        ("1 kHz tibia fatigue run: cadence drift and impact rise",
         f"cadence drift {fatigue['cadence_drift_pct']:+.1f} % (true "
         f"{fatigue['true_cadence_drift_pct']:+.1f} %), impact "
         f"{fatigue['impact_drift_pct']:+.1f} % (true "
         f"{fatigue['true_impact_rise_pct']:+.1f} % over the same strikes; model "
         f"{fatigue['model_impact_rise_pct']:+.1f} %) — **synthetic**"),
    ]
    rows.append(("robustness grid (synthetic: placements × rates × speeds × noise × ranges)",
                 f"{grid[1]['passed']}/{grid[1]['total']} runs pass (section 5)"))
    summary = "\n".join(["| target (issue 3) | result |", "|---|---|",
                         *(f"| {a} | {b} |" for a, b in rows)])
    fat_rows = [
        ("own-leg strikes: truth / matched / false / missed",
         f"{fatigue['truth']} / {fatigue['hits']} / {fatigue['false']} / {fatigue['missed']}"),
        ("cadence baseline → last 10 s",
         f"{fatigue['cadence_baseline_spm']:.1f} → {fatigue['cadence_final_spm']:.1f} spm"),
        ("cadence drift (speed-corrected)",
         f"{fatigue['cadence_drift_pct']:+.2f} % "
         f"(true {fatigue['true_cadence_drift_pct']:+.2f} %)"),
        ("cadence trend (last 2 min)",
         f"{_f(fatigue['cadence_trend_spm_per_min'], '+.2f')} spm/min"),
        ("impact (resultant) baseline → last 10 s",
         f"{fatigue['impact_baseline_g']:.2f} → {fatigue['impact_final_g']:.2f} g"),
        ("impact drift: resultant / axial",
         f"{fatigue['impact_drift_pct']:+.1f} % / {fatigue['impact_axial_drift_pct']:+.1f} %"),
        ("true rise: rendered strikes (median, same windows) / model mean",
         f"{fatigue['true_impact_rise_pct']:+.1f} % / {fatigue['model_impact_rise_pct']:+.1f} %"),
        ("alerts raised", ", ".join(fatigue["alerts"]) or "none"),
    ]
    shank_rows = [
        ("own-leg strikes (truth)", f"{shank['truth']}"),
        ("found / matched within ±20 ms", f"{shank['found']} / {shank['hits']}"),
        ("recall / precision",
         f"{100 * shank['recall']:.1f} % / {100 * shank['precision']:.1f} %"),
        ("cadence (median) vs true",
         f"{shank['cadence_spm']:.1f} vs {shank['true_cadence_spm']:.1f} spm"),
        ("peaks flagged clipped / truly clipped",
         f"{shank['clipped_found']} / {shank['clipped_truth']} "
         f"({100 * shank['clip_flag_agreement']:.1f} % of matched strikes agree)"),
        ("reported median impact",
         f"{_f(shank['impact_g'])} (withheld when > 10 % of peaks clipped: a clipped value is "
         "never reported as a PTA)"),
        ("alerts", ", ".join(shank["alerts"]) or "none"),
    ]
    fat_table = "\n".join(["| | value |", "|---|---|", *(f"| {a} | {b} |" for a, b in fat_rows)])
    shank_table = "\n".join(["| | value |", "|---|---|",
                             *(f"| {a} | {b} |" for a, b in shank_rows)])
    return f"""# Validation

Generated by `.venv/bin/python scripts/validate.py` ({seconds:.0f} s on one core); do not edit
by hand. Every figure comes from the live processor (`SessionProcessor`) fed the recording as
sensor frames — the same code `footfall process` runs. Definitions of every metric:
[metrics.md](metrics.md).

## Summary

{summary}

## 1. Real data: sacral accelerometer vs force treadmill

Data: `tests/data/sacral-grf-alcantarar` — one runner, 31 treadmill trials of ~5 s at 500 Hz,
2.5–4.17 m/s, slopes −10° … +10° (Alcantara et al. 2022, PeerJ; Apache-2.0). The sensor is
treated as `--placement sacrum` (it sees every step). The file has vertical and
anterior-posterior acceleration only (mediolateral = 0 here).

- **Truth**: a foot contact is where vertical GRF > 0.1 body weight for ≥ 20 ms. Contacts cut
  by the start or end of a trial have unknown timing and are not scored (a step found in one
  is neither a hit nor a false positive).
- **Hit**: a step whose impact peak lies inside a contact (each contact counts once).
- **Cadence**: step rate fitted by least squares through the matched contacts' onsets (truth)
  and through our matched steps' rising edges (ours) — the same estimator on both sides, so
  one edge step cannot dominate a 5-s trial. The "first→last" column is the plain mean rate
  between the first and last matched step, for reference: {st['mean_within_1_spm']}/{st['trials']}
  trials within 1 spm (largest {st['max_abs_mean_err']:.2f} spm: in short trials one step
  whose rising edge sits ~20 ms later in its stance moves it by ~2 spm).
- **Not an independent test set**: the sacrum's detector parameters (100-ms look-back,
  147-ms refractory, rising-edge timing) were chosen while looking at these 31 trials, so
  these figures are in-sample. The tibia/foot parameters were developed on synthetic data.
- **Median per-step spm** is what a live dashboard shows (median of per-step cadences over
  the trial); with 12–19 steps it is noisier than the fit.

{chr(10).join(table)}

## 2. Latency and agreement with the published 375-ms detector

The published live detector (Van den Berghe 2021) declares a peak when the axial acceleration
is above 3 g and no higher value follows within 375 ms: every step is confirmed ≥ 375 ms late.
footfall confirms a peak when no higher *low-passed* value follows within the placement's
look-ahead ({lat['lookahead_ms']:.0f} ms for tibia/foot, 60 ms for sacrum), then reads the
impact from the raw samples around it. **Delay** = sensor time from the raw impact peak to
the sample whose arrival confirmed it (frame transport adds to this; the processor does not).
**PTA agreement**: the 375-ms method run on the same (int16-quantised) signals the processor
saw — the resultant (a step agrees when both pick the same sample, hence the identical value)
and the axial channel, the published method's own signal (a step agrees when its
`impact_axial_g` is exactly the method's peak value). No public 1 kHz tibia
recording is available, so these runs are **synthetic** (`footfall.simulators.runner`,
±32 g, noise, the other leg's weak strike, swing and soft-tissue rebound modelled).

On the sacral data the 375-ms method does not apply (steps are ~300 ms apart, so its 375-ms
window spans the next step and drops every other one); only the delay is reported there.

{chr(10).join(lat_table)}

## 3. Must-show cases (synthetic — no such public recording exists)

### ~143 Hz shank sensor clipping at ±8 g

A 5-min tibia run (3.3 m/s, PTA ≈ 11 g) rendered at 143 Hz by a ±8 g sensor, written as CSV
and analysed with `footfall analyze shank-143hz-8g.csv --range-g 8 --side left --json`.

{shank_table}

### 1 kHz tibia fatigue run

15 min at 3.0 m/s (treadmill speed given, so speed cannot explain the change); from 40 % of
the run the runner's cadence falls by 3 % and PTA rises by 12 % (Apte 2021 direction).
Baseline: 60–120 s.

{fat_table}

The model raises the mean PTA by 12 % by the end; the strikes actually rendered vary ±8 %
step to step, so a 10-s window (~14 strikes) sits a few percent off the model mean. The fair
truth is the same statistic (median) over the same windows of the rendered strikes, which the
processor reproduces.

## 4. A lossy BLE link (synthetic)

A 5-min left-tibia run sent through the simulators' BLE framing (25-sample frames, random
frame loss, ±5 ms arrival jitter, gaps flagged as a gateway would) and fed in arrival order.
Strikes whose peak was lost cannot be found; the point is that loss creates no false strikes
and leaves the cadence intact (an interval across a gap counts only when no strike can have
been lost in it).

{chr(10).join(loss)}

## 5. Robustness grid (synthetic)

Every combination of placement (tibia left/right, foot left/right, sacrum), sample rate (100,
200, 500, 1000 Hz), speed (2.2, 3.0, 4.5 m/s — PTA and cadence rise with it), sensor noise
(0.03, 0.15 g) and range (±8, ±16, ±32 g), 60 s each, 10 % impact asymmetry. A run passes
with recall and precision ≥ 98 % (a strike within ±20 ms, or two samples, of the true one;
for the sacrum one detection per step, within 40 % of a step) and median cadence within
1 spm. Cells: runs passing / runs.

{chr(10).join(grid[0])}

The tibia passes everywhere, down to 100 Hz (the rate of some consumer IMUs). A foot sensor is
harder: its push-off and swing peaks are strong, and below 200 Hz (gait.md: 200 Hz is enough
for PTA) the ~10-ms impact is sampled at a random phase, so its sampled height varies as much
as those peaks — use ≥ 200 Hz on the foot. A foot sensor at ±8 g clips both the impact and the
push-off at speed and then cannot tell them apart: use ≥ ±16 g on the foot.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(ROOT / "docs" / "validation.md"),
                        help="where to write the report ('-' prints it)")
    args = parser.parse_args()
    t0 = time.perf_counter()
    sacral = sacral_section()
    latency = latency_section()
    with tempfile.TemporaryDirectory() as tmp:
        _, shank = clipping_shank_section(Path(tmp))
    _, fatigue = fatigue_section()
    loss, _ = loss_section()
    grid = grid_section()
    text = render(sacral, latency, shank, fatigue, loss, grid, time.perf_counter() - t0)
    if args.out == "-":
        print(text)
    else:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
