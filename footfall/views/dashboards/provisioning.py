"""Grafana provisioning: the InfluxDB datasource, the dashboard provider and the alert rules.

Grafana reads these files at start (docker-compose mounts ``dashboards/provisioning`` at
``/etc/grafana/provisioning``). The alert rules mirror the processor's own alert rules
(:mod:`footfall.processing.alerts`) with the same thresholds, so that Grafana can route them to
a contact point (e-mail, chat) — the processor's alerts only reach MQTT and the dashboards.
"""

from __future__ import annotations

from dataclasses import dataclass

from footfall.config.analysis import AlertConfig
from footfall.views.dashboards.influxql import DATASOURCE_TYPE, DATASOURCE_UID

#: where docker-compose mounts dashboards/json inside the Grafana container
DASHBOARDS_PATH = "/etc/grafana/dashboards/footfall"
FOLDER = "footfall"
#: the InfluxDB service of docker-compose.yml and the database footfall writes
INFLUX_URL = "http://influxdb:8086"
INFLUX_DATABASE = "footfall"
#: Grafana-managed alerts evaluate every 10 s by default (stack.md)
EVALUATION_INTERVAL_S = 10
SERIES = '"athlete", "session", "device"'
#: Grafana's server-side expressions (reduce, threshold) as a "datasource"
EXPRESSION = {"type": "__expr__", "uid": "__expr__"}


def datasource() -> dict[str, object]:
    # $VARS are expanded by Grafana from its environment (docker-compose passes them)
    return {
        "apiVersion": 1,
        "datasources": [{
            "name": "footfall InfluxDB",
            "uid": DATASOURCE_UID,
            "type": DATASOURCE_TYPE,
            "access": "proxy",
            "url": INFLUX_URL,
            "user": "$INFLUXDB_READ_USER",
            "isDefault": True,
            "editable": False,
            "jsonData": {
                "dbName": INFLUX_DATABASE,
                "httpMode": "GET",
                # metrics are per second: no panel asks for finer buckets
                "timeInterval": "1s",
            },
            "secureJsonData": {"password": "$INFLUXDB_READ_USER_PASSWORD"},
        }],
    }


def dashboard_provider() -> dict[str, object]:
    return {
        "apiVersion": 1,
        "providers": [{
            "name": "footfall",
            "orgId": 1,
            "folder": FOLDER,
            "type": "file",
            "disableDeletion": True,
            "allowUiUpdates": False,
            "updateIntervalSeconds": 30,
            "options": {"path": DASHBOARDS_PATH, "foldersFromFilesStructure": False},
        }],
    }


#: Thresholds of the Grafana rules and the dashboards' threshold lines: the processor's own alert
#: defaults (footfall.processing.tuning.AlertConfig, docs/alerts.md), read from it so the two
#: never disagree. The windows differ: a Grafana rule judges per-second metrics, the processor
#: K of M strikes with per-rule holds. (Per-athlete overrides apply to the processor only.)
_DEFAULTS = AlertConfig()
CLIPPING_PCT = _DEFAULTS.clipping_start_pct
PACKET_LOSS_PCT = _DEFAULTS.packet_loss_start_pct
CADENCE_DRIFT_PCT = -_DEFAULTS.cadence_drift_pct  # a fall: the drift is negative
IMPACT_RISE_PCT = _DEFAULTS.impact_rise_pct
#: the processor holds quality alerts 3 s and drift 15 s; a Grafana pending period is a
#: multiple of the evaluation interval, so round up
QUALITY_HOLD_S = 10
DRIFT_HOLD_S = 20


@dataclass(frozen=True, slots=True)
class Rule:
    """One Grafana alert rule over a metrics field, per athlete/session/device."""

    uid: str
    title: str
    field: str
    evaluator: str  # "gt" | "lt"
    threshold: float
    window_s: int
    for_s: int
    severity: str
    summary: str

    def query(self) -> str:
        return (f'SELECT mean("{self.field}") FROM "metrics" WHERE $timeFilter '
                f"GROUP BY {SERIES}")


def rules() -> list[Rule]:
    return [
        Rule("footfall-clipping", "Impact peaks clipped", "clipping_pct", "gt",
             CLIPPING_PCT, 30, QUALITY_HOLD_S, "warning",
             "Impact peaks hit the sensor's full-scale range: PTA is underestimated (use a "
             "≥ ±32 g sensor)."),
        Rule("footfall-packet-loss", "Sensor data lost", "packet_loss_pct", "gt",
             PACKET_LOSS_PCT, 30, QUALITY_HOLD_S, "warning",
             "Samples are lost between sensor and processor: steps may be missed."),
        Rule("footfall-cadence-drift", "Cadence below baseline", "cadence_drift_pct", "lt",
             CADENCE_DRIFT_PCT, 30, DRIFT_HOLD_S, "info",
             "Cadence is below the session's baseline beyond what speed explains: possible "
             "fatigue."),
        Rule("footfall-impact-rise", "Impact above baseline", "impact_drift_pct", "gt",
             IMPACT_RISE_PCT, 30, DRIFT_HOLD_S, "info",
             "Impact (PTA marker) is above the session's baseline."),
    ]


def _rule_json(rule: Rule) -> dict[str, object]:
    return {
        "uid": rule.uid,
        "title": rule.title,
        "condition": "C",
        "data": [
            {"refId": "A", "relativeTimeRange": {"from": rule.window_s, "to": 0},
             "datasourceUid": DATASOURCE_UID,
             "model": {"refId": "A", "datasource": {"type": DATASOURCE_TYPE,
                                                    "uid": DATASOURCE_UID},
                       "query": rule.query(), "rawQuery": True,
                       "resultFormat": "time_series", "intervalMs": 1000,
                       "maxDataPoints": 43200}},
            {"refId": "B", "relativeTimeRange": {"from": 0, "to": 0},
             "datasourceUid": "__expr__",
             "model": {"refId": "B", "datasource": EXPRESSION, "type": "reduce",
                       "expression": "A", "reducer": "last", "settings": {"mode": "dropNN"}}},
            {"refId": "C", "relativeTimeRange": {"from": 0, "to": 0},
             "datasourceUid": "__expr__",
             "model": {"refId": "C", "datasource": EXPRESSION, "type": "threshold",
                       "expression": "B",
                       "conditions": [{"evaluator": {"type": rule.evaluator,
                                                     "params": [rule.threshold]}}]}},
        ],
        # no running session means no data: that is not a problem
        "noDataState": "OK",
        "execErrState": "Error",
        "for": f"{rule.for_s}s",
        "annotations": {
            "summary": rule.summary,
            "description": (f"{rule.field} (mean over the last {rule.window_s} s) is "
                            f"{{{{ $values.B }}}} %, threshold {rule.threshold:g} %: athlete "
                            "{{ $labels.athlete }}, session {{ $labels.session }}, device "
                            "{{ $labels.device }}."),
        },
        "labels": {"severity": rule.severity, "source": "footfall"},
        "isPaused": False,
    }


def alert_rules() -> dict[str, object]:
    return {
        "apiVersion": 1,
        "groups": [{
            "orgId": 1,
            "name": "footfall",
            "folder": FOLDER,
            "interval": f"{EVALUATION_INTERVAL_S}s",
            "rules": [_rule_json(rule) for rule in rules()],
        }],
    }
