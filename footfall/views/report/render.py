"""HTML from the Jinja2 templates (package data), and the PDF from that HTML with WeasyPrint.

Rendering is strict: the templates run with ``StrictUndefined``; WeasyPrint may fetch
``data:`` URLs only (figures are embedded, so the HTML is one self-contained file), and any
warning it logs — a broken image, for which it would silently draw the alt text, or a CSS
mistake — is a :class:`ReportRenderError`.
"""

from __future__ import annotations

import base64
import contextlib
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path
from typing import Any

import jinja2

from footfall import __version__
from footfall.config.analysis import AnalysisConfig
from footfall.core.errors import FootfallError
from footfall.processing.load import SHOWN_WEEKS, Week
from footfall.views.report import figures as plots
from footfall.views.report import findings as words
from footfall.views.report import text as t
from footfall.views.report.data import Session, Visit

FORMATS = (".pdf", ".html")


class ReportRenderError(FootfallError):
    """The report could not be rendered exactly as written (WeasyPrint complained)."""


@dataclass(frozen=True, slots=True)
class Report:
    title: str
    html: str
    figures: tuple[plots.Figure, ...]


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("footfall.views.report", "templates"),
        autoescape=jinja2.select_autoescape(("html", "j2")),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def _figure(fig: plots.Figure, number: int) -> dict[str, Any]:
    return {"key": fig.key, "number": number, "caption": fig.caption, "alt": fig.alt,
            "src": "data:image/png;base64," + base64.b64encode(fig.png).decode(),
            "width_cm": round(fig.width_in * 2.54, 2),
            "height_cm": round(fig.height_in * 2.54, 2)}


def _load_context(weeks: Sequence[Week] | None, first: int
                  ) -> tuple[dict[str, Any] | None, list[plots.Figure]]:
    if weeks is None:
        return None, []
    if not weeks:
        return {"rows": [], "findings": words.load_findings(weeks), "figure": None}, []
    weeks = weeks[-SHOWN_WEEKS:]
    fig = plots.load_figure(weeks)
    rows = [{"week": f"{t.short_date_day(w.start)}–{t.short_date_day(w.end)}",
             "runs": f"{w.count('watch')} + {w.count('treadmill')}",
             "distance": ("" if w.distance_complete else "≥ ") + t.km(w.distance_m),
             "time": t.duration(w.time_s), "steps": t.count(w.steps),
             "impact": t.impact_load(w.impact_load_g),
             "ramp": t.change(w.ramp_pct) if w.ramp_pct is not None else t.NONE,
             "flag": w.ramp_flagged,
             "acwr": t.number(w.acwr, 2) if w.acwr is not None else t.NONE} for w in weeks]
    return ({"rows": rows, "findings": words.load_findings(weeks),
             "figure": _figure(fig, first)}, [fig])


def session_report(session: Session, tz: tzinfo, weeks: Sequence[Week] | None = None
                   ) -> Report:
    """The report of one run (two pages; a third with a training-load section)."""
    figs = plots.session_figures(session)
    load, load_figs = _load_context(weeks, len(figs) + 1)
    head = session.headline
    title = f"Running report · {session.athlete} · {t.short_date(head.start_ns, tz)}"
    html = _environment().get_template("session.html.j2").render(
        title=title, athlete=session.athlete, details=words.details(session, tz),
        source=f"Session {session.session}, from the {session.source}.",
        findings=words.session_findings(session), caveats=words.quality_caveats(session),
        figures=[_figure(f, i + 1) for i, f in enumerate(figs)], load=load,
        pta_note=words.PTA_NOTE, generated=f"footfall {__version__}")
    return Report(title, html, (*figs, *load_figs))


def visits_report(visits: Sequence[Visit], config: AnalysisConfig, tz: tzinfo, *,
                  athlete: str, weeks: Sequence[Week] | None = None) -> Report:
    """Progress over visits: findings, the visit table and trend plots (and the load)."""
    if not visits:
        raise FootfallError(f"athlete {athlete!r} has no session summary to report on")
    trend = plots.trend_figure(visits, config.alerts)
    load, load_figs = _load_context(weeks, 2)
    heads = [v.headline for v in visits]
    rows = []
    for i, (v, h) in enumerate(zip(visits, heads, strict=True)):
        left, right = h.impact("left"), h.impact("right")
        probe = v.probe
        rows.append({
            "n": i + 1, "date": t.short_date(h.start_ns, tz),
            "duration": t.duration(h.duration_s), "cadence": t.spm(h.cadence_spm),
            "baseline": t.spm(h.cadence_baseline_spm),
            "left": t.g(left.impact_g) if left else t.NONE,
            "right": t.g(right.impact_g) if right else t.NONE,
            "symmetry": t.change(h.symmetry_pct),
            "flag": h.symmetry_pct is not None and
            abs(h.symmetry_pct) > config.alerts.asymmetry_pct,
            "target": t.pct(h.time_in_target_pct) if h.time_in_target_pct is not None
            else "no target",
            "probe": ", ".join(t.change(x) for x in probe.impact_vs_baseline_pct.values())
            if probe else "not recorded",
            "pain": t.number(v.notes.pain_0_10, 0) if v.notes and
            v.notes.pain_0_10 is not None else "not recorded",
        })
    title = f"Progress report · {athlete} · {len(visits)} visits"
    html = _environment().get_template("visits.html.j2").render(
        title=title, athlete=athlete, rows=rows,
        findings=words.visit_findings(visits, config, tz), figure=_figure(trend, 1),
        load=load, asymmetry=t.pct(config.alerts.asymmetry_pct), pta_note=words.PTA_NOTE,
        generated=f"footfall {__version__}")
    return Report(title, html, (trend, *load_figs))


@contextlib.contextmanager
def _strict_weasyprint() -> Iterator[None]:
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Collect(level=logging.WARNING)
    logger = logging.getLogger("weasyprint")
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
    if records:
        raise ReportRenderError("the PDF would not show the report as written: " +
                                "; ".join(r.getMessage() for r in records))


def pdf_bytes(html: str) -> tuple[bytes, int]:
    """(the PDF, its page count)."""
    import weasyprint

    fetcher = weasyprint.URLFetcher(allowed_protocols={"data"}, fail_on_errors=True)
    with _strict_weasyprint():
        document = weasyprint.HTML(string=html, url_fetcher=fetcher).render()
        data = document.write_pdf(pdf_identifier=b"footfall-report", pdf_tags=True)
    if not isinstance(data, bytes):
        raise ReportRenderError("WeasyPrint returned no PDF")
    return data, len(document.pages)


def write(report: Report, path: Path) -> int:
    """Write ``report`` as ``path``'s kind (.pdf or .html); returns the page count (PDF) or
    0 (HTML)."""
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise FootfallError(f"cannot write {path}: the report is a .pdf or an .html file")
    if suffix == ".html":
        path.write_text(report.html, encoding="utf-8")
        return 0
    data, pages = pdf_bytes(report.html)
    path.write_bytes(data)
    return pages
