"""An InfluxQL dataquery for grafana-foundation-sdk, which ships no InfluxDB query builder.

:class:`InfluxQL` is both the builder (``Panel.with_target(InfluxQL(...))``) and the built
query (``to_json()`` gives the target JSON Grafana's InfluxDB datasource reads in InfluxQL
mode: ``query`` + ``rawQuery: true``). Every query footfall puts in a dashboard is raw InfluxQL,
so the same text is what the tests run against a real InfluxDB (docs/dashboards.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Self

from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.models import dashboard

#: provisioned by dashboards/provisioning/datasources/footfall.yaml
DATASOURCE_UID = "footfall-influxdb"
DATASOURCE_TYPE = "influxdb"
DATASOURCE = dashboard.DataSourceRef(type_val=DATASOURCE_TYPE, uid=DATASOURCE_UID)

ResultFormat = Literal["time_series", "table"]


@dataclass(slots=True)
class InfluxQL(cogvariants.Dataquery, cogbuilder.Builder[cogvariants.Dataquery]):
    """One raw InfluxQL target.

    ``alias`` names time series the Grafana way (``$tag_side``, ``$col``); ``ref_id`` is set by
    the panel helpers when left empty.
    """

    query: str
    ref_id: str = ""
    alias: str = ""
    result_format: ResultFormat = "time_series"
    hide: bool = False

    def build(self) -> Self:
        return self

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "datasource": DATASOURCE.to_json(),
            "query": self.query,
            "rawQuery": True,
            "refId": self.ref_id,
            "resultFormat": self.result_format,
        }
        if self.alias:
            out["alias"] = self.alias
        if self.hide:
            out["hide"] = True
        return out


def annotation(name: str, query: str, *, text_column: str, tags_columns: list[str],
               icon_color: str) -> dict[str, object]:
    """An InfluxQL annotation query (the SDK's AnnotationQuery has no field for the query).

    Grafana's InfluxDB datasource (InfluxQL mode) reads ``query`` and maps columns to the
    annotation through ``textColumn``/``tagsColumn``.
    """
    return {
        "datasource": DATASOURCE.to_json(),
        "enable": True,
        "hide": False,
        "iconColor": icon_color,
        "name": name,
        "query": query,
        "rawQuery": True,
        "tagsColumn": ",".join(tags_columns),
        "textColumn": text_column,
    }
