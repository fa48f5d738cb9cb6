"""Fixtures for the simulator tests: small synthetic sessions and a unique topic namespace."""

from __future__ import annotations

import uuid
from dataclasses import replace
from pathlib import Path

import pytest

from footfall.config.settings import Settings, load_settings
from footfall.simulators.runner import RunnerParams, SyntheticRun, render, simulate_gait
from footfall.simulators.synthetic import write_synthetic_session
from footfall.stack.servers import Server

DATA = Path(__file__).resolve().parents[1] / "data"
START_UTC_NS = 1_768_467_600_000_000_000  # 2026-01-15T09:00:00Z


def two_tibias(duration_s: float, seed: int = 11) -> dict[str, SyntheticRun]:
    params = RunnerParams(seed=seed)
    gait = simulate_gait(params, duration_s)
    return {"tibia-left": render(gait, replace(params, side="left")),
            "tibia-right": render(gait, replace(params, side="right"))}


@pytest.fixture
def short_session(tmp_path: Path) -> Path:
    """4 s, two tibia sensors at 1 kHz, athlete ``sim``/session ``short``."""
    path = tmp_path / "short.mcap"
    write_synthetic_session(path, two_tibias(4.0), athlete="sim", session="short",
                            start_utc_ns=START_UTC_NS)
    return path


@pytest.fixture
def broker_settings(mosquitto: Server, tmp_path: Path) -> Settings:
    """Settings for the test broker with a unique athlete id (topics never collide)."""
    unique = uuid.uuid4().hex[:10]
    return load_settings(mqtt_url=mosquitto.url, athlete=f"a{unique}", session=f"s{unique}",
                         state_dir=tmp_path / "state")
