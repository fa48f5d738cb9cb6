"""What the monitor knows about one session, folded from its MQTT messages.

Pure: :func:`apply` takes a topic, a payload and the time it was received (injected, ns) and
updates a :class:`MonitorState`; nothing here reads a clock or touches the terminal. A message
that is not valid is counted in ``malformed`` and logged, never raised.
"""

from __future__ import annotations

import json
import logging
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from footfall.core.units import NS
from footfall.wire.control import CONTROL_STREAM, ControlCommand
from footfall.wire.events import (
    AlertEvent,
    DeviceMeta,
    DeviceStatus,
    EventError,
    MetricsEvent,
    SessionMetricsEvent,
    StepEvent,
)
from footfall.wire.topics import ROOT, SESSION_DEVICE, Stream

log = logging.getLogger(__name__)

#: per-step impacts kept per device (the sparkline)
RECENT_STEPS = 40
#: session cadence history kept for the trend sparkline
CADENCE_HISTORY_S = 120
#: a device's metrics count towards the session figures while this fresh (receive time)
FRESH_S = 3.0
#: latency samples kept for the status line and the summary
LATENCY_SAMPLES = 5000


@dataclass(slots=True)
class DeviceView:
    placement: str = "?"
    side: str = "none"
    accel_range_g: int = 0
    online: bool | None = None
    status_reason: str = ""
    ended: bool = False  # its status said its session ended normally (not a lost link)
    impacts_g: deque[float] = field(default_factory=lambda: deque(maxlen=RECENT_STEPS))
    clipped: deque[bool] = field(default_factory=lambda: deque(maxlen=RECENT_STEPS))
    last_step: StepEvent | None = None
    steps: int = 0
    metrics: MetricsEvent | None = None
    last_received_ns: int | None = None  # any data message (step/metrics) from it
    metrics_received_ns: int | None = None

    def metric(self, name: str) -> float | None:
        if self.metrics is None:
            return None
        value = getattr(self.metrics, name, None)
        return float(value) if isinstance(value, int | float) and \
            not isinstance(value, bool) else None


@dataclass(slots=True)
class MonitorState:
    athlete: str
    session: str
    devices: dict[str, DeviceView] = field(default_factory=dict)
    #: active alerts by (device the alert is about, rule): their start event
    alerts: dict[tuple[str, str], AlertEvent] = field(default_factory=dict)
    #: (receive time, session cadence) once per metrics message
    cadence_history: deque[tuple[int, float]] = field(default_factory=deque)
    #: the session's combined figures (both legs' symmetry), the latest
    combined: SessionMetricsEvent | None = None
    target_cadence_spm: float | None = None
    target_increase_pct: float | None = None
    #: steps received but not yet on screen: (device, impact peak UTC ns, received ns)
    unrendered: list[tuple[str, int, int]] = field(default_factory=list)
    latencies_ms: deque[float] = field(default_factory=lambda: deque(maxlen=LATENCY_SAMPLES))
    messages: int = 0
    malformed: int = 0
    notice: str = ""
    #: audible cues (off by default)
    metronome: bool = False
    impact_tone: bool = False
    entry: str = ""  # digits typed for an exact target
    #: a step above its baseline by this much shows red (the impact alert's per-strike test)
    impact_rise_pct: float = 15.0
    #: the target band: the target ± this (the cadence_target alert's tolerance)
    target_tolerance_pct: float = 2.0
    #: seconds (session_metrics) with a target and a cadence, and those inside the band
    seconds_with_target: int = 0
    seconds_in_target: int = 0
    first_received_ns: int | None = None
    last_received_ns: int | None = None

    # -- derived figures -----------------------------------------------------------------

    def fresh(self, now_ns: int) -> list[DeviceView]:
        limit = now_ns - round(FRESH_S * NS)
        return [d for d in self.devices.values() if d.metrics is not None
                and d.metrics_received_ns is not None and d.metrics_received_ns >= limit]

    def session_metric(self, name: str, now_ns: int) -> float | None:
        """Mean over the devices whose metrics are fresh (all with metrics if none is)."""
        devices = self.fresh(now_ns) or [d for d in self.devices.values() if d.metrics]
        if name == "cadence_spm":
            values = [d.metrics.cadence_spm for d in devices
                      if d.metrics is not None and d.metrics.cadence_spm is not None]
        else:
            values = [v for d in devices if (v := d.metric(name)) is not None]
        return sum(values) / len(values) if values else None

    @property
    def ended(self) -> bool:
        """Every device that reported said its session ended normally."""
        return bool(self.devices) and all(d.ended for d in self.devices.values())

    def baseline_state(self) -> str | None:
        """The least advanced of the devices' baseline states (``set`` once all have one)."""
        order = ("warmup", "collecting", "set")
        states = [d.metrics.baseline_state for d in self.devices.values()
                  if d.metrics is not None and d.metrics.baseline_state in order]
        return min(states, key=order.index) if states else None

    def time_in_target_pct(self) -> float | None:
        if not self.seconds_with_target:
            return None
        return 100.0 * self.seconds_in_target / self.seconds_with_target

    def target_spm(self, now_ns: int) -> float | None:
        if self.target_cadence_spm is not None:
            return self.target_cadence_spm
        base = self.session_metric("cadence_baseline_spm", now_ns)
        if self.target_increase_pct is None or base is None:
            return None
        return base * (1 + self.target_increase_pct / 100)

    def active_alerts(self) -> list[tuple[str, AlertEvent]]:
        order = {"critical": 0, "warning": 1, "info": 2}
        return sorted(((d, e) for (d, _), e in self.alerts.items()),
                      key=lambda x: (order.get(x[1].severity, 3), x[1].time_ns))


def topic_filters(athlete: str, session: str) -> list[str]:
    """What the monitor subscribes to (QoS 1)."""
    base = f"{ROOT}/{athlete}/{session}"
    streams = (Stream.STEP, Stream.METRICS, Stream.ALERT, Stream.STATUS, Stream.META)
    return [f"{base}/+/{s.value}" for s in streams] + [
        f"{base}/{SESSION_DEVICE}/{Stream.ALERTS_ACTIVE.value}",
        f"{base}/{SESSION_DEVICE}/{Stream.SESSION_METRICS.value}",
        f"{base}/{SESSION_DEVICE}/{CONTROL_STREAM}",
    ]


def apply(state: MonitorState, topic: str, payload: bytes, received_ns: int) -> bool:
    """Fold one message into ``state``; True if the screen should change."""
    parts = topic.split("/")
    if len(parts) != 6 or parts[2] != state.athlete or parts[3] != state.session:
        return False
    device, stream = parts[4], parts[5]
    state.messages += 1
    state.first_received_ns = state.first_received_ns or received_ns
    state.last_received_ns = received_ns
    try:
        return _apply(state, device, stream, payload, received_ns)
    except (EventError, ValueError, TypeError, KeyError) as exc:
        state.malformed += 1
        log.warning("monitor: ignored a malformed %s message of %s: %s", stream, device, exc)
        return False


def _apply(state: MonitorState, device: str, stream: str, payload: bytes,
           received_ns: int) -> bool:
    if stream == Stream.STEP.value:
        step = StepEvent.from_json(payload)
        dev = _device(state, device)
        dev.last_step, dev.steps = step, dev.steps + 1
        dev.impacts_g.append(step.impact_g)
        dev.clipped.append(step.clipped)
        dev.last_received_ns = received_ns
        state.unrendered.append((device, step.time_ns, received_ns))
        return True
    if stream == Stream.METRICS.value:
        metrics = MetricsEvent.from_json(payload)
        dev = _device(state, device)
        dev.metrics, dev.metrics_received_ns = metrics, received_ns
        dev.last_received_ns = received_ns
        cadence = state.session_metric("cadence_spm", received_ns)
        if cadence is not None:
            state.cadence_history.append((received_ns, cadence))
        while state.cadence_history and \
                state.cadence_history[0][0] < received_ns - CADENCE_HISTORY_S * NS:
            state.cadence_history.popleft()
        return True
    if stream == Stream.SESSION_METRICS.value:
        state.combined = combined = SessionMetricsEvent.from_json(payload)
        target = state.target_spm(received_ns)
        if target is not None and combined.cadence_spm is not None:
            state.seconds_with_target += 1
            band = target * state.target_tolerance_pct / 100
            state.seconds_in_target += abs(combined.cadence_spm - target) <= band
        return True
    if stream == Stream.ALERT.value:
        alert = AlertEvent.from_json(payload)
        key = (alert.device or device, alert.rule)
        if alert.state == "start":
            state.alerts[key] = alert
        elif alert.state == "clear":
            state.alerts.pop(key, None)
        return True
    if stream == Stream.ALERTS_ACTIVE.value:
        items = json.loads(payload) if payload else []
        if not isinstance(items, list):
            raise EventError("the active alerts message is not a JSON list")
        state.alerts = {}
        for item in items:
            alert = AlertEvent.from_dict(item)
            state.alerts[(str(item.get("device") or alert.device or "?"),
                          alert.rule)] = alert
        return True
    if stream == Stream.STATUS.value:
        if not payload:
            return False
        status = DeviceStatus.from_json(payload)
        dev = _device(state, device)
        dev.online, dev.status_reason = status.online, status.reason
        dev.ended = status.final and not status.online
        return True
    if stream == Stream.META.value:
        if not payload:
            return False
        meta = DeviceMeta.from_json(payload)
        dev = _device(state, device)
        dev.placement, dev.side, dev.accel_range_g = meta.placement, meta.side, \
            meta.accel_range_g
        return True
    if stream == CONTROL_STREAM:
        if not payload:
            return False
        command = ControlCommand.from_json(payload)
        if command.action == "set_target":
            state.target_cadence_spm = command.cadence_spm
            state.target_increase_pct = command.increase_pct
        return True
    return False


def _device(state: MonitorState, device: str) -> DeviceView:
    dev = state.devices.get(device)
    if dev is None:
        dev = state.devices[device] = DeviceView()
    return dev


def rendered(state: MonitorState, at_ns: int) -> list[float]:
    """The steps waiting for the screen are on it at ``at_ns`` (UTC): their latencies, ms,
    from the impact peak. Only plausible ones (0–10 s) count: a replay of an old session
    carries its old times."""
    out = [(at_ns - t) / 1e6 for _, t, _ in state.unrendered]
    state.unrendered.clear()
    plausible = [ms for ms in out if 0 <= ms <= 10_000]
    state.latencies_ms.extend(plausible)
    return plausible


def latency_summary(latencies_ms: Any) -> dict[str, float] | None:
    values = sorted(float(v) for v in latencies_ms)
    if not values:
        return None
    def pct(p: float) -> float:
        return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]
    return {"n": float(len(values)), "median_ms": pct(50), "p95_ms": pct(95),
            "max_ms": values[-1], "min_ms": values[0]}
