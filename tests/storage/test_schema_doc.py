"""docs/wire.md carries the InfluxDB schema that the wire declarations give, exactly."""

from __future__ import annotations

import re
from pathlib import Path

from footfall.storage.schema import MEASUREMENTS, markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "wire.md"


def test_the_documented_schema_is_the_derived_one() -> None:
    text = DOC.read_text(encoding="utf-8")
    found = re.search(r"<!-- schema:begin[^>]*-->\n(.*?)<!-- schema:end -->", text, re.S)
    assert found, "docs/wire.md lost its schema markers"
    assert found.group(1) == markdown(), (
        "docs/wire.md's schema is out of date: paste `python -m footfall.storage.schema`")


def test_every_stored_field_has_one_type_and_units_in_its_name() -> None:
    for m in MEASUREMENTS.values():
        for name, kind in m.fields.items():
            if kind == "float" and name not in ("confidence", "value"):
                assert re.search(r"_(g|spm|pct|s|mps|kmh|hz|gps|ms|m|min)$", name), (m.name, name)
