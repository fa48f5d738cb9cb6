"""The committed dashboards/ folder is exactly what footfall/dashboards generates, and it says
what a therapist needs to read it (units, placement, PTA as an impact marker)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from footfall.processing.alerts import RULES
from footfall.views.dashboards import REPO_DASHBOARDS, differences, provisioning, render, write
from footfall.views.dashboards.__main__ import main
from footfall.views.dashboards.influxql import DATASOURCE_UID
from tests.dashboards.grafana import targets_of, variables_of

FILES = render()
DASHBOARDS: dict[str, dict[str, Any]] = {
    rel.removeprefix("json/"): json.loads(text) for rel, text in FILES.items()
    if rel.startswith("json/")}


def _panels(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in body["panels"] if p["type"] != "row"]


def test_committed_files_are_what_the_code_generates() -> None:
    stale = differences(REPO_DASHBOARDS)
    assert not stale, (f"{stale} differ from footfall/dashboards: run "
                       "`.venv/bin/python -m footfall.views.dashboards` and commit the result")
    on_disk = {str(p.relative_to(REPO_DASHBOARDS)) for p in REPO_DASHBOARDS.rglob("*")
               if p.is_file()}
    assert on_disk == set(FILES), "files under dashboards/ that the generator does not make"


def test_generation_is_deterministic_and_check_mode_works(tmp_path: Path) -> None:
    assert render() == FILES
    assert main(["--out", str(tmp_path), "--check"]) == 1
    assert len(write(tmp_path)) == len(FILES)
    assert write(tmp_path) == []
    assert main(["--out", str(tmp_path), "--check"]) == 0
    (tmp_path / "json" / "footfall-live.json").write_text("{}")
    assert differences(tmp_path) == ["json/footfall-live.json"]


def test_live_dashboard_refreshes_every_5_s_over_the_last_10_min() -> None:
    live = DASHBOARDS["footfall-live.json"]
    assert live["refresh"] == "5s"
    assert live["time"] == {"from": "now-10m", "to": "now"}
    assert DASHBOARDS["footfall-history.json"]["time"]["from"] == "now-90d"


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_panels_query_footfall_influxdb_with_raw_influxql(name: str) -> None:
    body = DASHBOARDS[name]
    ids = [p["id"] for p in body["panels"]]
    assert len(ids) == len(set(ids))
    titles = [p["title"] for p in _panels(body)]
    assert len(titles) == len(set(titles)), titles
    for panel in _panels(body):
        assert panel["datasource"]["uid"] == DATASOURCE_UID, panel["title"]
        assert panel.get("description"), f"{panel['title']}: say what it shows"
        for target in panel["targets"]:
            assert target["rawQuery"] is True
            assert target["datasource"]["uid"] == DATASOURCE_UID
            # the time range bounds every query (InfluxDB 3 Core scans at most ~72 h), except
            # the per-session summaries: one small point per session, listed whatever the range
            assert "$timeFilter" in target["query"] or 'FROM "summary"' in target["query"], \
                (panel["title"], target["query"])
    for target in targets_of(name, body):
        if target.kind not in ("variable",):
            assert "SELECT *" not in target.query  # alert has both a device tag and field


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_units_placement_and_the_pta_label(name: str) -> None:
    for panel in _panels(DASHBOARDS[name]):
        unit = panel["fieldConfig"]["defaults"].get("unit")
        if panel["type"] == "xychart":  # one unit per axis, set on its field
            units = {o["matcher"]["options"]: {p["id"]: p["value"] for p in o["properties"]}
                     .get("unit") for o in panel["fieldConfig"]["overrides"]}
            assert units == {"cadence_spm": "suffix: spm", "impact_g": "accG"}, units
        elif panel["type"] not in ("table", "state-timeline"):
            assert unit, f"{panel['title']}: no unit"
        queries = " ".join(t["query"] for t in panel["targets"])
        if '"impact_g"' in queries or "impact_baseline_g" in queries:
            assert "PTA marker" in panel["title"], panel["title"]
            assert "not a measure of bone load" in panel["description"], panel["title"]
            assert unit in ("accG", "percent", None), (panel["title"], unit)
        if "cadence_spm" in queries and panel["type"] == "timeseries":
            assert unit in ("suffix: spm", "percent"), (panel["title"], unit)
        for target in panel["targets"]:
            if '"side"' in target["query"] and target.get("alias"):
                # the legend of a per-leg series names placement and leg
                assert "$tag_placement" in target["alias"], target


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_athlete_and_session_variables(name: str) -> None:
    variables = {v["name"]: v for v in variables_of(DASHBOARDS[name])}
    assert "athlete" in variables
    if name != "footfall-history.json":
        assert "session" in variables
    for variable in variables.values():
        # single-select: Grafana then pastes the raw value, which the '$var' literals rely on
        assert variable["multi"] is False and variable["includeAll"] is False
        if variable["type"] == "query":
            assert variable["query"].startswith("SHOW TAG VALUES")


def test_alerts_are_annotations_on_live_and_review() -> None:
    for name in ("footfall-live.json", "footfall-review.json"):
        annotations = DASHBOARDS[name]["annotations"]["list"]
        alerts = [a for a in annotations if a.get("name") == "footfall alerts"]
        assert len(alerts) == 1
        assert 'FROM "alert"' in alerts[0]["query"] and alerts[0]["textColumn"] == "message"


def test_provisioning_files_read_back_as_generated() -> None:
    assert yaml.safe_load(FILES["provisioning/datasources/footfall.yaml"]) == \
        provisioning.datasource()
    assert yaml.safe_load(FILES["provisioning/dashboards/footfall.yaml"]) == \
        provisioning.dashboard_provider()
    assert yaml.safe_load(FILES["provisioning/alerting/footfall-rules.yaml"]) == \
        json.loads(json.dumps(provisioning.alert_rules()))


def test_datasource_is_influxql_without_a_password_in_the_file() -> None:
    (source,) = provisioning.datasource()["datasources"]  # type: ignore[index]
    assert source["type"] == "influxdb" and source["uid"] == DATASOURCE_UID
    assert "version" not in source["jsonData"]  # InfluxQL is the default query language
    assert source["secureJsonData"]["password"].startswith("$")  # from Grafana's environment


def test_alert_rules_evaluate_influxql_per_device() -> None:
    (group,) = provisioning.alert_rules()["groups"]  # type: ignore[index]
    assert {r["uid"] for r in group["rules"]} == {r.uid for r in provisioning.rules()}
    # one Grafana rule per processor rule: the processor is the one place alerts are judged
    assert sorted(r.rule for r in provisioning.rules()) == sorted(RULES)
    for rule in group["rules"]:
        query = rule["data"][0]
        assert query["datasourceUid"] == DATASOURCE_UID
        assert query["model"]["rawQuery"] is True
        assert '"device"' in query["model"]["query"]
        assert rule["noDataState"] == "OK"
        for_s = int(rule["for"].removesuffix("s"))
        assert for_s % provisioning.EVALUATION_INTERVAL_S == 0
        assert "$" not in json.dumps(rule["labels"])  # labels are env-interpolated by Grafana
