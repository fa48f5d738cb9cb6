"""The monitor's state and screen from hand-made messages (no broker): 80x24, text checked."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console

from footfall.views.monitor.state import MonitorState, apply, rendered
from footfall.views.monitor.view import render
from footfall.wire.control import ControlCommand, control_topic
from footfall.wire.events import (
    AlertEvent,
    DeviceMeta,
    DeviceStatus,
    MetricsEvent,
    SessionMetricsEvent,
    StepEvent,
)

NS = 1_000_000_000
T0 = 1_795_540_800 * NS  # 2026-11-24T17:20:00Z
BASE = "footfall/v1/ann/s1"


def _screen(state: MonitorState, now_ns: int) -> str:
    console = Console(record=True, width=80, height=24, color_system=None)
    console.print(render(state, now_ns, width=80))
    return console.export_text()


def metrics_event(time_ns: int, cadence_spm: float, steps: int, fields: dict[str, Any], *,
                  side: str) -> MetricsEvent:
    return MetricsEvent(time_ns=time_ns, cadence_spm=cadence_spm, steps_total=steps,
                        placement="tibia", side=side, **fields)


def step_event(time_ns: int, sensor_time_s: float, impact_g: float, cadence_spm: float,
               interval_s: float, side: str, placement: str = "tibia", clipped: bool = False,
               confidence: float = 1.0) -> StepEvent:
    return StepEvent(time_ns=time_ns, sensor_time_s=sensor_time_s, impact_g=impact_g,
                     cadence_spm=cadence_spm, interval_s=interval_s, side=side,
                     placement=placement, clipped=clipped, confidence=confidence)


def _feed(state: MonitorState, device: str, stream: str, payload: bytes, t: int) -> None:
    assert apply(state, f"{BASE}/{device}/{stream}", payload, t)


def _session() -> MonitorState:
    st = MonitorState("ann", "s1")
    for side in ("left", "right"):
        dev = f"tibia-{side}"
        _feed(st, dev, "meta", DeviceMeta(profile="sim", placement="tibia", side=side,
                                          sample_rate_hz=1000.0, accel_range_g=16).to_json(), T0)
        _feed(st, dev, "status", DeviceStatus(online=True).to_json(), T0)
        _feed(st, dev, "step", step_event(T0, 1.0, 11.4 if side == "left" else 12.6, 171.0,
                                          0.7, side, "tibia", side == "right", 0.9).to_json(), T0)
        extra = {"cadence_baseline_spm": 168.0, "cadence_change_pct": 1.5,
                 "cadence_drift_pct": 1.5, "cadence_trend_spm_per_min": -0.8,
                 "impact_g": 11.0 if side == "left" else 12.0, "impact_baseline_g": 9.5,
                 "impact_drift_pct": 15.8 if side == "left" else 26.3,
                 "packet_loss_pct": 0.0 if side == "left" else 2.5, "clipping_pct": 0.0}
        _feed(st, dev, "metrics", metrics_event(T0, 170.0 if side == "left" else 171.0, 80,
                                                extra, side=side).to_json(), T0)
    combined = SessionMetricsEvent(time_ns=T0, devices=2, cadence_spm=170.5,
                                   placement="tibia", symmetry_pct=8.3)
    _feed(st, "session", "session_metrics", combined.to_json(), T0)
    return st


def test_screen_shows_cadence_impact_symmetry_quality_in_80x24() -> None:
    st = _session()
    text = _screen(st, T0 + NS // 2)
    lines = text.rstrip("\n").split("\n")
    assert len(lines) <= 24 and max(len(line) for line in lines) <= 80
    assert "CADENCE 170.5 spm" in text  # the mean of both legs' latest
    assert "↓ -0.8 spm/min" in text and "baseline 168.0 spm" in text and "drift +1.5 %" in text
    assert "target —" in text
    left = next(line for line in lines if line.startswith("left tibia"))
    assert "11.4 g" in left and "11.0 g" in left and "9.5 g" in left and "+16 %" in left
    right = next(line for line in lines if line.startswith("right tibia"))
    assert "12.6 g!" in right  # clipped: a lower bound, marked
    assert "symmetry +8 % (right higher)" in text
    assert next(line for line in lines if line.startswith("ALERTS")).split() == ["ALERTS", "none"]
    assert "tibia-right  live  loss 2.5 %" in text


def test_alert_events_and_the_retained_set_drive_the_alert_lines() -> None:
    st = _session()
    start = AlertEvent(time_ns=T0, rule="impact", state="start", severity="warning",
                       message="impact (PTA marker) high", value=12.0, device="tibia-right")
    _feed(st, "tibia-right", "alert", start.to_json(), T0)
    drift = AlertEvent(time_ns=T0, rule="cadence_drift", state="start", severity="info",
                       message="cadence -3.2 % vs baseline", value=-3.2, device="session")
    _feed(st, "session", "alert", drift.to_json(), T0)
    text = _screen(st, T0)
    assert "ALERTS 2" in text
    assert "WARNING  impact tibia-right 17:20:00 impact (PTA marker) high" in text
    assert "INFO     cadence_drift session" in text
    _feed(st, "tibia-right", "alert", AlertEvent(time_ns=T0 + NS, rule="impact", state="clear",
                                                 severity="warning",
                                                 message="impact cleared").to_json(), T0)
    assert "impact tibia-right" not in _screen(st, T0)
    # the retained set replaces whatever the monitor had (a monitor started late)
    retained = [{**AlertEvent(time_ns=T0, rule="no_data", state="start", severity="critical",
                              message="no data from tibia-left for 5 s", value=5.0).to_dict(),
                 "device": "tibia-left"}]
    _feed(st, "session", "alerts", json.dumps(retained).encode(), T0)
    text = _screen(st, T0)
    assert "ALERTS 1" in text and "CRITICAL no_data tibia-left" in text


def test_target_from_control_and_offline_devices() -> None:
    st = _session()
    topic = control_topic("ann", "s1")
    assert topic == f"{BASE}/session/control"
    assert apply(st, topic, ControlCommand.set_target(T0, increase_pct=7.5).to_json(), T0)
    text = _screen(st, T0)
    assert "target 180.6 spm (-5.6 %)" in text  # 168 × 1.075; 170.5 is 5.6 % below
    lost = DeviceStatus(online=False, reason="ble link lost")
    _feed(st, "tibia-left", "status", lost.to_json(), T0)
    text = _screen(st, T0 + 10 * NS)
    assert "tibia-left   OFFLINE" in text and "tibia-right  no data 10 s" in text


def test_latency_is_measured_from_the_impact_peak_to_the_render() -> None:
    st = _session()
    assert rendered(st, T0 + 80_000_000) == [80.0, 80.0]
    assert rendered(st, T0 + 90_000_000) == []  # each step counted once
    _feed(st, "tibia-left", "step", step_event(T0 - 3600 * NS, 1.0, 10.0, 170.0, 0.7,
                                               "left").to_json(), T0)
    assert rendered(st, T0) == []  # an hour old: a replay's timestamps, not latency


def test_malformed_and_foreign_messages_are_counted_not_raised() -> None:
    st = MonitorState("ann", "s1")
    assert not apply(st, f"{BASE}/tibia-left/step", b"{not json", T0)
    assert not apply(st, "footfall/v1/bob/s1/tibia-left/step", b"{}", T0)
    assert st.malformed == 1 and st.messages == 1


def test_times_are_the_local_clock(monkeypatch: Any) -> None:
    """People read the clock on the wall: 17:20 UTC is 18:20 in Berlin in November."""
    import time

    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    try:
        st = _session()
        _feed(st, "tibia-right", "alert", AlertEvent(
            time_ns=T0, rule="impact", state="start", severity="warning",
            message="impact (PTA marker) high", device="tibia-right").to_json(), T0)
        text = _screen(st, T0)
        assert "18:20:00 CET" in text.splitlines()[0]
        assert "impact tibia-right 18:20:00" in text
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_a_cadence_target_alert_names_the_target_now() -> None:
    """The alert started against 178 spm; the therapist then moved the target: the line
    says the target in force."""
    st = _session()
    _feed(st, "session", "control", ControlCommand.set_target(T0, cadence_spm=178.0).to_json(),
          T0)
    _feed(st, "session", "alert", AlertEvent(
        time_ns=T0, rule="cadence_target", state="start", severity="warning",
        message="cadence 170.5 spm is 4.2 % below the target 178.0 spm",
        device="session").to_json(), T0)
    _feed(st, "session", "control", ControlCommand.set_target(T0, cadence_spm=182.6).to_json(),
          T0)
    text = _screen(st, T0)
    assert "target 182.6 spm" in text and "178.0" not in text


def test_long_alerts_wrap_onto_a_second_line_not_off_the_screen() -> None:
    st = _session()
    message = ("10 % of recent impact peaks hit the sensor's full-scale range: PTA is "
               "underestimated there (use a ≥ ±32 g range)")
    _feed(st, "tibia-right", "alert", AlertEvent(
        time_ns=T0, rule="clipping", state="start", severity="warning", message=message,
        device="tibia-right").to_json(), T0)
    lines = _screen(st, T0).rstrip("\n").split("\n")
    assert len(lines) <= 24 and max(len(line) for line in lines) <= 80
    joined = " ".join(line.strip() for line in lines)
    assert "(use a ≥ ±32 g range)" in joined


def test_the_sparkline_does_not_stretch_a_wobble() -> None:
    from footfall.views.monitor.view import MIN_CADENCE_SPAN_SPM, sparkline

    wobble = [170.0 + 0.25 * (i % 2) for i in range(40)]
    assert set(sparkline(wobble, 40, min_span=MIN_CADENCE_SPAN_SPM)) <= set("▄▅")
    assert set(sparkline(wobble, 40)) == {"▁", "█"}  # without the floor: full height


def test_a_target_without_a_baseline_says_it_waits() -> None:
    st = MonitorState("ann", "s1")
    _feed(st, "tibia-left", "metrics", metrics_event(T0, 170.0, 40, {"baseline_state": "warmup"},
                                                     side="left").to_json(), T0)
    _feed(st, "session", "control", ControlCommand.set_target(T0, increase_pct=7.5).to_json(),
          T0)
    assert "target baseline +7.5 %: waits for the baseline (warm-up)" in _screen(st, T0)


def test_a_normal_end_is_not_an_outage_and_the_summary_has_time_in_target() -> None:
    from footfall.views.monitor.view import session_summary

    st = _session()
    _feed(st, "session", "control", ControlCommand.set_target(T0, cadence_spm=172.0).to_json(),
          T0)
    for i, cadence in enumerate([170.5, 171.0, 165.0, 172.5]):  # 3 of 4 within ±2 %
        _feed(st, "session", "session_metrics", SessionMetricsEvent(
            time_ns=T0 + i * NS, devices=2, cadence_spm=cadence).to_json(), T0 + i * NS)
    for side in ("left", "right"):
        _feed(st, f"tibia-{side}", "status",
              DeviceStatus(online=False, reason="end of run", final=True).to_json(), T0 + 5 * NS)
    text = _screen(st, T0 + 5 * NS)
    assert "OFFLINE" not in text and "tibia-left   ended" in text and st.ended
    summary = "\n".join(session_summary(st))
    assert "time in target: 75 % of the 0:04 min with a target" in summary
    assert "tibia-left: 1 steps" in summary and "ended" in summary


def test_four_long_alerts_still_fit_80x24() -> None:
    st = _session()
    message = "x" * 20 + " a long sentence that goes on" * 8
    for rule, device in (("clipping", "tibia-right"), ("clipping", "tibia-left"),
                         ("impact", "tibia-right"), ("packet_loss", "tibia-right")):
        _feed(st, device, "alert", AlertEvent(
            time_ns=T0, rule=rule, state="start", severity="warning", message=message,
            device=device).to_json(), T0)
    lines = _screen(st, T0).rstrip("\n").split("\n")
    assert "ALERTS 4" in "\n".join(lines)
    assert len(lines) <= 24 and max(len(line) for line in lines) <= 80
    assert lines[-1].startswith("b base")  # the keys are still on screen
