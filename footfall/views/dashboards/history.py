"""Athlete history: sessions over weeks — the progress of a retraining programme.

Every panel reads the ``summary`` measurement (one point per session and sensor, written when
the session ends), never months of raw steps: InfluxDB 3 Core limits a query to about 72 hours
of data, and a summary point per session stays far inside it.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import table
from grafana_foundation_sdk.builders.common import TableSortByFieldState
from grafana_foundation_sdk.models import dashboard

from footfall.config.analysis import AlertConfig
from footfall.views.dashboards import review
from footfall.views.dashboards.common import (
    ATHLETE,
    BY_LEG,
    CADENCE_NOTE,
    DASHED,
    LEG_ALIAS,
    PTA_NOTE,
    UNIT_G,
    UNIT_PCT,
    UNIT_SPM,
    athlete_variable,
    dashed_thresholds,
    prop,
    series_panel,
    threshold_steps,
    with_ref_ids,
)
from footfall.views.dashboards.influxql import DATASOURCE, InfluxQL

UID = "footfall-history"
WHERE = f"{ATHLETE} AND $timeFilter"
PER_SESSION = f"GROUP BY {BY_LEG}"  # raw points: one per session and leg
SYMMETRY_NOTE = ("Impact symmetry of each session: (R − L) / max(R, L) × 100 of the two legs' "
                 "median impacts (positive: the right leg lands harder); footfall flags "
                 "beyond ±{flag:g} %.")
#: the table's columns: summary field → heading
COLUMNS = (("duration_s", "duration"), ("steps", "steps"), ("cadence_spm", "cadence"),
           ("cadence_baseline_spm", "baseline cadence"), ("impact_g", "impact (PTA marker)"),
           ("impact_drift_pct", "impact change"), ("time_in_target_pct", "in target band"),
           ("clipped_pct", "clipped"))
UNITS = {"duration_s": "s", "cadence_spm": UNIT_SPM, "cadence_baseline_spm": UNIT_SPM,
         "impact_g": UNIT_G, "impact_drift_pct": UNIT_PCT, "time_in_target_pct": UNIT_PCT,
         "clipped_pct": UNIT_PCT}


def symmetry_query() -> str:
    """Per day (a clinic runs one session a day): (R − L) / max(R, L) of the legs' median
    impacts. InfluxQL has no join: two subqueries give +R and −L as ``d`` (summed: R − L) and
    both as ``m`` (max: the larger); days with only one leg measured are dropped."""
    leg = ('SELECT {sign}"impact_g" AS "d", "impact_g" AS "m" FROM "summary" WHERE {where} '
           "AND \"side\" = '{side}'")
    legs = ", ".join(f"({leg.format(sign=sign, where=WHERE, side=side)})"
                     for sign, side in (("", "right"), ("-1 * ", "left")))
    per_day = (f'SELECT sum("d") / max("m") * 100 AS "symmetry", count("m") AS "legs" '
               f'FROM {legs} WHERE $timeFilter GROUP BY time(1d), "placement" fill(none)')
    return (f'SELECT "symmetry" FROM ({per_day}) WHERE "legs" = 2 AND $timeFilter '
            'GROUP BY "placement"')


def sessions_query() -> str:
    fields = ", ".join(f'"{name}"' for name, _ in COLUMNS)
    return (f'SELECT {fields} FROM "summary" WHERE {WHERE} GROUP BY "session", {BY_LEG}')


def build() -> db.Dashboard:
    flag = AlertConfig().asymmetry_pct
    dash = (
        db.Dashboard("footfall · Athlete history").uid(UID)
        .description("An athlete's sessions over weeks, from each session's summary: cadence "
                     "and the runner's own (baseline) cadence, impact (PTA marker), left/right "
                     "symmetry and the time in the cadence target band — whether the retraining "
                     "sticks. `footfall report --athlete ID --visits N` prints the same as a "
                     "PDF for the runner.")
        .tags(["footfall", "history"]).time("now-90d", "now").timezone("browser").editable()
        .with_variable(athlete_variable())
    )
    dash = dash.with_row(db.Row("Progress, one point per session"))
    dash = dash.with_panel(
        series_panel(
            "Cadence per session",
            f"{CADENCE_NOTE} Solid: the median of every step of the session; dashed: its "
            "baseline, the no-feedback warm-up — the runner's own cadence, which rises when "
            "the retrained cadence becomes theirs.",
            [InfluxQL(f'SELECT "cadence_spm" FROM "summary" WHERE {WHERE} {PER_SESSION}',
                      alias=f"{LEG_ALIAS} median"),
             InfluxQL(f'SELECT "cadence_baseline_spm" FROM "summary" WHERE {WHERE} '
                      f"{PER_SESSION}", alias=f"{LEG_ALIAS} baseline")],
            unit=UNIT_SPM, points=True, min_interval="1d")
        .override_by_regexp(".*baseline", [DASHED]))
    dash = dash.with_panel(series_panel(
        "Impact per session (PTA marker)",
        f"{PTA_NOTE} The median of each leg's unclipped steps; running speed raises PTA "
        "(~3.8 g per m/s, Sheerin 2020), so compare sessions at similar speeds.",
        [InfluxQL(f'SELECT "impact_g" FROM "summary" WHERE {WHERE} {PER_SESSION}',
                  alias=LEG_ALIAS)], unit=UNIT_G, points=True, min_interval="1d"))
    dash = dash.with_panel(
        series_panel("Impact symmetry per session (PTA marker)",
                     f"{SYMMETRY_NOTE.format(flag=flag)} {PTA_NOTE}",
                     [InfluxQL(symmetry_query(), alias="$tag_placement symmetry")],
                     unit=UNIT_PCT, points=True, min_interval="1d")
        .thresholds(threshold_steps((None, "orange"), (-flag, "green"), (flag, "orange")))
        .thresholds_style(dashed_thresholds()))
    dash = dash.with_panel(series_panel(
        "Time in the cadence target band",
        "Share of each session's time with a cadence target in which the cadence was within "
        "the target ± the cadence_target alert's tolerance (docs/metrics.md). No point: no "
        "target was set in that session.",
        [InfluxQL(f'SELECT "time_in_target_pct" FROM "summary" WHERE {WHERE} {PER_SESSION}',
                  alias=LEG_ALIAS)], unit=UNIT_PCT, points=True, min_interval="1d"))
    link = (f"/d/{review.UID}/?var-athlete=${{athlete}}&var-session=${{__data.fields.session}}"
            f"&{review.SESSION_RANGE}")
    panel = (
        table.Panel().title("Sessions (impact: PTA marker)").datasource(DATASOURCE).span(24)
        .height(9)
        .description("Every session of the athlete in the time range, one row per sensor, "
                     "from its summary; the time is its end. Click a session to open it in the "
                     f"Post-run review ({review.REVIEW_SPAN_H} h up to its end). {PTA_NOTE}")
        .targets(with_ref_ids([InfluxQL(sessions_query(), result_format="table")]))
        .with_transformation(dashboard.DataTransformerConfig(
            id_val="organize", options={"excludeByName": {}, "renameByName": {"Time": "end"}}))
        .override_by_name("session", [dashboard.DynamicConfigValue(
            id_val="links",
            value=[{"title": "Open in Post-run review", "url": link}])])
        .sort_by([TableSortByFieldState().display_name("end").desc(True)]))
    for name, heading in COLUMNS:
        settings = [prop("displayName", heading), prop("decimals", 0 if name == "steps" else 1)]
        if name in UNITS:
            settings.append(prop("unit", UNITS[name]))
        panel = panel.override_by_name(name, settings)
    return dash.with_panel(panel)
