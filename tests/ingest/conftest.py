"""A restartable Mosquitto for the gateway tests (the shared session broker must not restart).

It is the same :class:`~footfall.stack.servers.Server` and generated config as ``footfall stack
up`` and the shared fixture (persistence with autosave, the shared queue limits), in the test's
own temp dir: a restart mid-test keeps the test subscriber's persistent session and its queued
QoS 1 messages, exactly what a production broker is configured to do. Under ``CI=true`` a
missing mosquitto fails the test instead of skipping it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from footfall.stack.servers import Server, free_port
from tests.conftest import _require

Broker = Server  # what these tests call it


def new_broker(folder: Path) -> Server:
    """A broker (not started) on a free loopback port, its files in ``folder``."""
    return Server("mosquitto", folder, "127.0.0.1", free_port())


@pytest.fixture
def ingest_broker(tmp_path: Path) -> Iterator[Server]:
    _require("mosquitto")
    broker = new_broker(tmp_path / "mosquitto")
    broker.start()
    yield broker
    broker.stop()
