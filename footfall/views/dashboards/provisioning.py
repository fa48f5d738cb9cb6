"""Grafana provisioning: the InfluxDB datasource, the dashboard provider and the alert rules.

Grafana reads these files at start (docker-compose mounts ``dashboards/provisioning`` at
``/etc/grafana/provisioning``). The alert rules mirror the processor's own alert rules
(:mod:`footfall.processing.alerts`) with the same thresholds, so that Grafana can route them to
a contact point (e-mail, chat) — the processor's alerts only reach MQTT and the dashboards.
"""

from __future__ import annotations

from dataclasses import dataclass

from footfall.config.analysis import AlertConfig
from footfall.processing.alerts import (
    CONNECTIVITY_RULES,
    RULES,
    SESSION_RULES,
    SEVERITY,
)
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


#: The dashboards' threshold lines: the processor's own alert thresholds (AlertConfig
#: defaults, docs/alerts.md), read from it so the two never disagree.
_DEFAULTS = AlertConfig()
CLIPPING_PCT = _DEFAULTS.clipping_start_pct
PACKET_LOSS_PCT = _DEFAULTS.packet_loss_start_pct
CADENCE_DRIFT_PCT = -_DEFAULTS.cadence_drift_pct  # a fall: the drift is negative
IMPACT_RISE_PCT = _DEFAULTS.impact_rise_pct
#: how far back a data rule looks for the processor's latest per-second state: a session that
#: stopped stops firing; how far back a connectivity rule looks for the last start/clear
DATA_WINDOW_S = 30
CONNECTIVITY_WINDOW_S = 3600


@dataclass(frozen=True, slots=True)
class Rule:
    """One Grafana alert rule: the state of one of the processor's rules.

    The processor is the one place alerts are judged (its windows, holds and per-athlete
    thresholds, processing/alerts.py); Grafana only notifies. A data rule reads the
    ``<rule>_alert`` flag the processor writes every second with a device's metrics (or the
    session's combined figures); a connectivity rule reads the last start/clear of the
    ``alert`` measurement, since an offline device writes no metrics.
    """

    rule: str
    scope: str  # "device" | "session" | "connectivity"
    severity: str
    summary: str

    @property
    def uid(self) -> str:
        return f"footfall-{self.rule.replace('_', '-')}"

    @property
    def title(self) -> str:
        return self.rule.replace("_", " ")

    @property
    def window_s(self) -> int:
        return CONNECTIVITY_WINDOW_S if self.scope == "connectivity" else DATA_WINDOW_S

    def query(self) -> str:
        if self.scope == "connectivity":
            return (f'SELECT last("active") FROM "alert" WHERE "rule" = \'{self.rule}\' AND '
                    f"$timeFilter GROUP BY {SERIES}")
        measurement = "session_metrics" if self.scope == "session" else "metrics"
        return (f'SELECT last("{self.rule}_alert") FROM "{measurement}" WHERE $timeFilter '
                f"GROUP BY {SERIES}")


SUMMARIES = {
    "impact": "Impact (PTA marker) is high against the athlete's baseline or limit.",
    "cadence_target": "Cadence is below the retraining target.",
    "cadence_drift": "Cadence is below the session's baseline beyond what speed explains: "
                     "possible fatigue.",
    "asymmetry": "One leg lands much harder than the other.",
    "clipping": "Impact peaks hit the sensor's full-scale range: PTA is underestimated (use a "
                "≥ ±32 g sensor).",
    "packet_loss": "Samples are lost between sensor and processor: steps may be missed.",
    "sensor_offline": "A sensor went offline during its session.",
    "no_data": "A sensor sent nothing for a while during its session.",
}


def rules() -> list[Rule]:
    """One Grafana rule per processor rule, with its severity."""
    def scope(rule: str) -> str:
        return "session" if rule in SESSION_RULES else "connectivity" \
            if rule in CONNECTIVITY_RULES else "device"

    return [Rule(rule, scope(rule), SEVERITY[rule], SUMMARIES[rule]) for rule in RULES]


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
                       "conditions": [{"evaluator": {"type": "gt", "params": [0.5]}}]}},
        ],
        # no running session means no data: that is not a problem
        "noDataState": "OK",
        "execErrState": "Error",
        "for": "0s",  # the processor already held the condition for the rule's hold time
        "annotations": {
            "summary": rule.summary,
            "description": (f"footfall's {rule.rule} alert is on (docs/alerts.md): athlete "
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
