"""Every InfluxQL query of the generated dashboards and alert rules, on a real InfluxDB.

The sample session is replayed through Mosquitto and the live processor into InfluxDB
(conftest.py); then each panel's, variable's and annotation's query is interpolated the way
Grafana does it (grafana.py) and run. Each must succeed and return what its panel reads.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from footfall.views.dashboards import REPO_DASHBOARDS, provisioning
from tests.dashboards.conftest import Replayed
from tests.dashboards.grafana import Target, current_values, interpolate, targets_of

pytestmark = pytest.mark.servers

DASHBOARDS = {path.name: json.loads(path.read_text())
              for path in sorted((REPO_DASHBOARDS / "json").glob("*.json"))}
TARGETS = [t for name, body in DASHBOARDS.items() for t in targets_of(name, body)]
#: every query at Grafana's finest interval here (the datasource's 1 s minimum), and those that
#: bucket by $__interval at a coarser one too
CASES = [(t, "1s") for t in TARGETS] + [(t, "10s") for t in TARGETS if "$__interval" in t.query]
_GROUP_TAGS = re.compile(r'GROUP BY (.*?)(?: fill\(|$| ORDER| LIMIT)')


def _tags_grouped(query: str) -> set[str]:
    match = _GROUP_TAGS.search(query)
    return set(re.findall(r'"(\w+)"', match.group(1))) if match else set()


def test_every_dashboard_has_queries() -> None:
    assert set(DASHBOARDS) == {"footfall-live.json", "footfall-review.json",
                               "footfall-history.json"}
    for name in DASHBOARDS:
        assert sum(t.dashboard == name for t in TARGETS) >= 6, name


def _run(replayed: Replayed, target: Target, interval: str) -> list[dict[str, Any]]:
    ids = {"athlete": replayed.athlete, "session": replayed.session}
    query = interpolate(target.query, from_ms=replayed.from_ms, to_ms=replayed.to_ms,
                        interval=interval,
                        variables=current_values(DASHBOARDS[target.dashboard], ids),
                        regex_format=target.kind in ("variable", "annotation"))
    return replayed.query(query)


@pytest.mark.parametrize(("target", "interval"), CASES,
                         ids=[f"{t.dashboard}:{t.where}:{i}" for t, i in CASES])
def test_query_returns_what_the_panel_reads(replayed: Replayed, target: Target,
                                            interval: str) -> None:
    series = _run(replayed, target, interval)
    assert series, f"no data for {target.where}: {target.query}"

    if target.kind == "variable":
        values = {v[1] for s in series for v in s["values"]}
        expected = replayed.athlete if target.panel["name"] == "athlete" else replayed.session
        assert expected in values, (target.where, values)
        assert not target.panel["multi"] and not target.panel["includeAll"]
        return

    for s in series:
        assert s["columns"][0] == "time", s["columns"]
        assert s["values"], s
        missing = _tags_grouped(target.query) - set(s.get("tags") or {})
        assert not missing, (target.where, missing, s.get("tags"))
    columns = {c for s in series for c in s["columns"]}
    for column in columns - {"time"}:
        assert any(row[s["columns"].index(column)] is not None
                   for s in series if column in s["columns"] for row in s["values"]), \
            f"{target.where}: column {column!r} is always null"

    if target.kind == "annotation":
        wanted = {target.panel["textColumn"], *target.panel["tagsColumn"].split(",")}
        assert wanted <= columns, (wanted, columns)
    if target.kind == "xychart":
        dims = target.panel["options"]["dims"]
        assert dims["x"] in columns, (dims, columns)
        assert len(columns - {"time", dims["x"]}) >= 1
    if target.kind == "table" and target.panel["transformations"]:
        options = target.panel["transformations"][0]["options"]
        assert set(options["excludeByName"]) <= columns
        for override in target.panel["fieldConfig"]["overrides"]:
            field = override["matcher"]["options"]
            assert all(field in (s.get("tags") or {}) or field in s["columns"] for s in series)


def test_grouped_series_show_placement_and_side(replayed: Replayed) -> None:
    """Legends name the placement (impact values are placement-specific) and the leg."""
    grouped = [t for t in TARGETS if '"placement", "side"' in t.query]
    assert len(grouped) > 20
    for target in grouped[:3]:
        series = _run(replayed, target, "10s")
        assert {s["tags"]["placement"] for s in series} == {"tibia"}
        assert {s["tags"]["side"] for s in series} == {"left", "right"}


@pytest.mark.parametrize("rule", provisioning.rules(), ids=lambda r: r.uid)
def test_alert_rule_query_returns_one_series_per_device(replayed: Replayed,
                                                         rule: provisioning.Rule) -> None:
    # Grafana evaluates the rule over the last window_s seconds: here, the end of the session
    query = interpolate(rule.query(), from_ms=replayed.to_ms - 5000 - rule.window_s * 1000,
                        to_ms=replayed.to_ms, interval="1s", variables={})
    series = replayed.query(query)
    expected = {"device": {"tibia-left", "tibia-right"}, "session": {"session"},
                # the sample's sensors never drop out: no start or clear to read
                "connectivity": set()}[rule.scope]
    assert {s["tags"]["device"] for s in series} == expected
    for s in series:
        assert s["tags"]["athlete"] == replayed.athlete
        assert s["tags"]["session"] == replayed.session
        assert s["values"][0][1] in (0, 1), s  # the processor's own alert state


@pytest.mark.parametrize("rule", [r for r in provisioning.rules() if r.scope != "connectivity"],
                         ids=lambda r: r.uid)
def test_alert_rule_fires_exactly_while_the_processors_alert_is_active(
        replayed: Replayed, rule: provisioning.Rule) -> None:
    """Grafana's rule, evaluated every 10 s through the session, says what the processor's
    start/clear events say (within the 2 s between a strike and the next per-second point)."""
    transitions: dict[str, list[tuple[int, bool]]] = {}
    for s in replayed.query(f'SELECT "active" FROM "alert" WHERE "rule" = \'{rule.rule}\' '
                            f'AND "athlete" = \'{replayed.athlete}\' GROUP BY "device"'):
        transitions[s["tags"]["device"]] = [(int(t), bool(a)) for t, a in s["values"]]
    firing_seen = 0
    for at_ms in range(replayed.from_ms + 10_000, replayed.to_ms + 1, 10_000):
        query = interpolate(rule.query(), from_ms=at_ms - rule.window_s * 1000, to_ms=at_ms,
                            interval="1s", variables={})
        for s in replayed.query(query):
            device = s["tags"]["device"]
            history = transitions.get(device, [])
            active = next((a for t, a in reversed(history) if t <= at_ms), False)
            near_a_transition = any(abs(t - at_ms) <= 2000 for t, _ in history)
            firing = s["values"][-1][1] == 1
            firing_seen += firing
            assert firing == active or near_a_transition, (device, at_ms, history)
    if rule.rule in ("impact", "clipping"):  # the sample session raises both: not vacuous
        assert firing_seen > 0


def test_history_symmetry_is_that_of_the_legs_median_impacts(replayed: Replayed) -> None:
    """The impact-symmetry trend: (R − L) / max(R, L) of the summaries' median impacts."""
    from footfall.views.dashboards import history

    variables = current_values(DASHBOARDS["footfall-history.json"], {"athlete": replayed.athlete})
    query = interpolate(history.symmetry_query(), from_ms=replayed.from_ms, to_ms=replayed.to_ms,
                        interval="1d", variables=variables)
    (series,) = replayed.query(query)
    (row,) = series["values"]
    legs = {s["tags"]["side"]: s["values"][0][1] for s in replayed.query(
        f"SELECT \"impact_g\" FROM \"summary\" WHERE \"athlete\" = '{replayed.athlete}' "
        'GROUP BY "side"')}
    assert row[1] == pytest.approx(100 * (legs["right"] - legs["left"])
                                   / max(legs["right"], legs["left"]), rel=1e-9)


def test_review_alert_panel_names_the_real_rules() -> None:
    from footfall.processing.alerts import RULES

    review = DASHBOARDS["footfall-review.json"]
    (panel,) = [p for p in review["panels"] if p.get("title") == "Alerts"]
    named = set(re.findall(r"\b[a-z]+(?:_[a-z]+)*\b", panel["description"].split("Rules:")[1]))
    assert set(RULES) <= named
    assert not {"cadence_drop", "impact_rise"} & named
