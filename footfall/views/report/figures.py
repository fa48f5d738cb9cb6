"""The report's plots, with matplotlib, drawn to read in grey-scale print.

No meaning is carried by colour alone: lines differ by style (solid, dashed, dash-dot,
dotted), legs by panel and marker (○ left, ▲ right), periods by fill lightness *and* hatching
(baseline ``\\\\``, feedback on: grey, probe ``//``, pause ``xx``, target band ``..``), clipped
steps by a black ×. The one colour is a dark blue that prints as near-black.

Each figure is a PNG at 200 dpi flattened to RGB: one image per figure in the PDF
(``pdfimages -list``), sharp in print, 5–8 × faster for WeasyPrint than SVG
(docs/report.md).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib

matplotlib.use("Agg")  # headless; before pyplot
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure as MplFigure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from PIL import Image

from footfall.config.analysis import AlertConfig
from footfall.core.units import NS
from footfall.processing.load import ACWR_RANGE, RAMP_FLAG_PCT, Week
from footfall.processing.summary import target_band_spm
from footfall.views.report import text as t
from footfall.views.report.data import Period, Session, Visit
from footfall.wire.events import MetricsEvent, SessionMetricsEvent

WIDTH_IN = 6.7  # 17 cm: an A4 page's text width with 2 cm margins
DPI = 200
INK = "#1a1a1a"
ACCENT = "#1f3b73"  # dark blue: near-black in grey, distinct from every fill
FEEDBACK_FILL = "#d4d4d4"
TARGET_FILL = "#ececec"
MARKERS = {"left": "o", "right": "^", "none": "s"}
DASHED = (0, (5, 3))
DOTTED = (0, (1, 2))
DASH_DOT = (0, (6, 2, 1.5, 2))
STYLE: dict[Any, Any] = {
    "font.family": "DejaVu Sans",  # the HTML's font too: one look
    "font.size": 8,
    "axes.titlesize": 8.5,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 8,
    "xtick.labelsize": 7.5,
    "ytick.labelsize": 7.5,
    "legend.fontsize": 7,
    "axes.edgecolor": INK,
    "axes.labelcolor": INK,
    "xtick.color": INK,
    "ytick.color": INK,
    "text.color": INK,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "hatch.linewidth": 0.6,
    "axes.unicode_minus": True,  # U+2212 in tick labels, as in the text
}


@dataclass(frozen=True, slots=True)
class Figure:
    key: str  # stable id: HTML id, test name
    caption: str
    alt: str
    png: bytes
    width_in: float
    height_in: float


def _png(fig: MplFigure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, facecolor="white", metadata={"Software": None})
    plt.close(fig)
    # Agg writes RGBA; an alpha channel would be a second (mask) image in the PDF
    out = io.BytesIO()
    Image.open(io.BytesIO(buf.getvalue())).convert("RGB").save(out, format="PNG")
    return out.getvalue()


def _minutes(time_ns: int, start_ns: int) -> float:
    return (time_ns - start_ns) / NS / 60


def _shade(ax: Axes, session: Session, start_ns: int, *, label: bool) -> None:
    def span(p: Period, **kw: object) -> None:
        ax.axvspan(_minutes(p.start_ns, start_ns), _minutes(p.end_ns, start_ns), zorder=0,
                   linewidth=0, **kw)  # type: ignore[arg-type]

    def mark(p: Period, text: str) -> None:
        if label:
            ax.text((_minutes(p.start_ns, start_ns) + _minutes(p.end_ns, start_ns)) / 2, 1.01,
                    text, transform=ax.get_xaxis_transform(), ha="center", va="bottom",
                    fontsize=6.5, color="0.25")

    window = session.baseline_window()
    if window is not None:
        span(window, facecolor="none", edgecolor="0.6", hatch="\\\\\\\\")
        mark(window, "baseline")
    for p in session.feedback_on():
        span(p, facecolor=FEEDBACK_FILL)
    for p in session.probes():
        span(p, facecolor="white", edgecolor="0.45", hatch="////")
        mark(p, "probe")
    for p in session.pauses or []:
        span(p, facecolor="white", edgecolor="0.35", hatch="xxxx")
        mark(p, "pause")


def _period_handles(session: Session) -> list[Patch]:
    out = [Patch(facecolor="none", edgecolor="0.6", hatch="\\\\\\\\", lw=0.5,
                 label="baseline window (no feedback)")]
    if session.feedback is not None:
        out.append(Patch(facecolor=FEEDBACK_FILL, edgecolor="0.5", lw=0.5, label="feedback on"))
        out.append(Patch(facecolor="white", edgecolor="0.45", hatch="////", lw=0.5,
                         label="no-feedback probe"))
    if session.pauses:
        out.append(Patch(facecolor="white", edgecolor="0.35", hatch="xxxx", lw=0.5,
                         label="pause"))
    return out


def _time_axis(ax: Axes, session: Session) -> None:
    ax.set_xlim(0, session.headline.duration_s / 60)
    ax.set_xlabel("minutes into the run")


def _per_second(session: Session, value: Callable[[MetricsEvent], float | None]
                ) -> tuple[np.ndarray, np.ndarray]:
    """The sensors' per-second ``value``, averaged over the sensors each second."""
    start = session.headline.start_ns
    buckets: dict[int, list[float]] = {}
    for device in session.devices.values():
        for m in device.metrics:
            v = value(m)
            if v is not None and not m.final:
                buckets.setdefault(round((m.time_ns - start) / NS), []).append(float(v))
    seconds = np.array(sorted(buckets), dtype=float)
    values = np.array([np.mean(buckets[int(s)]) for s in seconds])
    return seconds / 60, values


def _combined(session: Session, value: Callable[[SessionMetricsEvent], float | None]
              ) -> tuple[np.ndarray, np.ndarray]:
    """The session's combined per-second ``value`` (both legs)."""
    start = session.headline.start_ns
    points = [(m.time_ns, value(m)) for m in session.session_metrics]
    known = [((t - start) / NS / 60, float(v)) for t, v in points if v is not None]
    return np.array([k[0] for k in known]), np.array([k[1] for k in known])


def cadence_figure(session: Session) -> Figure:
    head = session.headline
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(WIDTH_IN, 2.55), layout="constrained")
        _shade(ax, session, head.start_ns, label=True)
        handles: list[Line2D | Patch] = []
        band = session.target_band_spm()
        if band is not None:
            since = _minutes(session.target_from_ns(), head.start_ns)
            end = head.duration_s / 60
            ax.fill_between([since, end], band[0], band[1], facecolor=TARGET_FILL,
                            edgecolor="0.4", hatch="....", lw=0, zorder=1)
            for edge in band:
                ax.plot([since, end], [edge, edge], color="0.4", lw=0.6, zorder=1)
            handles.append(Patch(facecolor=TARGET_FILL, edgecolor="0.4", hatch="....", lw=0.6,
                                 label=f"target band {band[0]:.0f}\u2013{band[1]:.0f} spm"))
        minutes, cadence = _per_second(session, lambda m: m.cadence_spm)
        ax.plot(minutes, cadence, color=ACCENT, lw=1.4, zorder=4)
        handles.insert(0, Line2D([], [], color=ACCENT, lw=1.4,
                                 label="cadence (10-s rolling, both legs)"))
        base = head.cadence_baseline_spm
        if base is not None:
            ax.axhline(base, color=INK, lw=1.0, ls=DASHED, zorder=3)
            handles.insert(1, Line2D([], [], color=INK, lw=1.0, ls=DASHED,
                                     label=f"baseline {base:.0f} spm"))
        _time_axis(ax, session)
        ax.set_ylabel("cadence (steps/min)")
        _ylim(ax, [*cadence, *(band or ()), *([base] if base else [])], pad=3.0)
        fig.legend(handles=[*handles, *_period_handles(session)], loc="outside lower center",
                   ncols=3, frameon=False, columnspacing=1.2)
        png = _png(fig)
    return Figure("cadence", "Cadence over the run: the 10-second rolling cadence against the "
                             "baseline and, when set, the target band.",
                  "Cadence over time with baseline and target band", png, WIDTH_IN, 2.55)


def _ylim(ax: Axes, values: Sequence[float], pad: float) -> None:
    finite = [v for v in values if np.isfinite(v)]
    if finite:
        ax.set_ylim(min(finite) - pad, max(finite) + pad)


def _rolling_median(times: np.ndarray, values: np.ndarray, window: float) -> np.ndarray:
    out = np.empty_like(values)
    lo = 0
    for i, ti in enumerate(times):
        while times[lo] < ti - window:
            lo += 1
        out[i] = np.median(values[lo:i + 1])
    return out


def impact_figure(session: Session) -> Figure | None:
    head = session.headline
    legs = [d for d in session.devices.values() if d.summary.source == "imu" and d.steps]
    if not legs:
        return None
    height = 1.05 + 1.35 * len(legs)
    rise = session.config.alerts.impact_rise_pct
    limit = session.config.alerts.impact_limit_g
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(len(legs), 1, figsize=(WIDTH_IN, height), sharex=True,
                                 layout="constrained", squeeze=False)
        for ax, device in zip(axes[:, 0], legs, strict=True):
            _shade(ax, session, head.start_ns, label=False)
            side = str(device.summary.side or "none")
            clean = [s for s in device.steps if not s.clipped]
            clipped = [s for s in device.steps if s.clipped]
            t = np.array([_minutes(s.time_ns, head.start_ns) for s in clean])
            y = np.array([s.impact_g for s in clean])
            ax.scatter(t, y, s=5, marker=MARKERS.get(side, "o"), facecolors="none",
                       edgecolors="0.45", linewidths=0.5, zorder=2)
            if len(t):
                ax.plot(t, _rolling_median(t, y, 0.5), color=ACCENT, lw=1.4, zorder=4)
            if clipped:
                ax.scatter([_minutes(s.time_ns, head.start_ns) for s in clipped],
                           [s.impact_g for s in clipped], s=22, marker="x", color="black",
                           linewidths=1.0, zorder=5, clip_on=False)
            base = device.summary.impact_baseline_g
            if base is not None:
                ax.axhline(base, color=INK, lw=1.0, ls=DASHED, zorder=3)
                ax.axhline(base * (1 + rise / 100), color=INK, lw=0.9, ls=DASH_DOT, zorder=3)
            if limit is not None:
                ax.axhline(limit, color=INK, lw=0.9, ls=DOTTED, zorder=3)
            ax.set_ylabel("impact (g)")
            ax.set_title(f"{device.label}: {device.summary.steps} steps of this leg, "
                         f"{device.summary.clipped_steps} clipped (×)", fontsize=8)
            _ylim(ax, [*y, *(s.impact_g for s in clipped), *([base * (1 + rise / 100)]
                                                            if base else [])], pad=1.0)
        _time_axis(axes[-1, 0], session)
        handles: list[Line2D | Patch] = [
            Line2D([], [], ls="none", marker="o", mfc="none", mec="0.45", ms=3.5,
                   label="each step, left (○) / right (△)"),
            Line2D([], [], color=ACCENT, lw=1.4, label="30-s rolling median"),
            Line2D([], [], color=INK, lw=1.0, ls=DASHED, label="baseline"),
            Line2D([], [], color=INK, lw=0.9, ls=DASH_DOT,
                   label=f"alert threshold: baseline +{rise:.0f} %"),
            Line2D([], [], ls="none", marker="x", color="black", ms=5,
                   label="clipped: the true peak was higher"),
        ]
        if limit is not None:
            handles.append(Line2D([], [], color=INK, lw=0.9, ls=DOTTED,
                                  label=f"impact limit {limit:.1f} g"))
        fig.legend(handles=[*handles, *_period_handles(session)], loc="outside lower center",
                   ncols=3, frameon=False, columnspacing=1.2)
        png = _png(fig)
    return Figure("impact", "Impact (PTA marker) of every step, per leg, with the baseline and "
                            "the alert threshold; × marks clipped steps (a lower bound).",
                  "Per-step impact per leg with clipped steps marked", png, WIDTH_IN, height)


def symmetry_figure(session: Session) -> Figure | None:
    minutes, sym = _combined(session, lambda m: m.symmetry_pct)
    if not len(sym):
        return None
    flag = session.config.alerts.asymmetry_pct
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(WIDTH_IN, 1.9), layout="constrained")
        _shade(ax, session, session.headline.start_ns, label=False)
        ax.axhspan(-flag, flag, facecolor=TARGET_FILL, lw=0, zorder=1)
        ax.axhline(0, color="0.4", lw=0.6, zorder=1)
        ax.plot(minutes, sym, color=ACCENT, lw=1.4, zorder=4)
        step_minutes, step_sym = _combined(session, lambda m: m.step_time_symmetry_pct)
        if len(step_sym):
            ax.plot(step_minutes, step_sym, color=INK, lw=0.9, ls=DASHED, zorder=3)
        _time_axis(ax, session)
        ax.set_ylabel("right − left (%)")
        _ylim(ax, [*sym, flag, -flag], pad=2.0)
        fig.legend(handles=[
            Line2D([], [], color=ACCENT, lw=1.4, label="impact symmetry (10-s rolling)"),
            Line2D([], [], color=INK, lw=0.9, ls=DASHED, label="step-time symmetry"),
            Patch(facecolor=TARGET_FILL, label=f"within ±{flag:.0f} %")],
            loc="outside lower center", ncols=3, frameon=False)
        png = _png(fig)
    return Figure("symmetry", "Left/right symmetry, (R − L) / max(R, L) × 100: of the rolling "
                              "impacts (solid) and of the step times (dashed).",
                  "Left/right symmetry over time", png, WIDTH_IN, 1.9)


def session_figures(session: Session) -> list[Figure]:
    figures = [cadence_figure(session), impact_figure(session), symmetry_figure(session)]
    return [f for f in figures if f is not None]


# -- visits -----------------------------------------------------------------------------------


def trend_figure(visits: Sequence[Visit], alerts: AlertConfig) -> Figure:
    heads = [v.headline for v in visits]
    asymmetry_pct = alerts.asymmetry_pct
    x = np.arange(1, len(visits) + 1)

    def series(values: Sequence[float | None]) -> np.ndarray:
        return np.array([np.nan if v is None else v for v in values], dtype=float)

    height = 5.6
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(3, 2, figsize=(WIDTH_IN, height), sharex=True,
                                 layout="constrained")
        ax = axes[0, 0]
        ax.plot(x, series([h.cadence_spm for h in heads]), color=ACCENT, marker="o", lw=1.4,
                label="median")
        ax.plot(x, series([h.cadence_baseline_spm for h in heads]), color=INK, marker="s",
                mfc="white", ls=DASHED, lw=1.0, label="baseline (no feedback)")
        lows, highs = [], []
        for h in heads:
            band = None if h.cadence_target_spm is None else \
                target_band_spm(h.cadence_target_spm, alerts)
            lows.append(np.nan if band is None else band[0])
            highs.append(np.nan if band is None else band[1])
        if not np.all(np.isnan(lows)):
            ax.fill_between(x, lows, highs, facecolor=TARGET_FILL, edgecolor="0.4",
                            hatch="....", lw=0, label="target band", step="mid")
        ax.set_title("Cadence (spm)")
        ax = axes[0, 1]
        for side, style in (("left", "-"), ("right", DASHED)):
            values = [h.impact(side) for h in heads]
            ax.plot(x, series([v.impact_g if v else None for v in values]), color=INK,
                    ls=style, marker=MARKERS[side], mfc="white" if side == "right" else INK,
                    lw=1.1, label=f"{side} leg")
        ax.set_title("Impact, median (g)")
        ax = axes[1, 0]
        ax.axhspan(-asymmetry_pct, asymmetry_pct, facecolor=TARGET_FILL, lw=0)
        ax.axhline(0, color="0.4", lw=0.6)
        ax.plot(x, series([h.symmetry_pct for h in heads]), color=ACCENT, marker="o", lw=1.4)
        ax.set_title("Impact symmetry, R − L (%)")
        ax = axes[1, 1]
        tit = series([h.time_in_target_pct for h in heads])
        ax.bar(x, np.nan_to_num(tit), color="0.75", edgecolor=INK, lw=0.6, width=0.6)
        for xi, v in zip(x, tit, strict=True):
            ax.text(xi, (0 if np.isnan(v) else v) + 2, "no target" if np.isnan(v) else
                    f"{v:.0f}", ha="center", va="bottom", fontsize=6.5)
        ax.set_ylim(0, 110)
        ax.set_title("Time in the target band (%)")
        ax = axes[2, 0]
        probes = [v.probe for v in visits]
        labels = sorted({k for p in probes if p for k in p.impact_vs_baseline_pct})
        for label in labels:  # styled as the legs in the impact panel
            right = label.startswith("right")
            ax.plot(x, series([p.impact_vs_baseline_pct.get(label) if p else None
                               for p in probes]), color=INK, ls=DASHED if right else "-",
                    marker="^" if right else "o", mfc="white" if right else INK, lw=1.1)
        ax.axhline(0, color="0.4", lw=0.6)
        if not labels:
            ax.text(0.5, 0.5, "no retention probe recorded", transform=ax.transAxes,
                    ha="center", va="center", color="0.3")
        ax.set_title("Retention probe: impact vs baseline (%)")
        ax = axes[2, 1]
        pains = series([v.notes.pain_0_10 if v.notes else None for v in visits])
        if np.all(np.isnan(pains)):
            ax.text(0.5, 0.5, "pain not recorded", transform=ax.transAxes, ha="center",
                    va="center", color="0.3")
        ax.plot(x, pains, color=INK, marker="D", lw=1.1)
        ax.set_ylim(-0.5, 10.5)
        ax.set_title("Pain (0–10)")
        for a in axes[-1]:
            a.set_xticks(x)
            a.set_xlabel("visit")
        fig.legend(handles=[
            Line2D([], [], color=ACCENT, marker="o", lw=1.4, label="cadence, median"),
            Line2D([], [], color=INK, marker="s", mfc="white", ls=DASHED, lw=1.0,
                   label="cadence, baseline (no feedback)"),
            Patch(facecolor=TARGET_FILL, edgecolor="0.4", hatch="....", lw=0.6,
                  label="cadence target band"),
            Line2D([], [], color=INK, marker="o", lw=1.1, label="left leg"),
            Line2D([], [], color=INK, marker="^", mfc="white", ls=DASHED, lw=1.1,
                   label="right leg"),
            Patch(facecolor=TARGET_FILL, label=f"symmetry within ±{asymmetry_pct:.0f} %")],
            loc="outside lower center", ncols=3, frameon=False)
        png = _png(fig)
    return Figure("trend", "Across visits: cadence with the target band, impact per leg, "
                           "symmetry, time in the target band, the retention probe (impact "
                           "without feedback against that visit's baseline), pain.",
                  "Trends across visits", png, WIDTH_IN, height)


# -- training load ----------------------------------------------------------------------------


def load_figure(weeks: Sequence[Week]) -> Figure:
    x = np.arange(len(weeks))
    labels = [f"{w.start.day}/{w.start.month}" for w in weeks]
    height = 3.3
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(2, 1, figsize=(WIDTH_IN, height), sharex=True,
                                 layout="constrained", height_ratios=(2, 1))
        ax = axes[0]
        watch = np.array([sum(a.distance_m or 0 for a in w.activities if a.kind == "watch")
                          for w in weeks]) / 1000
        mill = np.array([sum(a.distance_m or 0 for a in w.activities if a.kind == "treadmill")
                         for w in weeks]) / 1000
        ax.bar(x, watch, color="0.6", edgecolor=INK, lw=0.6, width=0.65, label="watch runs")
        ax.bar(x, mill, bottom=watch, color="white", edgecolor=INK, hatch="////", lw=0.6,
               width=0.65, label="treadmill sessions")
        for xi, w in zip(x, weeks, strict=True):
            if w.ramp_flagged:
                ax.text(xi, (w.distance_m / 1000) * 1.02, t.change(w.ramp_pct),
                        ha="center", va="bottom", fontsize=7, weight="bold")
        top = max(float((watch + mill).max(initial=0)), 1.0)
        ax.set_ylim(0, top * 1.25)
        ax.set_ylabel("km per week")
        ax.set_title(f"Distance per week; bold: more than +{RAMP_FLAG_PCT:.0f} % on the week "
                     "before")
        ax.legend(frameon=False, loc="upper left", ncols=2)
        ax = axes[1]
        ratio = np.array([np.nan if w.acwr is None else w.acwr for w in weeks])
        ax.axhspan(*ACWR_RANGE, facecolor=TARGET_FILL, lw=0)
        ax.plot(x, ratio, color=ACCENT, marker="o", lw=1.2)
        ax.set_ylim(0, max(2.0, float(np.nanmax(ratio)) + 0.2 if np.any(~np.isnan(ratio))
                           else 2.0))
        ax.set_ylabel("ratio")
        ax.set_title("Acute:chronic distance ratio (contested; shaded 0.8–1.3 for orientation "
                     "only)")
        ax.set_xticks(x, labels)
        ax.set_xlabel("week starting (day/month)")
        png = _png(fig)
    return Figure("load", "Training load per week: distance from the watch and the treadmill, "
                          "and the acute:chronic ratio.", "Weekly training load", png,
                  WIDTH_IN, height)
