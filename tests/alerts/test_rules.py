"""The alert rules on the session processor's own events, offline (docs/alerts.md).

Runs are one tibia sensor at 500 Hz (the detector's lowest supported tibia rate is well below;
Mitschke 2017: ≥ 500 Hz for heel peaks), ±32 g so nothing clips, 12 minutes where the issue
asks for it: ~1 s each.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from footfall.config.analysis import AlertConfig, AnalysisConfigError, alert_config
from footfall.config.settings import load_settings
from footfall.processing.alerts import AlertEngine
from footfall.simulators.runner import RunnerParams, SyntheticRun, synthesize
from footfall.wire.events import SessionMetricsEvent

from .helpers import NS, UTC0, metrics_event, reference_alerts, run_offline, step_event

RATE_HZ = 500.0
TWELVE_MIN_S = 720.0
#: fatigue from the end of the baseline (warm-up 60 s + baseline 60 s) to the end of the run
FATIGUE_START_S = 120.0
TOLERANCE_S = 15.0


def _run(duration_s: float, **params: object) -> SyntheticRun:
    base = RunnerParams(sample_rate_hz=RATE_HZ, accel_range_g=32, seed=2)
    return synthesize(replace(base, **params), duration_s)  # type: ignore[arg-type]


def test_steady_run_raises_no_alert() -> None:
    result = run_offline([_run(TWELVE_MIN_S)])
    assert result.alerts == []
    assert result.engine.active() == []


def test_fatigue_run_raises_cadence_and_impact_alerts_once_at_the_expected_times() -> None:
    run = _run(TWELVE_MIN_S, fatigue_start_fraction=FATIGUE_START_S / TWELVE_MIN_S,
               fatigue_cadence_drop_pct=6.0, fatigue_pta_rise_pct=30.0)
    live = run_offline([run])
    ref = reference_alerts(run)
    assert sorted(live.rules()) == [("session", "cadence_drift", "start"),
                                    ("tibia-left", "impact", "start")]
    for rule in ("cadence_drift", "impact"):
        (t_live,), (t_ref,) = live.times(rule), ref.times(rule)
        assert t_live == pytest.approx(t_ref, abs=TOLERANCE_S), rule
    # and the reference sits where the smooth model puts it: the model crosses −3 % cadence
    # and +15 % impact at 420 s; the rules add their windows (30 s drift mean + 15 s hold;
    # 20 of 30 strides ≈ +4 % impact and 20 s of strides + 5 s hold)
    cfg = AlertConfig()
    ramp_s = TWELVE_MIN_S - FATIGUE_START_S
    cross_cadence = FATIGUE_START_S + ramp_s * cfg.cadence_drift_pct / 6.0
    expected_cadence = cross_cadence + cfg.cadence_drift_window_s / 2 + 5 + cfg.drift_hold_s
    assert ref.times("cadence_drift")[0] == pytest.approx(expected_cadence, abs=45)
    cross_impact = FATIGUE_START_S + ramp_s * (cfg.impact_rise_pct + 4.0) / 30.0
    assert ref.times("impact")[0] == pytest.approx(cross_impact + 15, abs=45)
    assert [e.rule for _, e in live.engine.active()] == ["cadence_drift", "impact"] or \
        [e.rule for _, e in live.engine.active()] == ["impact", "cadence_drift"]


def test_disconnected_sensor_raises_and_clears_a_no_data_alert_once() -> None:
    run = _run(240.0)
    result = run_offline([run], drop_s=(150.0, 170.0))
    assert result.rules() == [("tibia-left", "no_data", "start"),
                              ("tibia-left", "no_data", "clear")]
    (start,), (clear,) = result.times("no_data"), result.times("no_data", "clear")
    assert start == pytest.approx(150.0 + AlertConfig().no_data_s, abs=1.0)
    assert clear == pytest.approx(170.0, abs=1.0)  # the gap's loss is not a packet_loss alert


def test_offline_status_raises_and_online_clears_once() -> None:
    engine = AlertEngine()
    t = UTC0 + 100 * NS
    engine.observe("tibia-left", metrics_event(t, 170.0, 10, {}))
    started = engine.device_status("tibia-left", online=False, reason="link lost")
    assert [(d, e.rule, e.state, e.severity) for d, e in started] == [
        ("tibia-left", "sensor_offline", "start", "critical")]
    assert "link lost" in started[0][1].message and started[0][1].time_ns == t
    assert engine.device_status("tibia-left", online=False) == []  # the LWT again: nothing
    assert len(engine.active()) == 1
    assert engine.tick(t + 20 * NS) == []  # silent, but offline already says so
    cleared = engine.device_status("tibia-left", online=True, at_ns=t + 30 * NS)
    assert [(e.rule, e.state) for _, e in cleared] == [("sensor_offline", "clear")]
    assert engine.device_status("tibia-left", online=True) == []
    assert engine.active() == []


def test_live_silence_is_noticed_by_the_arrival_clock_and_clears_on_data() -> None:
    engine = AlertEngine()
    t, wall = UTC0, 5_000 * NS  # a replay: sensor UTC and the wall clock differ
    engine.observe("tibia-left", metrics_event(t, 170.0, 1, {}), arrival_ns=wall)
    assert engine.tick(wall + 4 * NS) == []
    started = engine.tick(wall + 6 * NS)
    assert [(e.rule, e.state, e.time_ns) for _, e in started] == [
        ("no_data", "start", t + 5 * NS)]
    assert engine.tick(wall + 8 * NS) == []
    back = engine.observe("tibia-left", metrics_event(t + 9 * NS, 170.0, 2, {}),
                          arrival_ns=wall + 9 * NS)
    assert [(e.rule, e.state) for _, e in back] == [("no_data", "clear")]
    assert engine.active_payload() == b"[]"


def test_the_processor_engine_with_the_services_clock_judges_silence_by_arrival() -> None:
    wall = [9_000 * NS]  # the service's wall clock; the data is an old session's replay
    engine = AlertEngine(clock=lambda: wall[0])
    engine.observe("tibia-left", metrics_event(UTC0, 170.0, 1, {}))
    assert engine.tick() == []  # its UTC is hours behind the wall clock: not silence
    wall[0] += 6 * NS
    assert [(e.rule, e.time_ns) for _, e in engine.tick()] == [("no_data", UTC0 + 5 * NS)]
    active = json.loads(engine.active_payload())
    assert [(a["rule"], a["device"], a["state"]) for a in active] == [
        ("no_data", "tibia-left", "start")]
    with pytest.raises(ValueError, match="clock"):
        AlertEngine().tick()


def test_cadence_below_target_starts_once_and_clears_when_the_runner_reaches_it() -> None:
    # the therapist sets +7.5 % (Willy 2016); the runner gets there from 200 s to 220 s
    run = _run(300.0, cadence_spm=((0.0, 170.0), (200.0, 170.0), (220.0, 183.0)))
    result = run_offline([run], alerts=AlertConfig(target_increase_pct=7.5))
    assert result.rules() == [("session", "cadence_target", "start"),
                              ("session", "cadence_target", "clear")]
    (start,), (clear,) = result.times("cadence_target"), result.times("cadence_target", "clear")
    # the target exists once the baseline is (120 s), then the 10 s hold
    assert start == pytest.approx(120.0 + AlertConfig().cadence_hold_s, abs=2.0)
    assert 215.0 < clear < 240.0
    event = result.alerts[0][1]
    assert event.cadence_target_spm == pytest.approx(170 * 1.075, abs=1.0)


def test_set_target_live_and_its_removal_clears_the_alert() -> None:
    engine = AlertEngine()
    assert engine.set_target(cadence_spm=180.0) == []
    out = []
    for s in range(0, 12):  # the session's combined figures: 170 spm against a 170 baseline
        out += engine.observe("session", SessionMetricsEvent(
            time_ns=UTC0 + s * NS, devices=1, cadence_spm=170.0, cadence_baseline_spm=170.0))
    assert [(e.rule, e.state) for _, e in out] == [("cadence_target", "start")]
    assert engine.target_spm() == 180.0
    cleared = engine.set_target(None)
    assert [(e.rule, e.state) for _, e in cleared] == [("cadence_target", "clear")]


def test_impact_above_an_absolute_limit_without_a_baseline() -> None:
    engine = AlertEngine(AlertConfig(impact_limit_g=12.0, impact_window_steps=5,
                                     impact_min_steps=4, impact_hold_s=0.0))
    out = []
    for i, g in enumerate([11.0, 12.5, 13.0, 12.2, 12.8, 13.1, 9.0, 9.0, 9.0, 9.0, 9.0]):
        out += engine.observe("tib", step_event(UTC0 + i * NS, i, g, 170.0, 0.7, "left",
                                               "tibia", False, 1.0))
    assert [(e.rule, e.state, e.time_ns) for _, e in out] == [
        ("impact", "start", UTC0 + 4 * NS), ("impact", "clear", UTC0 + 9 * NS)]
    assert out[0][1].value == pytest.approx(12.5)  # median of the 5 strikes


def test_clipped_strikes_are_left_to_the_clipping_rule() -> None:
    run = _run(150.0, accel_range_g=16, pta_g=18.0)
    result = run_offline([run])
    assert ("tibia-left", "clipping", "start") in result.rules()
    assert all(e.rule != "impact" for _, e in result.alerts)


def test_asymmetry_is_one_session_alert_for_two_legs() -> None:
    runs = [_run(240.0, asymmetry_pct=20.0, side=side) for side in ("left", "right")]
    result = run_offline(runs)
    assert result.rules() == [("session", "asymmetry", "start")]
    value = result.alerts[0][1].value
    assert value is not None and 15.0 < value < 30.0  # rolling resultant medians, not truth
    assert run_offline([_run(240.0, side=s) for s in ("left", "right")]).alerts == []


def test_thresholds_per_athlete_from_toml(tmp_path: Path) -> None:
    path = tmp_path / "footfall.toml"
    path.write_text('athlete = "ann"\n[alerts]\nimpact_rise_pct = 12\n'
                    '[alerts.athletes.ann]\ntarget_increase_pct = 7.5\nimpact_limit_g = 14\n')
    table = load_settings(path).alerts  # as every command reads it
    ann = alert_config(table, "ann")
    assert (ann.impact_rise_pct, ann.target_increase_pct, ann.impact_limit_g) == (12.0, 7.5, 14.0)
    bob = alert_config(table, "bob")
    assert (bob.impact_rise_pct, bob.target_increase_pct) == (12.0, None)
    assert alert_config(load_settings().alerts) == AlertConfig()  # no [alerts]: the defaults
    with pytest.raises(AnalysisConfigError, match="unknown alert setting 'impact_rise'"):
        alert_config({"impact_rise": 3})
    with pytest.raises(AnalysisConfigError, match="impact_min_steps"):
        alert_config({"impact_min_steps": 2.5})
