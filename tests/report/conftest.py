"""Six weekly visits of one athlete in a real InfluxDB (history.py), built once for the
report, sessions, load and dashboard-history tests."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from footfall.stack.servers import Server
from footfall.storage.influx import InfluxTarget
from tests.report.history import write_history


@dataclass(frozen=True)
class History:
    url: str
    database: str
    athlete: str

    @property
    def flags(self) -> list[str]:
        return ["--influx-url", self.url, "--influx-database", self.database,
                "--athlete", self.athlete]

    def query(self, q: str) -> list[dict[str, Any]]:
        """InfluxQL rows, tags merged in (the test's own reading, not footfall's)."""
        response = httpx.get(f"{self.url}/query", params={"db": self.database, "q": q,
                                                          "epoch": "ms"}, timeout=30)
        response.raise_for_status()
        out = []
        for series in response.json()["results"][0].get("series", []):
            for values in series["values"]:
                out.append({**(series.get("tags") or {}),
                            **dict(zip(series["columns"], values, strict=True))})
        return out


@pytest.fixture(scope="package")
def history(influxdb: Server) -> Iterator[History]:
    unique = uuid.uuid4().hex[:8]
    found = History(influxdb.url, f"report_{unique}", "anna")  # its own database
    asyncio.run(write_history(InfluxTarget(found.url, found.database), found.athlete))
    yield found
