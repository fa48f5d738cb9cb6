"""Post-run review: one whole session, afterwards."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import histogram, statetimeline, table, xychart
from grafana_foundation_sdk.builders.common import TableSortByFieldState
from grafana_foundation_sdk.models import common, dashboard
from grafana_foundation_sdk.models.xychart import ScatterShow, SeriesMapping

from footfall.processing.alerts import RULES
from footfall.views.dashboards.common import (
    ATHLETE,
    BY_LEG,
    CADENCE_NOTE,
    DASHED,
    LEG_ALIAS,
    PTA_NOTE,
    SESSION,
    UNIT_G,
    UNIT_SPM,
    athlete_variable,
    legend,
    prop,
    series_panel,
    session_variable,
    stat_panel,
    with_ref_ids,
)
from footfall.views.dashboards.influxql import DATASOURCE, InfluxQL
from footfall.views.dashboards.live import drift_panel, quality_panel

UID = "footfall-review"
WHERE = f"{SESSION} AND $timeFilter"
OWN_STEPS = f'{WHERE} AND "cadence_spm" > 0'  # the first strike of a stream has no interval
UNCLIPPED = f'{WHERE} AND "clipped" = false'

#: the processor's phases (metrics field ``baseline_state``) as the session's segments
SEGMENTS = (("warmup", "warm-up"), ("collecting", "baseline"), ("set", "main"))
#: a session link shows this long up to the session's end (the time of its summary row).
#: Grafana's URL has no "from + span" and a time range cannot come from a variable, so links
#: centre a window on the end (``time`` + ``time.window``), then ``to`` moves its right edge
#: there (TimeSrv.initTimeFromUrl applies them in that order)
REVIEW_SPAN_H = 2
SESSION_RANGE = (f"time=${{__value.time}}&time.window={2 * REVIEW_SPAN_H}h"
                 "&to=${__value.time}")


def sessions_panel() -> table.Panel:
    """The athlete's sessions from their summaries, whatever the time range, each a link to
    itself here with its own time range: how the review opens on a session."""
    link = (f"/d/{UID}/?var-athlete=${{athlete}}&var-session=${{__data.fields.session}}"
            f"&{SESSION_RANGE}")
    return (
        table.Panel().title("Sessions of the athlete").datasource(DATASOURCE).span(24)
        .height(5)
        .description("Every finished session of the athlete (its summary; the time is its "
                     f"end), whatever the time range. Click one to show it: {REVIEW_SPAN_H} h "
                     "up to its end, with the session selected.")
        .targets(with_ref_ids([InfluxQL(
            f'SELECT max("duration_s") AS "duration" FROM "summary" WHERE {ATHLETE} '
            'GROUP BY "session"', result_format="table")]))
        .with_transformation(dashboard.DataTransformerConfig(
            id_val="organize", options={"excludeByName": {}, "renameByName": {"Time": "end"}}))
        .override_by_name("duration", [prop("unit", "s")])
        .override_by_name("session", [dashboard.DynamicConfigValue(
            id_val="links", value=[{"title": "Show this session", "url": link}])])
        .sort_by([TableSortByFieldState().display_name("end").desc(True)]))


def alert_states_query() -> str:
    return f'SELECT "state" FROM "alert" WHERE {WHERE} GROUP BY "rule"'


def build() -> db.Dashboard:
    dash = (
        db.Dashboard("footfall · Post-run review").uid(UID)
        .description("One session, afterwards: cadence and impact over time against the "
                     "baseline, every step (impact vs cadence), distributions, drift, alerts "
                     "and the segments warm-up / baseline / main. Pick the athlete, then a "
                     "session in the table at the top: it opens with that session's time range "
                     "(so do the History dashboard's session links).")
        .tags(["footfall", "review"]).time("now-2h", "now").timezone("browser").editable()
        .with_variable(athlete_variable()).with_variable(session_variable())
    )
    dash = dash.with_panel(sessions_panel())
    dash = dash.with_row(db.Row("Summary"))
    dash = dash.with_panel(stat_panel(
        "Steps", "Strikes each sensor detected on its own leg.",
        [InfluxQL(f'SELECT count("interval_s") FROM "step" WHERE {WHERE} GROUP BY {BY_LEG}',
                  alias=LEG_ALIAS)], unit="none", decimals=0))
    dash = dash.with_panel(stat_panel(
        "Median cadence", CADENCE_NOTE,
        [InfluxQL(f'SELECT median("cadence_spm") FROM "step" WHERE {OWN_STEPS} '
                  f"GROUP BY {BY_LEG}", alias=LEG_ALIAS)], unit=UNIT_SPM, decimals=0))
    dash = dash.with_panel(stat_panel(
        "Median impact (PTA marker)", PTA_NOTE,
        [InfluxQL(f'SELECT median("impact_g") FROM "step" WHERE {UNCLIPPED} GROUP BY {BY_LEG}',
                  alias=LEG_ALIAS)], unit=UNIT_G))
    dash = dash.with_panel(stat_panel(
        "Baseline cadence", "Median cadence over the baseline window after the warm-up.",
        [InfluxQL(f'SELECT last("cadence_baseline_spm") FROM "metrics" WHERE {WHERE} '
                  f"GROUP BY {BY_LEG}", alias=LEG_ALIAS)], unit=UNIT_SPM, decimals=0))
    dash = dash.with_panel(stat_panel(
        "Baseline impact (PTA marker)", PTA_NOTE,
        [InfluxQL(f'SELECT last("impact_baseline_g") FROM "metrics" WHERE {WHERE} '
                  f"GROUP BY {BY_LEG}", alias=LEG_ALIAS)], unit=UNIT_G))
    dash = dash.with_panel(stat_panel(
        "Clipped steps",
        "Steps whose peak hit the sensor's full-scale range: their impact is a lower bound.",
        [InfluxQL(f'SELECT last("clipped_steps_total") FROM "metrics" WHERE {WHERE} '
                  f"GROUP BY {BY_LEG}", alias=LEG_ALIAS)], unit="none", decimals=0))

    dash = dash.with_row(db.Row("Over time"))
    dash = dash.with_panel(
        series_panel(
            "Cadence with the baseline", f"{CADENCE_NOTE} Dashed: the baseline cadence.",
            [InfluxQL(f'SELECT mean("cadence_spm") FROM "metrics" WHERE {WHERE} '
                      f"GROUP BY time($__interval), {BY_LEG} fill(none)", alias=LEG_ALIAS),
             InfluxQL(f'SELECT mean("cadence_baseline_spm") FROM "metrics" WHERE {WHERE} '
                      f"GROUP BY time($__interval), {BY_LEG} fill(none)",
                      alias=f"{LEG_ALIAS} baseline")],
            unit=UNIT_SPM)
        .override_by_regexp(".*baseline", [DASHED]))
    dash = dash.with_panel(
        series_panel(
            "Impact with the baseline (PTA marker)",
            f"{PTA_NOTE} 10-s rolling median of unclipped peaks. Dashed: the baseline.",
            [InfluxQL(f'SELECT mean("impact_g") FROM "metrics" WHERE {WHERE} '
                      f"GROUP BY time($__interval), {BY_LEG} fill(none)", alias=LEG_ALIAS),
             InfluxQL(f'SELECT mean("impact_baseline_g") FROM "metrics" WHERE {WHERE} '
                      f"GROUP BY time($__interval), {BY_LEG} fill(none)",
                      alias=f"{LEG_ALIAS} baseline")],
            unit=UNIT_G)
        .override_by_regexp(".*baseline", [DASHED]))
    dash = dash.with_panel(drift_panel(WHERE, span=12))
    dash = dash.with_panel(
        statetimeline.Panel().title("Alerts").datasource(DATASOURCE).span(12).height(8)
        .description("Each alert rule's state over the session: start = active until its "
                     f"clear. Rules: {', '.join(RULES)} (docs/alerts.md).")
        .targets(with_ref_ids([InfluxQL(alert_states_query(), alias="$tag_rule")]))
        .mappings([dashboard.ValueMap(options={
            "start": dashboard.ValueMappingResult(text="active", color="red", index=0),
            "clear": dashboard.ValueMappingResult(text="cleared", color="green", index=1)})])
        .merge_values(True).show_value(common.VisibilityMode.AUTO))

    dash = dash.with_row(db.Row("Every step"))
    dash = dash.with_panel(
        xychart.Panel().title("Impact (PTA marker) vs cadence, per step").datasource(DATASOURCE)
        .span(8).height(9)
        .description(f"One point per step, both legs (x: cadence, spm; y: impact, g). {PTA_NOTE}")
        .targets(with_ref_ids([InfluxQL(
            f'SELECT "cadence_spm", "impact_g" FROM "step" WHERE {OWN_STEPS} '
            'AND "clipped" = false', result_format="table")]))
        .series_mapping(SeriesMapping.AUTO)
        .dims(xychart.XYDimensionConfig().frame(0).x("cadence_spm"))
        .show(ScatterShow.POINTS)
        .override_by_name("cadence_spm", [prop("unit", UNIT_SPM),
                                          prop("displayName", "cadence")])
        .override_by_name("impact_g", [prop("unit", UNIT_G),
                                       prop("displayName", "impact (PTA marker)")]))
    dash = dash.with_panel(
        histogram.Panel().title("Impact distribution (PTA marker)").datasource(DATASOURCE)
        .span(8).height(9).description(PTA_NOTE).unit(UNIT_G).bucket_size(1).legend(legend())
        .targets(with_ref_ids([InfluxQL(
            f'SELECT "impact_g" FROM "step" WHERE {UNCLIPPED} GROUP BY {BY_LEG}',
            alias=LEG_ALIAS)])))
    dash = dash.with_panel(
        histogram.Panel().title("Cadence distribution").datasource(DATASOURCE)
        .span(8).height(9).description(CADENCE_NOTE).unit(UNIT_SPM).bucket_size(2)
        .legend(legend())
        .targets(with_ref_ids([InfluxQL(
            f'SELECT "cadence_spm" FROM "step" WHERE {OWN_STEPS} GROUP BY {BY_LEG}',
            alias=LEG_ALIAS)])))

    dash = dash.with_row(db.Row("Segments: warm-up, baseline, main"))
    dash = dash.with_panel(
        statetimeline.Panel().title("Segments").datasource(DATASOURCE).span(24).height(4)
        .description("warm-up: before the baseline window; baseline: the window the baseline "
                     "is taken over (no feedback); main: the retraining part after it.")
        .targets(with_ref_ids([InfluxQL(
            f'SELECT "baseline_state" FROM "metrics" WHERE {WHERE} GROUP BY {BY_LEG}',
            alias=LEG_ALIAS)]))
        .mappings([dashboard.ValueMap(options={
            state: dashboard.ValueMappingResult(text=label, color=color, index=i)
            for i, ((state, label), color) in enumerate(
                zip(SEGMENTS, ("blue", "purple", "green"), strict=True))})])
        .merge_values(True).show_value(common.VisibilityMode.AUTO))
    for field, measurement, title, unit, note in (
            ("cadence_spm", "metrics", "Cadence by segment", UNIT_SPM, CADENCE_NOTE),
            ("impact_g", "metrics", "Impact by segment (PTA marker)", UNIT_G, PTA_NOTE),
            ("symmetry_pct", "session_metrics", "Symmetry by segment", "percent",
             "(R − L) / max(R, L) × 100 of both legs' rolling impacts.")):
        per_leg = measurement == "metrics"  # symmetry is the pair's, not a leg's
        dash = dash.with_panel(stat_panel(
            title, f"Median over each segment of the per-second metrics. {note}",
            [InfluxQL(f'SELECT median("{field}") FROM "{measurement}" WHERE {WHERE} AND '
                      f"\"baseline_state\" = '{state}'" + (f" GROUP BY {BY_LEG}" if per_leg
                                                            else ""),
                      alias=f"{label} · {LEG_ALIAS}" if per_leg else label, ref_id=state)
             for state, label in SEGMENTS], unit=unit, span=8, height=5))
    dash = dash.with_panel(quality_panel(WHERE, span=24))
    return dash
