"""Alert rules for one session, with hysteresis: an alert starts once, clears once, never flaps.

The engine is fed the processor's own events — every :class:`StepEvent` and
:class:`MetricsEvent`, device status changes, and (live) the passing of time — and returns
:class:`AlertEvent` start/clear events. It reads no clock: times are the events' UTC
``time_ns``; the live service passes its arrival clock to :meth:`AlertEngine.tick` so a sensor
that went silent is noticed even though no event says so. Its state is one dataclass
(:class:`AlertEngineState`), separate from the rules.

Rules (thresholds in :class:`~footfall.config.analysis.AlertConfig`, docs/alerts.md):

========================  ========  ==========================================================
rule                      scope     starts when (for its hold time, without interruption)
========================  ========  ==========================================================
``impact``                device    K of the last M strikes above the limit or baseline + N %
``cadence_target``        session   cadence more than X % below the retraining target
``cadence_drift``         session   cadence (speed-corrected) X % below the baseline, over a
                                    full window of running at the baseline's pace
``asymmetry``             session   impact symmetry index beyond X %
``clipping``              device    X % of the last 20 strikes hit the sensor's range
``packet_loss``           device    X % of the samples of the last 10 s lost
``sensor_offline``        device    the device's ``status`` says offline (until it is online)
``no_data``               device    nothing for S seconds (until data returns), unless offline
========================  ========  ==========================================================

``no_data`` is a link-health rule. Live, silence is judged on the arrival clock, against
``no_data_s`` or three of the device's own report intervals (a watch replayed with smart
recording writes every ~7 s). In the data itself, a hole in an IMU stream's sample timeline is
lost data and raises it too; a foot pod's or watch's silence is not (a pod stops reporting
when the runner stops, a watch's records are sparse): the processor reports it as a pause or
an unrecorded stretch instead (docs/metrics.md).

Session-scope alerts are reported for the pseudo-device ``session``
(:data:`footfall.wire.topics.SESSION_DEVICE`) and judged on the session's combined figures
(:class:`~footfall.wire.events.SessionMetricsEvent`, from
:mod:`footfall.processing.session_join`): the mean cadence and drift of the devices that
reported in the last 2.5 s, and a leg pair's symmetry.
"""

from __future__ import annotations

import json
import logging
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Final, TypeAlias

from footfall.config.analysis import AlertConfig
from footfall.core.units import NS
from footfall.wire.events import (
    AlertEvent,
    MetricsEvent,
    RuleName,
    SessionMetricsEvent,
    Severity,
    StepEvent,
)
from footfall.wire.topics import SESSION_DEVICE

log = logging.getLogger(__name__)

#: live: a device silent for this many of its own report intervals (when longer than
#: ``no_data_s``) has gone quiet
SILENT_INTERVALS: Final = 3
Observed: TypeAlias = StepEvent | MetricsEvent | SessionMetricsEvent
Alert: TypeAlias = tuple[str, AlertEvent]  # (device, event), like the processor's outputs

SEVERITY: Final[dict[RuleName, Severity]] = {
    "impact": "warning", "cadence_target": "warning", "cadence_drift": "info",
    "asymmetry": "info", "clipping": "warning", "packet_loss": "warning",
    "sensor_offline": "critical", "no_data": "critical",
}
RULES: Final = tuple(SEVERITY)
#: rules judged on a device's own data, and on the session's combined figures
DEVICE_DATA_RULES: Final[tuple[RuleName, ...]] = ("impact", "clipping", "packet_loss")
SESSION_RULES: Final[tuple[RuleName, ...]] = ("cadence_target", "cadence_drift", "asymmetry")
#: rules about the link itself: no metrics while they hold
CONNECTIVITY_RULES: Final[tuple[RuleName, ...]] = ("sensor_offline", "no_data")


@dataclass(slots=True)
class RuleState:
    """One rule for one device (or the session)."""

    active: bool = False
    #: since when the condition that would flip ``active`` has held, without interruption
    pending_since_ns: int | None = None
    started: AlertEvent | None = None  # the start event while active


@dataclass(slots=True)
class DeviceState:
    """What the rules remember about one device."""

    #: per own strike (unclipped): above the start threshold, above the clear threshold
    impact_high: deque[bool] = field(default_factory=deque)
    impact_above_clear: deque[bool] = field(default_factory=deque)
    impact_recent_g: deque[float] = field(default_factory=deque)
    impact_baseline_g: float | None = None
    steps_seen: int = 0
    #: latest metrics: time, cadence and its baseline
    metrics_ns: int | None = None
    cadence_spm: float | None = None
    cadence_baseline_spm: float | None = None
    last_event_ns: int | None = None  # UTC of its latest event (sensor timebase)
    last_arrival_ns: int | None = None  # when that event reached us (the caller's clock)
    resumed_ns: int | None = None  # when data came back after a no-data gap
    report_interval_s: float = 0.0  # how often the device says it reports (its meta)


@dataclass(slots=True)
class AlertEngineState:
    rules: dict[tuple[str, str], RuleState] = field(default_factory=dict)
    devices: dict[str, DeviceState] = field(default_factory=dict)
    #: set live (``set_target``): an absolute target, or an increase over the baseline
    target_cadence_spm: float | None = None
    target_increase_pct: float | None = None
    #: the session's cadence baseline, and (time, drift %) per session metrics for the drift
    #: rule's mean
    session_baseline_spm: float | None = None
    drift: deque[tuple[int, float]] = field(default_factory=deque)
    session_ns: int | None = None  # time of the latest session metrics


class AlertEngine:
    """The alert rules of one session. ``AlertEngine()`` uses the clinical defaults."""

    def __init__(self, config: AlertConfig | None = None,
                 clock: Callable[[], int] | None = None, *, loss_window_s: float = 10.0) -> None:
        self.config = config or AlertConfig()
        #: the processor's packet-loss window (``AnalysisConfig.quality_window_s``): a gap
        #: stays in it this long after data returns, and is already reported by ``no_data``
        self.loss_window_s = loss_window_s
        #: the live service's arrival clock (e.g. ``time.time_ns``): when set, ``observe``
        #: stamps each event's arrival with it and ``tick()`` reads it; offline it stays None
        #: and the events' own times stand in for arrival
        self.clock = clock
        if not 0 < self.config.impact_min_steps <= self.config.impact_window_steps:
            raise ValueError("impact_min_steps must be in 1..impact_window_steps, got "
                             f"{self.config.impact_min_steps} of "
                             f"{self.config.impact_window_steps}")
        self.state = AlertEngineState(target_cadence_spm=self.config.target_cadence_spm,
                                      target_increase_pct=self.config.target_increase_pct)

    # -- inputs ------------------------------------------------------------------------------

    def observe(self, device: str, event: Observed, *,
                arrival_ns: int | None = None) -> list[Alert]:
        """One processor event of ``device``; ``arrival_ns`` is the caller's clock (live)."""
        if isinstance(event, SessionMetricsEvent):  # the session's own figures: no device
            return self._session_rules(event)
        dev = self._device(device)
        # a pod's or watch's silence is a pause or sparse records, not lost data
        pod = isinstance(event, MetricsEvent) and event.source == "rsc"
        out = self._resumed(device, dev, event.time_ns, gap_is_loss=not pod)
        dev.last_event_ns = max(event.time_ns, dev.last_event_ns or event.time_ns)
        if arrival_ns is None:
            arrival_ns = self.clock() if self.clock is not None else event.time_ns
        dev.last_arrival_ns = arrival_ns
        if isinstance(event, StepEvent):
            out += self._step(device, dev, event)
        else:
            out += self._metrics(device, dev, event)
        return out

    def device_status(self, device: str, online: bool, at_ns: int | None = None,
                      reason: str = "") -> list[Alert]:
        """The device's retained ``status`` changed. ``at_ns`` defaults to its latest event,
        else the session's latest, else the clock (a device that never sent data)."""
        dev = self._device(device)
        t = at_ns if at_ns is not None else dev.last_event_ns or self._latest_ns() or (
            self.clock() if self.clock is not None else 0)
        if not t:  # a file whose first message is a status: no time to put an alert at yet
            return []
        what = f"{device} is offline" + (f" ({reason})" if reason else "") + \
            ": no steps or impact from it until it reconnects"
        return self._update("sensor_offline", device, t, start=not online, clear=online,
                            hold_s=0.0, value=None, message=what)

    def set_report_interval(self, device: str, interval_s: float) -> None:
        """How often ``device`` reports (1 / its meta's rate): live silence is judged against
        three of these intervals when that is longer than ``no_data_s``."""
        self._device(device).report_interval_s = interval_s

    def tick(self, now_ns: int | None = None) -> list[Alert]:
        """Live only: the arrival clock moved on (``now_ns``, default ``clock()``); a device
        silent for ``no_data_s`` alerts. The alert is timed on the device's own timebase: its
        last event + ``no_data_s``, so a replay of an old session is judged correctly."""
        if now_ns is None:
            if self.clock is None:
                raise ValueError("tick() needs now_ns, or an engine built with a clock")
            now_ns = self.clock()
        out: list[Alert] = []
        for device, dev in self.state.devices.items():
            if dev.last_arrival_ns is None or dev.last_event_ns is None:
                continue
            limit = round(max(self.config.no_data_s, SILENT_INTERVALS * dev.report_interval_s)
                          * NS)
            if now_ns - dev.last_arrival_ns >= limit:
                out += self._no_data_start(device, dev.last_event_ns + limit, limit / NS)
        return out

    def set_target(self, cadence_spm: float | None = None, increase_pct: float | None = None,
                   at_ns: int | None = None) -> list[Alert]:
        """The retraining target: an absolute cadence or +N % over the baseline (or neither:
        no target). Re-evaluated at the next metrics event."""
        self.state.target_cadence_spm = cadence_spm
        self.state.target_increase_pct = None if cadence_spm is not None else increase_pct
        key = ("cadence_target", SESSION_DEVICE)
        rule = self.state.rules.get(key)
        if rule is not None:
            rule.pending_since_ns = None
        if self.target_spm() is None and rule is not None and rule.active:
            t = at_ns if at_ns is not None else self._latest_ns()
            return self._update("cadence_target", SESSION_DEVICE, t, start=False, clear=True,
                                hold_s=0.0, value=None, message="no cadence target")
        return []

    # -- outputs -----------------------------------------------------------------------------

    def active(self) -> list[tuple[str, AlertEvent]]:
        """The start event of every active alert, oldest first."""
        found = [(device, r.started) for (_, device), r in self.state.rules.items()
                 if r.active and r.started is not None]
        return sorted(found, key=lambda x: (x[1].time_ns, x[1].rule, x[0]))

    def flags(self, device: str) -> dict[str, int]:
        """``<rule>_alert``: 1 for each of ``device``'s rules that is on (session rules for
        the pseudo-device ``session``), 0 for the others: the per-second state Grafana reads."""
        rules = SESSION_RULES if device == SESSION_DEVICE else DEVICE_DATA_RULES
        return {f"{rule}_alert": int(bool((r := self.state.rules.get((rule, device)))
                                          and r.active)) for rule in rules}

    def active_payload(self) -> bytes:
        """The retained ``session/alerts`` message: a JSON list of the active alerts' start
        events, each with its ``device``."""
        items = [{**event.to_dict(), "device": device} for device, event in self.active()]
        return json.dumps(items, separators=(",", ":"), allow_nan=False).encode()

    def target_spm(self, baseline_spm: float | None = None) -> float | None:
        """The cadence target now (None: no target, or its baseline is not known yet)."""
        st = self.state
        if st.target_cadence_spm is not None:
            return st.target_cadence_spm
        base = baseline_spm if baseline_spm is not None else self._session_baseline()
        if st.target_increase_pct is None or base is None:
            return None
        return base * (1 + st.target_increase_pct / 100)

    # -- rules -------------------------------------------------------------------------------

    def _step(self, device: str, dev: DeviceState, step: StepEvent) -> list[Alert]:
        cfg = self.config
        dev.steps_seen += 1
        if step.clipped:  # a lower bound, not a PTA: the clipping rule speaks for it
            return []
        base = dev.impact_baseline_g
        limit = cfg.impact_limit_g
        g = step.impact_g
        high = (limit is not None and g >= limit) or \
            (base is not None and g >= base * (1 + cfg.impact_rise_pct / 100))
        above_clear = (limit is not None and g >= limit - 1.0) or \
            (base is not None and g >= base * (1 + cfg.impact_clear_rise_pct / 100))
        m = cfg.impact_window_steps
        for queue, flag in ((dev.impact_high, high), (dev.impact_above_clear, above_clear)):
            queue.append(flag)
            while len(queue) > m:
                queue.popleft()
        dev.impact_recent_g.append(g)
        while len(dev.impact_recent_g) > m:
            dev.impact_recent_g.popleft()
        if len(dev.impact_high) < m or (limit is None and base is None):
            return []
        k = cfg.impact_min_steps
        start = sum(dev.impact_high) >= k
        clear = sum(not f for f in dev.impact_above_clear) >= k
        recent = sorted(dev.impact_recent_g)
        median = recent[len(recent) // 2]
        vs = f"{100 * (median / base - 1):+.0f} % vs baseline {base:.1f} g" if base else \
            f"limit {limit:.1f} g"
        message = (f"impact (PTA marker) high: {sum(dev.impact_high)} of the last {m} strikes "
                   f"above threshold, median {median:.1f} g ({vs})")
        return self._update("impact", device, step.time_ns, start=start, clear=clear,
                            hold_s=cfg.impact_hold_s, value=median, message=message,
                            extra={"impact_baseline_g": base, "impact_limit_g": limit})

    def _metrics(self, device: str, dev: DeviceState, event: MetricsEvent) -> list[Alert]:
        cfg, x, t = self.config, event, event.time_ns
        out: list[Alert] = []
        dev.metrics_ns = t
        dev.cadence_spm = event.cadence_spm
        dev.cadence_baseline_spm = x.cadence_baseline_spm
        base_impact = x.impact_baseline_g
        if base_impact is not None:
            dev.impact_baseline_g = base_impact
        # data quality, per device
        clip = x.clipping_pct
        out += self._update(
            "clipping", device, t,
            start=None if clip is None else clip >= cfg.clipping_start_pct,
            clear=None if clip is None else clip <= cfg.clipping_clear_pct,
            hold_s=cfg.quality_hold_s, value=clip,
            message=f"{clip or 0:.0f} % of recent impact peaks hit the sensor's full-scale "
                    "range: PTA is underestimated there (use a ≥ ±32 g range)")
        loss = x.packet_loss_pct
        if dev.resumed_ns is not None and t < dev.resumed_ns + round(self.loss_window_s * NS):
            loss = None  # the gap itself, already a no_data alert
        out += self._update(
            "packet_loss", device, t,
            start=None if loss is None else loss >= cfg.packet_loss_start_pct,
            clear=None if loss is None else loss <= cfg.packet_loss_clear_pct,
            hold_s=cfg.quality_hold_s, value=loss,
            message=f"{loss or 0:.1f} % of samples lost in transit recently: steps may be "
                    "missed")
        return out

    def _session_rules(self, event: SessionMetricsEvent) -> list[Alert]:
        """The session-wide rules, on the session's combined figures (processing/session_join:
        complete once every device has passed the second, whatever the arrival order)."""
        cfg, t = self.config, event.time_ns
        st = self.state
        out: list[Alert] = []
        st.session_ns = t
        cadence, base = event.cadence_spm, event.cadence_baseline_spm
        st.session_baseline_spm = base if base is not None else st.session_baseline_spm
        target = self.target_spm(base)
        if target is not None:
            below = None if cadence is None else 100 * (1 - cadence / target)
            out += self._update(
                "cadence_target", SESSION_DEVICE, t,
                start=None if below is None else below > cfg.cadence_below_target_pct,
                clear=None if below is None else below <= cfg.cadence_below_target_clear_pct,
                hold_s=cfg.cadence_hold_s, value=cadence,
                message=f"cadence {cadence or 0:.0f} spm, below the target {target:.0f} spm",
                extra={"cadence_target_spm": target})
        window = round(cfg.cadence_drift_window_s * NS)
        if event.cadence_drift_pct is None:  # a walk, a stop, another pace: start afresh
            st.drift.clear()
        else:
            st.drift.append((t, event.cadence_drift_pct))
        while st.drift and st.drift[0][0] <= t - window:
            st.drift.popleft()
        # judged on a full window of running: after a walk or a stop the runner takes a while
        # to get back to pace, and the first seconds alone are no mean (the grid is 1 s)
        full = bool(st.drift) and st.drift[-1][0] - st.drift[0][0] >= window - 1 * NS
        drift = sum(v for _, v in st.drift) / len(st.drift) if full else None
        out += self._update(
            "cadence_drift", SESSION_DEVICE, t,
            start=None if drift is None else drift <= -cfg.cadence_drift_pct,
            clear=None if drift is None else drift >= -cfg.cadence_drift_clear_pct,
            hold_s=cfg.drift_hold_s, value=drift,
            message=f"cadence {drift or 0:+.1f} % vs baseline, not explained by speed: "
                    "possible fatigue", extra={"cadence_baseline_spm": base})
        sym = event.symmetry_pct
        out += self._update(
            "asymmetry", SESSION_DEVICE, t,
            start=None if sym is None else abs(sym) >= cfg.asymmetry_pct,
            clear=None if sym is None else abs(sym) <= cfg.asymmetry_clear_pct,
            hold_s=cfg.asymmetry_hold_s, value=sym,
            message=f"impact asymmetry {sym or 0:+.0f} % ("
                    f"{'right' if (sym or 0) > 0 else 'left'} leg higher)")
        return out

    def _resumed(self, device: str, dev: DeviceState, time_ns: int, *,
                 gap_is_loss: bool = True) -> list[Alert]:
        """Data from ``device`` again: a gap of ``no_data_s`` or more in its data is a no-data
        alert (when ``gap_is_loss``: an IMU timeline); an active one clears."""
        out: list[Alert] = []
        limit = round(self.config.no_data_s * NS)
        if gap_is_loss and dev.last_event_ns is not None \
                and time_ns - dev.last_event_ns >= limit:
            out += self._no_data_start(device, dev.last_event_ns + limit, self.config.no_data_s)
        rule = self.state.rules.get(("no_data", device))
        if rule is not None and rule.active and time_ns >= (dev.last_event_ns or 0):
            dev.resumed_ns = time_ns
            out += self._update("no_data", device, time_ns, start=False, clear=True,
                                hold_s=0.0, value=None, message="data again")
        return out

    def _no_data_start(self, device: str, at_ns: int, s: float) -> list[Alert]:
        offline = self.state.rules.get(("sensor_offline", device))
        if offline is not None and offline.active:  # already said: it is offline
            return []
        return self._update("no_data", device, at_ns, start=True, clear=False, hold_s=0.0,
                            value=s, message=f"no data from {device} for {s:g} s")

    # -- hysteresis --------------------------------------------------------------------------

    def _update(self, rule_name: RuleName, device: str, t: int, *, start: bool | None,
                clear: bool | None, hold_s: float, value: float | None, message: str,
                extra: dict[str, Any] | None = None) -> list[Alert]:
        """Advance one rule. ``start``/``clear``: its conditions now (None: unknown, which
        interrupts a pending change but never flips the state)."""
        key = (rule_name, device)
        rule = self.state.rules.setdefault(key, RuleState())
        want = clear if rule.active else start
        if not want:
            rule.pending_since_ns = None
            return []
        if rule.pending_since_ns is None:
            rule.pending_since_ns = t
        if t - rule.pending_since_ns < round(hold_s * NS):
            return []
        rule.pending_since_ns = None
        body = {"device": device, **{k: v for k, v in (extra or {}).items() if v is not None}}
        text = message
        severity = SEVERITY[rule_name]
        if rule.active:
            started = rule.started
            since = f" (active {(t - started.time_ns) / NS:.0f} s)" if started else ""
            text = f"{rule_name} cleared{since}"
        event = AlertEvent.derived(time_ns=t, rule=rule_name,
                                   state="clear" if rule.active else "start",
                                   severity=severity, message=text, value=value, **body)
        if rule.active:
            rule.active, rule.started = False, None
        else:
            rule.active, rule.started = True, event
        log.info("alert %s %s %s: %s", device, rule_name, event.state, event.message)
        return [(device, event)]

    def _device(self, device: str) -> DeviceState:
        dev = self.state.devices.get(device)
        if dev is None:
            dev = self.state.devices[device] = DeviceState()
        return dev

    def _session_baseline(self) -> float | None:
        return self.state.session_baseline_spm

    def _latest_ns(self) -> int:
        times = [d.last_event_ns for d in self.state.devices.values() if d.last_event_ns]
        if self.state.session_ns is not None:
            times.append(self.state.session_ns)
        return max(times, default=0)


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) \
        else None


def _mean(values: Iterable[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None
