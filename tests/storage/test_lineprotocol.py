"""Events to line protocol, as the schema derived from the wire declarations says."""

from __future__ import annotations

from footfall.storage.lineprotocol import to_line
from footfall.storage.schema import MEASUREMENTS
from footfall.wire.events import AlertEvent, MetricsEvent, RscSample, StepEvent

T = 1_795_540_800_123_456_789


def test_step_line_has_sorted_tags_typed_fields_and_ms_time() -> None:
    step = StepEvent(time_ns=T, sensor_time_s=1.5, impact_g=11.25, cadence_spm=170.0,
                     interval_s=0.705, side="left", placement="tibia", clipped=True,
                     confidence=0.9, loading_rate_gps=600.0)
    line = to_line(step, {"athlete": "ann", "session": "s 1", "device": "tibia-left"})
    assert line == (
        "step,athlete=ann,device=tibia-left,placement=tibia,session=s\\ 1,side=left "
        "cadence_spm=170.0,clipped=true,confidence=0.9,impact_g=11.25,interval_s=0.705,"
        "loading_rate_gps=600.0,sensor_time_s=1.5 1795540800123"
    )


def test_missing_values_are_left_out_and_numbers_keep_their_declared_type() -> None:
    metrics = MetricsEvent(time_ns=T, cadence_spm=None, steps_total=3, placement="foot",
                           side="right", packet_loss_pct=4.5, final=True)
    line = to_line(metrics, {"athlete": "a", "session": "s", "device": "d"})
    assert line == ("metrics,athlete=a,device=d,placement=foot,session=s,side=right "
                    'baseline_state="warmup",clipping_alert=0i,final=true,impact_alert=0i,'
                    'packet_loss_alert=0i,packet_loss_pct=4.5,source="imu",'
                    "steps_total=3i 1795540800123")
    # an integer speed on the wire is a float field, always: InfluxDB never sees 3i
    rsc = RscSample.from_json(b'{"v":1,"type":"rsc","time_ns":%d,"speed_mps":3,'
                              b'"cadence_spm":170}' % T)
    line = to_line(rsc, {"athlete": "a", "session": "s", "device": "pod"})
    assert line is not None and "speed_mps=3.0" in line and "cadence_spm=170.0" in line
    assert MEASUREMENTS["rsc"].fields["speed_mps"] == "float"


def test_alert_line_escapes_strings_and_tags_rule() -> None:
    alert = AlertEvent(time_ns=T, rule="cadence_target", state="start", severity="warning",
                       message='cadence "low", 160 spm', value=160.0)
    line = to_line(alert, {"athlete": "a", "session": "s", "device": "session"})
    assert line is not None
    assert line.startswith("alert,athlete=a,device=session,rule=cadence_target,session=s,"
                           "severity=warning ")
    assert 'message="cadence \\"low\\", 160 spm"' in line
    assert "active=1i" in line  # what Grafana's rules compare


def test_fields_never_shadow_tags() -> None:
    alert = AlertEvent(time_ns=T, rule="no_data", state="start", severity="warning",
                       message="no data", device="tibia-left")
    line = to_line(alert, {"athlete": "a", "session": "s", "device": "tibia-left"})
    assert line is not None
    assert "device=" not in line.split(" ")[1] and "athlete=" not in line.split(" ")[1]
