"""Pieces every footfall dashboard shares: variables, filters, units, panel helpers.

Ids (athlete, session) are 1–64 characters of ``[A-Za-z0-9_.-]`` (docs/wire.md), so a
single-value variable can be pasted into an InfluxQL string literal as it is: the variables are
single-select (neither multi nor "All"), which is when Grafana substitutes the raw value into a
panel's query. Variable and annotation queries get regex-escaped values instead, so they match
with regexes (``ATHLETE_RE``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import stat, timeseries
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.models import common, dashboard

from footfall.views.dashboards.influxql import DATASOURCE, InfluxQL

ATHLETE = "\"athlete\" = '$athlete'"
SESSION = f"{ATHLETE} AND \"session\" = '$session'"
#: Grafana formats variables as regex-escaped values in variable and annotation queries of
#: the InfluxDB datasource (``templateSrv.replace(query, undefined, 'regex')``): "a.b" becomes
#: "a\.b", which is only right inside a regex
ATHLETE_RE = '"athlete" =~ /^$athlete$/'
SESSION_RE = f'{ATHLETE_RE} AND "session" =~ /^$session$/'
#: placement is a tag on every step/metrics point: grouping by it shows it in every legend
BY_LEG = '"placement", "side"'
LEG_ALIAS = "$tag_placement $tag_side"

UNIT_SPM = "suffix: spm"
UNIT_G = "accG"
UNIT_PCT = "percent"

PTA_NOTE = (
    "Impact is the peak resultant tibial acceleration of each step (PTA), in g: an impact "
    "marker, **not a measure of bone load** (Matijevich 2019). Values from different placements "
    "(tibia, foot, sacrum) are not comparable; the legend shows the placement. Clipped peaks "
    "(the sensor sat at its full-scale range) are lower bounds and are left out of medians."
)
CADENCE_NOTE = "Cadence in steps per minute (spm), both legs counted."

#: target band over the runner's baseline cadence (gait.md: +5 to +10 % is the usual target)
TARGET_LOW_DEFAULT = "5"
TARGET_HIGH_DEFAULT = "10"


def athlete_variable() -> db.QueryVariable:
    return (
        db.QueryVariable("athlete").label("Athlete").datasource(DATASOURCE)
        .query('SHOW TAG VALUES FROM "metrics" WITH KEY = "athlete"')
        .refresh(dashboard.VariableRefresh.ON_DASHBOARD_LOAD)
        .sort(dashboard.VariableSort.ALPHABETICAL_CASE_INSENSITIVE_ASC)
        .multi(False).include_all(False)
    )


def session_variable() -> db.QueryVariable:
    # session ids default to the UTC start time (20261124T170000Z): descending = newest first
    return (
        db.QueryVariable("session").label("Session").datasource(DATASOURCE)
        .query(f'SHOW TAG VALUES FROM "metrics" WITH KEY = "session" WHERE {ATHLETE_RE}')
        .refresh(dashboard.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(dashboard.VariableSort.ALPHABETICAL_DESC)
        .multi(False).include_all(False)
    )


def _custom(name: str, label: str, values: Sequence[str], default: str,
            description: str) -> db.CustomVariable:
    return (
        db.CustomVariable(name).label(label).description(description)
        .values(",".join(values))
        .current(dashboard.VariableOption(selected=True, text=default, value=default))
        .options([dashboard.VariableOption(selected=v == default, text=v, value=v)
                  for v in values])
        .multi(False).include_all(False)
    )


def target_variables() -> list[db.CustomVariable]:
    note = "Cadence target band, in % over the runner's baseline cadence (gait.md: +5 to +10 %)."
    return [
        _custom("target_low_pct", "Target from +%", ["3", "5", "7.5", "10"],
                TARGET_LOW_DEFAULT, note),
        _custom("target_high_pct", "Target to +%", ["7.5", "10", "12.5", "15"],
                TARGET_HIGH_DEFAULT, note),
    ]


def with_ref_ids(targets: Sequence[InfluxQL]) -> list[cogbuilder.Builder[cogvariants.Dataquery]]:
    """The targets, each with a ref id (A, B, … unless set) — what ``Panel.targets`` takes."""
    return [target if target.ref_id else replace(target, ref_id=chr(ord("A") + i))
            for i, target in enumerate(targets)]


def series_panel(title: str, description: str, targets: Sequence[InfluxQL], *, unit: str,
                 span: int = 12, height: int = 8, points: bool = False,
                 min_interval: str = "1s") -> timeseries.Panel:
    panel = (
        timeseries.Panel().title(title).description(description).datasource(DATASOURCE)
        .unit(unit).span(span).height(height).interval(min_interval)
        .targets(with_ref_ids(targets))
        .legend(legend())
        .span_nulls(True)
    )
    if points:
        panel = (panel.draw_style(common.GraphDrawStyle.POINTS).point_size(5)
                 .show_points(common.VisibilityMode.ALWAYS))
    return panel


def legend() -> cb.VizLegendOptions:
    """A visible legend under the panel: per-leg series must say which leg they are."""
    return (cb.VizLegendOptions().show_legend(True).display_mode(common.LegendDisplayMode.LIST)
            .placement(common.LegendPlacement.BOTTOM))


def stat_panel(title: str, description: str, targets: Sequence[InfluxQL], *, unit: str,
               span: int = 4, height: int = 4, decimals: int = 1) -> stat.Panel:
    return (
        stat.Panel().title(title).description(description).datasource(DATASOURCE)
        .unit(unit).span(span).height(height).decimals(decimals)
        .targets(with_ref_ids(targets))
        .graph_mode(common.BigValueGraphMode.NONE)
        .text_mode(common.BigValueTextMode.VALUE_AND_NAME)
        .reduce_options(cb.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
    )


def threshold_steps(*steps: tuple[float | None, str]) -> db.ThresholdsConfig:
    return (db.ThresholdsConfig().mode(dashboard.ThresholdsMode.ABSOLUTE)
            .steps([dashboard.Threshold(value=v, color=c) for v, c in steps]))


def prop(key: str, value: object) -> dashboard.DynamicConfigValue:
    """One field-config property for an override (``custom.fillBelowTo``, ``color``, …)."""
    return dashboard.DynamicConfigValue(id_val=key, value=value)


def dashed_thresholds() -> cb.GraphThresholdsStyleConfig:
    return cb.GraphThresholdsStyleConfig().mode(common.GraphTresholdsStyleMode.DASHED)


def fixed_color(color: str) -> dashboard.DynamicConfigValue:
    return prop("color", {"mode": "fixed", "fixedColor": color})


DASHED = prop("custom.lineStyle", {"fill": "dash", "dash": [10, 10]})
