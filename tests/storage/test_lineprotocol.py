"""Events to line protocol."""

from __future__ import annotations

from footfall.storage.lineprotocol import to_line
from footfall.wire.events import AlertEvent, MetricsEvent, StepEvent


def test_step_line_has_sorted_tags_typed_fields_and_ms_time() -> None:
    step = StepEvent(time_ns=1_795_540_800_123_456_789, sensor_time_s=1.5, impact_g=11.25,
                     cadence_spm=170.0, interval_s=0.705, side="left", placement="tibia",
                     clipped=True, confidence=0.9, extra={"loading_rate_gps": 600.0})
    line = to_line(step, {"athlete": "ann", "session": "s 1", "device": "tibia-left"})
    assert line == (
        "step,athlete=ann,device=tibia-left,placement=tibia,session=s\\ 1,side=left "
        "cadence_spm=170.0,clipped=true,confidence=0.9,impact_g=11.25,interval_s=0.705,"
        "loading_rate_gps=600.0,sensor_time_s=1.5 1795540800123"
    )


def test_missing_and_non_finite_values_are_left_out() -> None:
    metrics = MetricsEvent(time_ns=2_000_000, cadence_spm=None, steps_total=3,
                           extra={"impact_drift_pct": float("nan"), "symmetry_pct": 4.5})
    line = to_line(metrics, {"athlete": "a", "session": "s", "device": "d"})
    assert line == "metrics,athlete=a,device=d,session=s steps_total=3i,symmetry_pct=4.5 2"


def test_alert_line_escapes_strings_and_tags_rule() -> None:
    alert = AlertEvent(time_ns=1_000_000, rule="cadence_low", state="start", severity="warning",
                       message='cadence "low", 160 spm', value=160.0)
    line = to_line(alert, {"athlete": "a", "session": "s", "device": "session"})
    assert line is not None
    assert line.startswith("alert,athlete=a,device=session,rule=cadence_low,session=s,"
                           "severity=warning ")
    assert 'message="cadence \\"low\\", 160 spm"' in line


def test_fields_never_shadow_tags() -> None:
    alert = AlertEvent(time_ns=1_000_000, rule="no_data", state="start", severity="warning",
                       message="no data", extra={"device": "tibia-left", "athlete": "x"})
    line = to_line(alert, {"athlete": "a", "session": "s", "device": "tibia-left"})
    assert line is not None
    assert "device=" not in line.split(" ")[1] and "athlete=" not in line.split(" ")[1]
