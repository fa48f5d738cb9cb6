"""Live session: what the therapist watches during a treadmill run (refresh 5 s, last 10 min)."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import table, timeseries

from footfall.views.dashboards import provisioning as prov
from footfall.views.dashboards.common import (
    BY_LEG,
    CADENCE_NOTE,
    DASHED,
    LEG_ALIAS,
    PTA_NOTE,
    SESSION,
    TARGET_HIGH_DEFAULT,
    TARGET_LOW_DEFAULT,
    UNIT_G,
    UNIT_PCT,
    UNIT_SPM,
    athlete_variable,
    dashed_thresholds,
    fixed_color,
    prop,
    series_panel,
    session_variable,
    stat_panel,
    target_variables,
    threshold_steps,
    with_ref_ids,
)
from footfall.views.dashboards.influxql import DATASOURCE, InfluxQL

UID = "footfall-live"
WHERE = f"{SESSION} AND $timeFilter"


def build() -> db.Dashboard:
    dash = (
        db.Dashboard("footfall · Live session").uid(UID)
        .description("One athlete's running session as it happens: cadence against the "
                     "target band, impact per step, drift against the baseline, symmetry and "
                     "data quality. Data: footfall process → InfluxDB.")
        .tags(["footfall", "live"]).refresh("5s").time("now-10m", "now")
        .timezone("browser").editable()
        .with_variable(athlete_variable()).with_variable(session_variable())
    )
    for variable in target_variables():
        dash = dash.with_variable(variable)

    dash = dash.with_row(db.Row("Now"))
    dash = dash.with_panel(stat_panel(
        "Cadence (10 s median)", CADENCE_NOTE,
        [InfluxQL(f'SELECT last("cadence_spm") FROM "metrics" WHERE {WHERE} GROUP BY {BY_LEG}',
                  alias=LEG_ALIAS)], unit=UNIT_SPM, span=6, decimals=0))
    dash = dash.with_panel(stat_panel(
        "Impact, PTA marker (10 s median)", PTA_NOTE,
        [InfluxQL(f'SELECT last("impact_g") FROM "metrics" WHERE {WHERE} GROUP BY {BY_LEG}',
                  alias=LEG_ALIAS)], unit=UNIT_G, span=6))
    dash = dash.with_panel(stat_panel(
        "Cadence vs baseline",
        "Change of the rolling cadence against this session's baseline (taken after the "
        "warm-up). The target band is +$target_low_pct to +$target_high_pct %.",
        [InfluxQL(f'SELECT last("cadence_change_pct") FROM "metrics" WHERE {WHERE} '
                  f"GROUP BY {BY_LEG}", alias=LEG_ALIAS)], unit=UNIT_PCT, span=6)
        .thresholds(threshold_steps((None, "blue"), (float(TARGET_LOW_DEFAULT), "green"),
                                   (float(TARGET_HIGH_DEFAULT), "orange"))))
    dash = dash.with_panel(stat_panel(
        "Impact symmetry now",
        "(R − L) / max(R, L) × 100 of both legs' rolling impacts (the session's combined "
        "figures): positive = the right leg lands harder.",
        [InfluxQL(f'SELECT last("symmetry_pct") FROM "session_metrics" WHERE {WHERE}',
                  alias="symmetry")], unit=UNIT_PCT, span=6))

    dash = dash.with_row(db.Row("Cadence and impact"))
    band = (f'SELECT mean("cadence_baseline_spm") * (100 + $target_low_pct) / 100 AS "target low",'
            f' mean("cadence_baseline_spm") * (100 + $target_high_pct) / 100 AS "target high" '
            f'FROM "metrics" WHERE {WHERE} GROUP BY time($__interval) fill(none)')
    dash = dash.with_panel(
        series_panel(
            "Cadence against the target band",
            f"{CADENCE_NOTE} Shaded: the target band, +$target_low_pct to +$target_high_pct % "
            "over the baseline cadence; it appears once the baseline is set (after the "
            "warm-up). Dashed: the baseline.",
            [InfluxQL(f'SELECT mean("cadence_spm") FROM "metrics" WHERE {WHERE} '
                      f"GROUP BY time($__interval), {BY_LEG} fill(none)", alias=LEG_ALIAS),
             InfluxQL(band, alias="$col"),
             InfluxQL(f'SELECT mean("cadence_baseline_spm") AS "baseline" FROM "metrics" '
                      f"WHERE {WHERE} GROUP BY time($__interval) fill(none)", alias="$col")],
            unit=UNIT_SPM)
        .override_by_name("target high", [
            prop("custom.fillBelowTo", "target low"),
            prop("custom.lineWidth", 0),
            fixed_color("green")])
        .override_by_name("target low", [
            prop("custom.lineWidth", 0),
            fixed_color("green")])
        .override_by_name("baseline", [
            DASHED,
            fixed_color("text")]))
    dash = dash.with_panel(series_panel(
        "Impact per step (PTA marker)",
        f"{PTA_NOTE} One point per detected strike of the sensor's own leg.",
        [InfluxQL(f'SELECT "impact_g" FROM "step" WHERE {WHERE} AND "clipped" = false '
                  f"GROUP BY {BY_LEG}", alias=LEG_ALIAS),
         InfluxQL(f'SELECT "impact_g" AS "clipped" FROM "step" WHERE {WHERE} AND '
                  f'"clipped" = true GROUP BY {BY_LEG}',
                  alias=f"{LEG_ALIAS} clipped (lower bound)"),
         InfluxQL(f'SELECT mean("impact_baseline_g") AS "baseline" FROM "metrics" WHERE {WHERE} '
                  f"GROUP BY time($__interval), {BY_LEG} fill(none)",
                  alias=f"{LEG_ALIAS} baseline")],
        unit=UNIT_G, points=True)
        .override_by_regexp(".*clipped.*", [fixed_color("red")])
        .override_by_regexp(".*baseline", [
            prop("custom.drawStyle", "line"),
            DASHED]))

    dash = dash.with_row(db.Row("Drift, symmetry, data quality"))
    dash = dash.with_panel(drift_panel(WHERE, span=8))
    dash = dash.with_panel(series_panel(
        "Impact symmetry",
        "(R − L) / max(R, L) × 100 of the rolling impacts; 0 = both legs land alike.",
        [InfluxQL(f'SELECT mean("symmetry_pct") AS "symmetry" FROM "session_metrics" WHERE '
                  f"{WHERE} GROUP BY time($__interval) fill(none)", alias="$col")],
        unit=UNIT_PCT, span=8))
    dash = dash.with_panel(quality_panel(WHERE, span=8))

    dash = dash.with_row(db.Row("Alerts"))
    dash = dash.with_panel(
        table.Panel().title("Alerts in this session").datasource(DATASOURCE).span(24).height(6)
        .description("Alerts the processor raised (start) and cleared, newest first; they are "
                     "also drawn as annotations on the graphs.")
        .targets(with_ref_ids([InfluxQL(
            f'SELECT "rule", "severity", "state", "message", "value" FROM "alert" '
            f"WHERE {WHERE} ORDER BY time DESC LIMIT 50", result_format="table")])))
    return dash


def drift_panel(where: str, *, span: int) -> timeseries.Panel:
    return (
        series_panel(
            "Drift against the baseline",
            "Cadence drift: change against the baseline minus what a change of running speed "
            "explains (≈ 5.6 spm per m/s, Burns 2019) — falling cadence late in a run suggests "
            "fatigue. Impact drift: rolling PTA marker against its baseline. Dashed lines: the "
            f"processor's alert thresholds (cadence {prov.CADENCE_DRIFT_PCT:+g} %, "
            f"impact {prov.IMPACT_RISE_PCT:+g} %).",
            [InfluxQL(f'SELECT mean("cadence_drift_pct") AS "cadence drift", '
                      f'mean("impact_drift_pct") AS "impact drift" FROM "metrics" '
                      f"WHERE {where} GROUP BY time($__interval), {BY_LEG} fill(none)",
                      alias=f"$col {LEG_ALIAS}")],
            unit=UNIT_PCT, span=span)
        .thresholds(threshold_steps((None, "transparent"),
                                    (prov.CADENCE_DRIFT_PCT, "orange"),
                                    (prov.IMPACT_RISE_PCT, "red")))
        .thresholds_style(dashed_thresholds())
    )


def quality_panel(where: str, *, span: int) -> timeseries.Panel:
    return series_panel(
        "Data quality",
        "Packet loss: share of samples lost between sensor and processor in the last "
        f"10 s (alert at {prov.PACKET_LOSS_PCT:g} %). Clipping: share of recent impact "
        f"peaks at the sensor's full-scale range (alert at {prov.CLIPPING_PCT:g} %; use "
        "a ≥ ±32 g sensor).",
        [InfluxQL(f'SELECT max("packet_loss_pct") AS "packet loss", max("clipping_pct") AS '
                  f'"clipping" FROM "metrics" WHERE {where} '
                  f"GROUP BY time($__interval), {BY_LEG} fill(none)",
                  alias=f"$col {LEG_ALIAS}")],
        unit=UNIT_PCT, span=span)
