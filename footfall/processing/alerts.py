"""Alert rules with hysteresis over the metrics of one stream: start once, clear once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from footfall.processing.config import AlertConfig
from footfall.wire.events import AlertEvent


@dataclass(frozen=True, slots=True)
class AlertRule:
    rule: str
    metric: str  # key in the metrics ``extra``
    severity: str
    starts: Callable[[float], bool]
    clears: Callable[[float], bool]
    message: str  # formatted with ``value``
    hold_s: float = 0.0  # the start (or clear) condition must hold this long, against flapping


def default_rules(cfg: AlertConfig) -> list[AlertRule]:
    return [
        AlertRule("clipping", "clipping_pct", "warning",
                  lambda v: v >= cfg.clipping_start_pct, lambda v: v <= cfg.clipping_clear_pct,
                  "{value:.0f} % of recent impact peaks hit the sensor's full-scale range: PTA "
                  "is underestimated there (use a ≥ ±32 g range)", cfg.quality_hold_s),
        AlertRule("packet_loss", "packet_loss_pct", "warning",
                  lambda v: v >= cfg.packet_loss_start_pct,
                  lambda v: v <= cfg.packet_loss_clear_pct,
                  "{value:.1f} % of samples lost in transit recently: steps may be missed",
                  cfg.quality_hold_s),
        AlertRule("cadence_drop", "cadence_drift_pct", "info",
                  lambda v: v <= cfg.cadence_drop_start_pct,
                  lambda v: v >= cfg.cadence_drop_clear_pct,
                  "cadence {value:+.1f} % vs baseline (not explained by speed): possible fatigue",
                  cfg.drift_hold_s),
        AlertRule("impact_rise", "impact_drift_pct", "info",
                  lambda v: v >= cfg.impact_rise_start_pct,
                  lambda v: v <= cfg.impact_rise_clear_pct,
                  "impact {value:+.1f} % vs baseline", cfg.drift_hold_s),
    ]


@dataclass(slots=True)
class AlertState:
    active: set[str] = field(default_factory=set)
    #: rule → since when its start (inactive) or clear (active) condition has held
    pending: dict[str, int] = field(default_factory=dict)


class AlertEvaluator:
    def __init__(self, config: AlertConfig | None = None) -> None:
        self.rules = default_rules(config or AlertConfig())

    def evaluate(self, state: AlertState, time_ns: int, metrics: dict[str, Any],
                 context: dict[str, Any]) -> list[AlertEvent]:
        out: list[AlertEvent] = []
        for rule in self.rules:
            value = metrics.get(rule.metric)
            if value is None:
                state.pending.pop(rule.rule, None)
                continue
            value = float(value)
            active = rule.rule in state.active
            if not (rule.clears(value) if active else rule.starts(value)):
                state.pending.pop(rule.rule, None)
                continue
            since = state.pending.setdefault(rule.rule, time_ns)
            if time_ns - since < rule.hold_s * 1e9:
                continue
            state.pending.pop(rule.rule)
            if active:
                state.active.discard(rule.rule)
                out.append(AlertEvent(time_ns, rule.rule, "clear", rule.severity,
                                      f"{rule.rule} cleared", value, dict(context)))
            else:
                state.active.add(rule.rule)
                out.append(AlertEvent(time_ns, rule.rule, "start", rule.severity,
                                      rule.message.format(value=value), value, dict(context)))
        return out
