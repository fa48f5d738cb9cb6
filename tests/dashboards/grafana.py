"""What Grafana does to a dashboard's InfluxQL before it sends it, for the tests.

Grafana's InfluxDB datasource (InfluxQL, raw query mode) replaces ``$timeFilter`` with
``time >= <from>ms and time <= <to>ms`` for an absolute range, ``$__interval`` with the
interval it computed for the panel (never below the datasource's or panel's minimum), and a
template variable with its value — in a panel's query the raw value for a single-select
variable (neither ``multi`` nor ``includeAll``; ``interpolateQueryExpr`` in Grafana's influxdb
datasource), in a variable's or annotation's query the regex-escaped value (``metricFindQuery``
and ``annotationEvents`` interpolate with the "regex" format).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

_VARIABLE = re.compile(r"\$\{(\w+)\}|\$(\w+)|\[\[(\w+)\]\]")


class UnknownVariableError(KeyError):
    """A query uses a ``$name`` neither Grafana nor the dashboard defines."""


def regex_escape(value: str) -> str:
    """Grafana's ``escapeRegex`` (the "regex" variable format)."""
    return re.sub(r"[\\^$*+?.()|\[\]{}/]", lambda m: "\\" + m.group(0), value)


def interpolate(query: str, *, from_ms: int, to_ms: int, interval: str,
                variables: Mapping[str, str], regex_format: bool = False) -> str:
    """``query`` as Grafana sends it; ``regex_format`` for variable and annotation queries,
    which the InfluxDB datasource interpolates with ``templateSrv.replace(q, _, 'regex')``."""
    if regex_format:
        variables = {name: regex_escape(value) for name, value in variables.items()}
    values = {
        "timeFilter": f"time >= {from_ms}ms and time <= {to_ms}ms",
        "__interval": interval,
        "__interval_ms": str(_interval_ms(interval)),
        **variables,
    }

    def replace(match: re.Match[str]) -> str:
        name = next(g for g in match.groups() if g is not None)
        if name not in values:
            raise UnknownVariableError(f"{name!r} in {query!r}")
        return values[name]

    return _VARIABLE.sub(replace, query)


def _interval_ms(interval: str) -> int:
    number, unit = re.fullmatch(r"(\d+)(ms|s|m|h|d)", interval).groups()  # type: ignore[union-attr]
    return int(number) * {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}[unit]


@dataclass(frozen=True)
class Target:
    """One query of a dashboard: where it is, its text, and what its panel reads from it."""

    dashboard: str
    where: str  # panel title, "variable x" or "annotation x"
    kind: str  # panel type, "variable" or "annotation"
    query: str
    panel: Mapping[str, Any]


def variables_of(dashboard: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list(dashboard.get("templating", {}).get("list", []))


def current_values(dashboard: Mapping[str, Any], ids: Mapping[str, str]) -> dict[str, str]:
    """Each variable's value: ``ids`` for query variables, the saved current for the others."""
    out = {}
    for variable in variables_of(dashboard):
        name = variable["name"]
        out[name] = ids[name] if variable["type"] == "query" else variable["current"]["value"]
    return out


def targets_of(name: str, dashboard: Mapping[str, Any]) -> Iterator[Target]:
    for variable in variables_of(dashboard):
        if variable["type"] == "query":
            yield Target(name, f"variable {variable['name']}", "variable", variable["query"],
                         variable)
    for annotation in dashboard.get("annotations", {}).get("list", []):
        if "query" in annotation:
            yield Target(name, f"annotation {annotation['name']}", "annotation",
                         annotation["query"], annotation)
    for panel in _panels(dashboard.get("panels", [])):
        for target in panel.get("targets") or []:
            yield Target(name, f"{panel['title']} [{target['refId']}]", panel["type"],
                         target["query"], panel)


def _panels(panels: list[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    for panel in panels:
        if panel.get("type") == "row":
            yield from _panels(panel.get("panels") or [])
        else:
            yield panel
