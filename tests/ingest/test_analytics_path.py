"""A synthetic runner played through each device emulator and the gateway's drivers gives the
processor the true cadence: the BLE path (parsers, unit conversion, clocks) keeps the gait."""

from __future__ import annotations

import random

import numpy as np
import pytest

from footfall.ingest.drivers import DeviceSpec, make_driver
from footfall.processing.offline import analyze_frames
from footfall.simulators.devices.play import notifications
from footfall.simulators.runner import RunnerParams, synthesize
from footfall.wire.events import RscSample
from footfall.wire.frame import ImuFrame

T0 = 1_795_000_000_000_000_000
CADENCE = 172.0


@pytest.mark.parametrize("profile,rate,per_notification,range_g", [
    ("footfall", 400, 10, 16),
    ("polar-pmd", 200, 36, 8),  # an H10 at ±8 g: tibial peaks clip, cadence must not suffer
    ("movesense", 208, 8, 16),
    ("witmotion", 200, 1, 16),
])
def test_cadence_survives_the_ble_path(profile: str, rate: int, per_notification: int,
                                       range_g: int) -> None:
    run = synthesize(RunnerParams(sample_rate_hz=rate, accel_range_g=16, placement="tibia",
                                  side="left", cadence_spm=CADENCE, seed=3), 60.0)
    driver = make_driver(DeviceSpec("EE:01", profile, "tibia", "left", sample_rate_hz=rate,
                                    accel_range_g=range_g))
    rng = random.Random(5)
    frames: list[ImuFrame] = []
    for due_s, batch in notifications(run, profile, samples_per_notification=per_notification,
                                      range_g=range_g):
        recv_ns = T0 + round((due_s + rng.uniform(0.005, 0.04)) * 1e9)  # BLE latency
        for uuid, data in batch:
            frames += [o for o in driver.handle(uuid, data, recv_ns) if isinstance(o, ImuFrame)]
    assert driver.stats.gaps == 0 and driver.stats.rejected == 0
    assert sum(f.n_samples for f in frames) == run.n_samples // per_notification * \
        per_notification
    summary = analyze_frames(frames, placement="tibia", side="left").summary()
    assert summary["cadence_spm"] == pytest.approx(CADENCE, abs=1.0)
    truth_steps = len(run.truth.own())
    assert summary["steps"] == pytest.approx(truth_steps, abs=2)


def test_foot_pod_cadence_survives_the_ble_path() -> None:
    run = synthesize(RunnerParams(sample_rate_hz=100, placement="foot", side="left",
                                  cadence_spm=CADENCE), 30.0)
    driver = make_driver(DeviceSpec("EE:02", "rsc", "foot", "left"))  # auto cadence mode
    samples = [o for t, batch in notifications(run, "rsc") for uuid, data in batch
               for o in driver.handle(uuid, data, T0 + round(t * 1e9))
               if isinstance(o, RscSample)]
    assert len(samples) == 30
    # the pod sends per-leg cadence as a whole number: 86/min, doubled back to 172
    assert np.median([s.cadence_spm for s in samples]) == pytest.approx(CADENCE, abs=2.0)
