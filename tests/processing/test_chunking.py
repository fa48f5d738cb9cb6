"""One code path: any split of a stream into frames gives exactly the one-call result."""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from footfall.config.analysis import AnalysisConfig
from footfall.core.vocab import Placement, Side
from footfall.processing.offline import analyze_accel

from .synth import leg_run

# short baseline so the drift fields are exercised too
CONFIG = AnalysisConfig(warmup_s=2.0, baseline_s=3.0)


@cache
def _runs() -> dict[str, tuple[np.ndarray, float, int]]:
    tibia = leg_run(duration_s=12, cadence_spm=(np.linspace(165, 180, 121)), impact_g=11.0)
    sacrum = leg_run(duration_s=12, cadence_spm=185, placement="sacrum", impact_g=2.6,
                     sample_rate_hz=500, seed=3)
    # the tibia run at ±8 g clips most peaks: clipping must be split-proof too
    return {"tibia": (tibia.accel_g, 1000.0, 8), "sacrum": (sacrum.accel_g, 500.0, 8)}


def _events(placement: str, sizes: list[int] | None) -> list[dict[str, Any]]:
    accel, fs, rng = _runs()[placement]
    result = analyze_accel(accel, fs, accel_range_g=rng, placement=placement, side="left",
                           config=CONFIG, frame_sizes=sizes or [accel.shape[0]])
    return [e.to_dict() for e in (*result.steps, *result.metrics, *result.alerts)]


@cache
def _one_call(placement: str) -> list[dict[str, Any]]:
    return _events(placement, None)


@st.composite
def splits(draw: st.DrawFn, n: int) -> list[int]:
    cuts = sorted(set(draw(st.lists(st.integers(1, n - 1), max_size=60))))
    bounds = [0, *cuts, n]
    return [b - a for a, b in pairwise(bounds)]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), placement=st.sampled_from(["tibia", "sacrum"]))
def test_any_split_gives_identical_events(data: st.DataObject, placement: str) -> None:
    n = _runs()[placement][0].shape[0]
    sizes = data.draw(splits(n))
    assert _events(placement, sizes) == _one_call(placement)


def test_tiny_frames_give_identical_events() -> None:
    rng = np.random.default_rng(1)
    n = _runs()["tibia"][0].shape[0]
    sizes = [int(k) for k in rng.integers(1, 4, size=(n,))]
    reference = _one_call("tibia")
    assert _events("tibia", sizes) == reference
    steps = [e for e in reference if e["type"] == "step"]
    assert len(steps) > 12 and any(e["clipped"] for e in steps)
    assert any(e["type"] == "metrics" and e["cadence_drift_pct"] is not None for e in reference)


@cache
def _gappy() -> tuple[np.ndarray, np.ndarray]:
    """A tibia run with two holes in its timeline (samples never sent)."""
    accel, _, _ = _runs()["tibia"]
    time_s = np.arange(accel.shape[0]) / 1000.0
    keep = np.ones(accel.shape[0], dtype=bool)
    keep[3000:3400] = keep[7000:7050] = False
    return accel[keep], time_s[keep]


def _gappy_steps(sizes: list[int] | None) -> list[dict[str, Any]]:
    accel, time_s = _gappy()
    result = analyze_accel(accel, 1000.0, accel_range_g=8, time_s=time_s, config=CONFIG,
                           frame_sizes=sizes)
    return [e.to_dict() for e in result.steps]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_split_around_gaps_gives_identical_steps(data: st.DataObject) -> None:
    n = _gappy()[0].shape[0]
    sizes = data.draw(splits(n))
    reference = _gappy_steps([n])
    assert len(reference) > 10
    assert _gappy_steps(sizes) == reference


@cache
def _realistic() -> tuple[np.ndarray, float, float]:
    """A 200 Hz right-tibia run whose sensor saturates at ±8 g but says ±16 g (so only the
    observed rail shows the clipping), that starts with the *other* leg's strike (an echo the
    detector must hold back and drop), stops for 12 s standing in the middle (a pause) and
    runs again. Returns (accel, rate, the first own strike's time)."""
    from footfall.simulators.runner import RunnerParams, synthesize

    rate = 200.0
    params = RunnerParams(side="right", first_strike_side="left", sample_rate_hz=rate,
                          accel_range_g=8, seed=4)
    run = synthesize(params, 24.0)
    rng = np.random.default_rng(9)
    standing = np.zeros((round(12 * rate), 3))
    standing[:, 0] = 1.0
    standing += 0.02 * rng.standard_normal(standing.shape)
    half = run.n_samples // 2
    accel = np.concatenate((run.accel_g[:half], standing, run.accel_g[half:]))
    return accel, rate, float(run.truth.own().time_s[0])


def _realistic_events(sizes: list[int] | None) -> list[dict[str, Any]]:
    accel, rate, _ = _realistic()
    result = analyze_accel(accel, rate, accel_range_g=16, placement="tibia", side="right",
                           config=CONFIG, frame_sizes=sizes or [accel.shape[0]])
    return [e.to_dict() for e in (*result.steps, *result.metrics, *result.alerts,
                                  *result.pauses)] + [result.summary()]


@cache
def _realistic_one_call() -> list[dict[str, Any]]:
    return _realistic_events(None)


def test_the_realistic_run_exercises_hold_pause_and_clipping() -> None:
    events = _realistic_one_call()
    steps = [e for e in events if e.get("type") == "step"]
    pauses = [e for e in events if e.get("type") == "pause"]
    assert len(pauses) == 1 and pauses[0]["kind"] == "stop"
    assert 11.0 < pauses[0]["duration_s"] < 13.5
    assert {e["clip_rule"] for e in steps if e["clipped"]} == {"rail"}
    # the other leg's echo came first; the first step is this leg's own strike, held first
    assert steps[0]["sensor_time_s"] == pytest.approx(_realistic()[2], abs=0.02)
    assert steps[0]["confirm_delay_ms"] > 100
    summary = events[-1]
    assert summary["pauses"] == 1 and summary["paused_s"] > 11.0


def _held_across_a_hole(sizes: list[int] | None) -> list[dict[str, Any]]:
    """The realistic run with 50 samples lost at 0.4 s, while its first strikes are held."""
    accel, rate, _ = _realistic()
    time_s = np.arange(accel.shape[0]) / rate
    keep = np.ones(accel.shape[0], dtype=bool)
    keep[80:130] = False
    result = analyze_accel(accel[keep], rate, accel_range_g=16, placement="tibia",
                           side="right", config=CONFIG, time_s=time_s[keep],
                           frame_sizes=sizes or [int(keep.sum())])
    return [e.to_dict() for e in (*result.steps, *result.pauses)]


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_strikes_held_across_a_data_hole_come_out_the_same_however_split(
        data: st.DataObject) -> None:
    reference = _held_across_a_hole(None)
    times = [e["sensor_time_s"] for e in reference if e.get("type") == "step"]
    assert times == sorted(times) and len(times) > 20
    n = int(np.count_nonzero(np.ones(_realistic()[0].shape[0], dtype=bool)) - 50)
    assert _held_across_a_hole(data.draw(splits(n))) == reference


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_split_of_a_run_with_an_echo_a_pause_and_clipping_gives_identical_events(
        data: st.DataObject) -> None:
    n = _realistic()[0].shape[0]
    assert _realistic_events(data.draw(splits(n))) == _realistic_one_call()


# -- session files: the same messages, re-framed -----------------------------------------------

@cache
def _legs() -> dict[str, tuple[np.ndarray, int]]:
    """Two tibia sensors of one synthetic runner at 500 Hz, as int16 counts (±16 g)."""
    from footfall.simulators.runner import RunnerParams, render, simulate_gait

    params = RunnerParams(sample_rate_hz=500.0, accel_range_g=16, seed=11,
                          fatigue_start_fraction=0.4, fatigue_pta_rise_pct=25.0)
    gait = simulate_gait(params, 20.0)
    return {f"tibia-{side}": (render(gait, replace(params, side=side)).counts, 16)
            for side in (Side.LEFT, Side.RIGHT)}


def _session_events(tmp: Path, sizes: dict[str, list[int]] | None) -> list[dict[str, Any]]:
    """A session file of both legs (frames of ``sizes`` samples), with a "baseline now" and a
    target, analysed like ``footfall analyze`` does: every event, in order, per device."""
    from footfall.processing.offline import analyze_messages
    from footfall.recordings.framing import frame_counts
    from footfall.recordings.session_file import SessionWriter, iter_messages
    from footfall.wire.control import ControlCommand
    from footfall.wire.events import DeviceMeta
    from footfall.wire.frame import encode
    from footfall.wire.topics import INPUT_STREAMS, SESSION_DEVICE, Stream, Topic

    t0 = 1_795_540_800_000_000_000
    path = tmp / f"s{len(list(tmp.iterdir()))}.mcap"
    items: list[tuple[int, int, Topic, bytes]] = []
    for order, (device, (counts, rng)) in enumerate(_legs().items()):
        side = Side(device.split("-")[1])
        meta = DeviceMeta(profile="sim", placement=Placement.TIBIA, side=side,
                          sample_rate_hz=500.0, accel_range_g=rng)
        items.append((t0 - 1, order, Topic("a", "s", device, Stream.META), meta.to_json()))
        frames, _ = frame_counts(counts, sample_rate_hz=500.0, accel_range_g=rng,
                                 start_utc_ns=t0,
                                 frame_sizes=(sizes or {}).get(device) or [counts.shape[0]])
        items += [(t0 + round(f.due_s * 1e9), order, Topic("a", "s", device, Stream.IMU),
                   encode(f.frame)) for f in frames]
    control = Topic("a", "s", SESSION_DEVICE, Stream.CONTROL)
    items.append((t0 + 3_500_000_000, 2, control,
                  ControlCommand.mark_baseline(t0 + 3_500_000_000).to_json()))
    items.append((t0 + 4_500_000_000, 2, control,
                  ControlCommand.set_target(t0 + 4_500_000_000, increase_pct=6.0).to_json()))
    with SessionWriter(path, source="test") as writer:
        for log_ns, _, topic, payload in sorted(items, key=lambda i: (i[0], i[1])):
            writer.write(topic, payload, log_time_ns=log_ns)
    results = analyze_messages(((m.topic, m.payload) for m in iter_messages(path, INPUT_STREAMS)),
                               config=replace(CONFIG, warmup_s=0.5, baseline_s=5.0))
    return [{"device": d, **e.to_dict()} for d, r in sorted(results.items())
            for e in (*r.steps, *r.metrics, *r.alerts)]


@cache
def _session_one_frame() -> list[dict[str, Any]]:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        return _session_events(Path(tmp), None)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_framing_of_a_session_file_gives_identical_events(data: st.DataObject,
                                                              tmp_path: Path) -> None:
    n = next(iter(_legs().values()))[0].shape[0]
    sizes = {device: data.draw(splits(n), label=device) for device in _legs()}
    events = _session_events(tmp_path, sizes)
    reference = _session_one_frame()
    assert len(events) == len(reference)
    for i, (a, b) in enumerate(zip(events, reference, strict=True)):
        assert a == b, (i, {k: (a.get(k), b.get(k)) for k in a.keys() | b.keys()
                            if a.get(k) != b.get(k)})
    assert any(e["type"] == "alert" for e in reference)  # the target was missed: an alert
    assert any(e["type"] == "metrics" and e["baseline_state"] == "set" for e in reference)
