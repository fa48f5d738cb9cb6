"""Real servers for the tests: a Mosquitto and an InfluxDB on free loopback ports.

They are started with the same code and config files as ``footfall stack up``. When a binary is
missing the tests that need it are skipped locally, and fail under CI (``CI=true``): a missing
server must never turn a red run green.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import hypothesis  # noqa: F401  (see below)
import pytest

from footfall.config.settings import Settings, load_settings
from footfall.stack.servers import INSTALL_HINT, Server, find_binary, free_port
from tests import COMPILED

# hypothesis is imported here, at collection, on purpose: otherwise its pytest plugin imports it
# lazily in the terminal summary, deep in pytest's stack, where pytest's assertion rewriting
# trips CPython 3.11.7's "AST constructor recursion depth mismatch" and fails a green run.
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

if COMPILED:  # tests/__init__.py put the compiled build first: make sure it is what runs
    import footfall

    if not footfall.compiled() or not footfall.__file__.startswith(COMPILED):
        raise RuntimeError(f"FOOTFALL_COMPILED={COMPILED} but footfall was imported from "
                           f"{footfall.__file__}, not compiled: run scripts/build-compiled")


def _require(binary: str) -> None:
    if find_binary(binary) is None:
        message = f"{binary} is not installed. {INSTALL_HINT}"
        if IN_CI:
            pytest.fail(f"CI=true and {message}", pytrace=False)
        pytest.skip(message)


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    _require("mosquitto")
    server = Server("mosquitto", tmp_path_factory.mktemp("mosquitto"), "127.0.0.1", free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def influxdb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    _require("influxd")
    server = Server("influxdb", tmp_path_factory.mktemp("influxdb"), "127.0.0.1", free_port(),
                    rpc_port=free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def settings(mosquitto: Server, influxdb: Server, tmp_path: Path) -> Settings:
    """Settings pointing at the test servers, with a unique athlete, session and database."""
    unique = uuid.uuid4().hex[:10]
    return load_settings(
        mqtt_url=mosquitto.url,
        influx_url=influxdb.url,
        influx_database=f"test_{unique}",
        athlete=f"a{unique}",
        session=f"s{unique}",
        state_dir=tmp_path / "state",
    )
