"""Athlete history: sessions over weeks — the progress of a retraining programme."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import table
from grafana_foundation_sdk.builders.common import TableSortByFieldState
from grafana_foundation_sdk.models import dashboard

from footfall.views.dashboards import review
from footfall.views.dashboards.common import (
    ATHLETE,
    BY_LEG,
    CADENCE_NOTE,
    LEG_ALIAS,
    PTA_NOTE,
    UNIT_G,
    UNIT_PCT,
    UNIT_SPM,
    athlete_variable,
    series_panel,
    target_variables,
    with_ref_ids,
)
from footfall.views.dashboards.influxql import DATASOURCE, InfluxQL

UID = "footfall-history"
WHERE = f"{ATHLETE} AND $timeFilter"
#: one point per day: a clinic runs at most one session per athlete and day
PER_DAY = f"GROUP BY time(1d), {BY_LEG} fill(none)"
#: the review link opens the session's start + this long. Grafana's URL has no "from + span":
#: ``time`` + ``time.window`` centre a window on the start, then ``from`` moves its left edge
#: to the start (TimeSrv.initTimeFromUrl applies them in that order)
REVIEW_SPAN_H = 2
#: 1 when x > t, else 0, for |x − t| < 1000 — InfluxQL has no CASE or comparison in SELECT
ABOVE_TARGET = 'ceil(("cadence_change_pct" - $target_low_pct) / 1000)'


def time_above_target_query() -> str:
    inner = (f'SELECT {ABOVE_TARGET} AS "above" FROM "metrics" '
             f'WHERE {WHERE} AND "cadence_change_pct" > -1000 GROUP BY {BY_LEG}')
    return (f'SELECT mean("above") * 100 AS "above target" FROM ({inner}) '
            f"WHERE $timeFilter {PER_DAY}")


def build() -> db.Dashboard:
    dash = (
        db.Dashboard("footfall · Athlete history").uid(UID)
        .description("An athlete's sessions over weeks: the runner's own (baseline) cadence, "
                     "impact (PTA marker) and the share of running time at or above the cadence "
                     "target — whether the retraining sticks.")
        .tags(["footfall", "history"]).time("now-90d", "now").timezone("browser").editable()
        .with_variable(athlete_variable())
    )
    for variable in target_variables():
        dash = dash.with_variable(variable)
    dash = dash.with_row(db.Row("Progress, one point per session day"))
    dash = dash.with_panel(series_panel(
        "Baseline cadence",
        f"{CADENCE_NOTE} The cadence of each session's no-feedback warm-up: the runner's "
        "preferred cadence. It rises when the retrained cadence becomes their own.",
        [InfluxQL(f'SELECT last("cadence_baseline_spm") FROM "metrics" WHERE {WHERE} {PER_DAY}',
                  alias=LEG_ALIAS)], unit=UNIT_SPM, points=True, min_interval="1d"))
    dash = dash.with_panel(series_panel(
        "Median cadence",
        f"{CADENCE_NOTE} Median over every step of the day's session(s).",
        [InfluxQL(f'SELECT median("cadence_spm") FROM "step" WHERE {WHERE} AND '
                  f'"cadence_spm" > 0 {PER_DAY}', alias=LEG_ALIAS)],
        unit=UNIT_SPM, points=True, min_interval="1d"))
    dash = dash.with_panel(series_panel(
        "Median impact (PTA marker)",
        f"{PTA_NOTE} Median over every unclipped step of the day's session(s); running speed "
        "raises PTA (~3.8 g per m/s, Sheerin 2020), so compare sessions at similar speeds.",
        [InfluxQL(f'SELECT median("impact_g") FROM "step" WHERE {WHERE} AND "clipped" = false '
                  f"{PER_DAY}", alias=LEG_ALIAS)], unit=UNIT_G, points=True, min_interval="1d"))
    dash = dash.with_panel(series_panel(
        "Time at or above the cadence target",
        "Share of running time (per-second metrics after the baseline was set) with cadence "
        "more than +$target_low_pct % over that session's baseline.",
        [InfluxQL(time_above_target_query(), alias=f"{LEG_ALIAS}")],
        unit=UNIT_PCT, points=True, min_interval="1d"))
    link = (f"/d/{review.UID}/?var-athlete=${{athlete}}&var-session=${{__data.fields.session}}"
            f"&time=${{__value.time}}&time.window={2 * REVIEW_SPAN_H}h&from=${{__value.time}}")
    dash = dash.with_panel(
        table.Panel().title("Sessions").datasource(DATASOURCE).span(24).height(8)
        .description("Every session of the athlete in the time range, with its start. Click a "
                     f"session to open it in the Post-run review ({REVIEW_SPAN_H} h from "
                     "its start).")
        .targets(with_ref_ids([InfluxQL(
            f'SELECT first("steps_total") AS "first" FROM "metrics" WHERE {WHERE} '
            'GROUP BY "session"', result_format="table")]))
        .with_transformation(dashboard.DataTransformerConfig(
            id_val="organize",
            options={"excludeByName": {"first": True},
                     "renameByName": {"Time": "start"}}))
        .override_by_name("session", [dashboard.DynamicConfigValue(
            id_val="links",
            value=[{"title": "Open in Post-run review", "url": link}])])
        .sort_by([TableSortByFieldState().display_name("start").desc(True)]))
    return dash
