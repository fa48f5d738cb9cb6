"""The monitor's screen: one rich renderable from a :class:`MonitorState`, ≤ 24 lines × 80.

Plain characters and box drawing only (no emoji, no wide glyphs), so it reads the same over
SSH, in tmux and in a Linux console; colour is never the only carrier of meaning (alerts say
their severity in words, arrows carry the trend's sign).
"""

from __future__ import annotations

from datetime import UTC, datetime

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from footfall.core.units import NS
from footfall.views.monitor.state import MonitorState, latency_summary

SPARK = "▁▂▃▄▅▆▇█"
SEVERITY_STYLE = {"critical": "bold white on red", "warning": "bold black on yellow",
                  "info": "bold black on cyan"}
MAX_ALERT_LINES = 4
#: a device that sent nothing for this long is shown stale
STALE_S = 3.0


def sparkline(values: list[float], width: int) -> str:
    """The last ``width`` values as bars, scaled to their 5th–95th percentile (one wild
    value, e.g. a cadence before the detector settled, does not flatten the rest)."""
    values = values[-width:]
    if not values:
        return ""
    lo, hi = robust_range(values)
    span = hi - lo or 1.0
    return "".join(SPARK[max(0, min(len(SPARK) - 1, int((v - lo) / span * len(SPARK))))]
                   for v in values)


def robust_range(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    n = len(ordered) - 1
    return ordered[round(0.05 * n)], ordered[round(0.95 * n)]


def _fmt(value: float | None, spec: str = ".1f", unit: str = "") -> str:
    return "—" if value is None else f"{format(value, spec)}{unit}"


def render(state: MonitorState, now_ns: int, *, width: int = 80) -> RenderableType:
    """The whole screen at ``now_ns`` (UTC, the receive clock)."""
    parts: list[RenderableType] = [_header(state, now_ns), _cadence(state, now_ns, width),
                                   _impact(state, now_ns), _alerts(state, now_ns),
                                   _devices(state, now_ns), _footer(state)]
    return Group(*parts)


def _header(state: MonitorState, now_ns: int) -> Text:
    clock = datetime.fromtimestamp(now_ns / NS, tz=UTC).strftime("%H:%M:%S UTC")
    text = Text.assemble(("footfall ", "bold"), (f"{state.athlete}/{state.session}", "bold cyan"),
                         f"  {clock}")
    lat = latency_summary(list(state.latencies_ms)[-50:])
    if lat is not None:
        text.append(f"  step→screen {lat['median_ms']:.0f} ms")
    text.no_wrap, text.overflow = True, "ellipsis"
    return text


def _cadence(state: MonitorState, now_ns: int, width: int) -> Table:
    cadence = state.session_metric("cadence_spm", now_ns)
    target = state.target_spm(now_ns)
    base = state.session_metric("cadence_baseline_spm", now_ns)
    trend = state.session_metric("cadence_trend_spm_per_min", now_ns)
    drift = state.session_metric("cadence_drift_pct", now_ns)
    change = state.session_metric("cadence_change_pct", now_ns)
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True, overflow="ellipsis")
    line = Text.assemble(("CADENCE ", "bold"), (f"{_fmt(cadence)} spm", "bold"))
    if trend is not None:
        arrow = "↑" if trend > 0.5 else "↓" if trend < -0.5 else "→"
        line.append(f"  {arrow} {trend:+.1f} spm/min")
    if target is not None:
        gap = None if cadence is None else 100 * (cadence / target - 1)
        style = "green" if gap is not None and gap >= -2.0 else "bold red"
        line.append("  target ")
        line.append(f"{target:.1f} spm", style="bold")
        if gap is not None:
            line.append(f" ({gap:+.1f} %)", style=style)
    else:
        line.append("  target —  (t: baseline +7.5 %)", style="dim")
    grid.add_row(line)
    detail = Text(f"  baseline {_fmt(base)} spm  change {_fmt(change, '+.1f', ' %')}  "
                  f"drift {_fmt(drift, '+.1f', ' %')} (speed-corrected)")
    grid.add_row(detail)
    history = [c for _, c in state.cadence_history]
    spark_width = max(10, width - 32)
    trend_line = Text("  last 2 min ")
    trend_line.append(sparkline(history, spark_width), style="cyan")
    if history:
        lo, hi = robust_range(history[-spark_width:])
        trend_line.append(f" {lo:.1f}–{hi:.1f} spm")
    grid.add_row(trend_line)
    return grid


def _impact(state: MonitorState, now_ns: int) -> Table:
    table = Table(box=None, padding=(0, 1), show_edge=False, pad_edge=False,
                  title_justify="left", header_style="bold")
    table.add_column("IMPACT (PTA marker)", no_wrap=True, overflow="ellipsis", min_width=12)
    table.add_column("step", justify="right", no_wrap=True)
    table.add_column("10 s", justify="right", no_wrap=True)
    table.add_column("base", justify="right", no_wrap=True)
    table.add_column("drift", justify="right", no_wrap=True)
    table.add_column("last steps", no_wrap=True, overflow="crop", max_width=24)
    for name, dev in sorted(state.devices.items()):
        if dev.last_step is None and dev.metric("impact_g") is None:
            continue
        step = dev.last_step
        last = "—" if step is None else f"{step.impact_g:.1f} g" + ("!" if step.clipped else "")
        high = _impact_high(state, dev.metric("impact_baseline_g"), step)
        table.add_row(
            f"{dev.side if dev.side != 'none' else name} {dev.placement}",
            Text(last, style="bold red" if high else "bold"),
            _fmt(dev.metric("impact_g"), ".1f", " g"),
            _fmt(dev.metric("impact_baseline_g"), ".1f", " g"),
            _fmt(dev.metric("impact_drift_pct"), "+.0f", " %"),
            Text(sparkline(list(dev.impacts_g), 24), style="magenta"))
    sym = state.combined.symmetry_pct if state.combined is not None else None
    if sym is not None:
        side = "right" if sym > 0 else "left"
        table.caption = f"symmetry {sym:+.0f} % ({side} higher)  ! = clipped: a lower bound"
        table.caption_justify = "left"
    return table


def _impact_high(state: MonitorState, base: float | None, step: object) -> bool:
    from footfall.wire.events import StepEvent

    if not isinstance(step, StepEvent) or base is None:
        return False
    return step.impact_g >= base * (1 + state.impact_rise_pct / 100)


def _alerts(state: MonitorState, now_ns: int) -> Table:
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True, min_width=9)
    grid.add_column(no_wrap=True, overflow="ellipsis", ratio=1)
    active = state.active_alerts()
    if not active:
        grid.add_row(Text("ALERTS", style="bold"), Text("none", style="green"))
        return grid
    grid.add_row(Text(f"ALERTS {len(active)}", style="bold"), "")
    for device, alert in active[:MAX_ALERT_LINES]:
        since = datetime.fromtimestamp(alert.time_ns / NS, tz=UTC).strftime("%H:%M:%S")
        label = Text(f" {alert.severity.upper():8}", style=SEVERITY_STYLE.get(alert.severity,
                                                                              "bold"))
        grid.add_row(label, Text(f"{alert.rule} {device} {since} {alert.message}"))
    if len(active) > MAX_ALERT_LINES:
        grid.add_row("", Text(f"+{len(active) - MAX_ALERT_LINES} more", style="dim"))
    return grid


def _devices(state: MonitorState, now_ns: int) -> Table:
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True, overflow="ellipsis")
    grid.add_row(Text("DATA QUALITY", style="bold"))
    for name, dev in sorted(state.devices.items()):
        age = None if dev.last_received_ns is None else (now_ns - dev.last_received_ns) / NS
        if dev.online is False:
            link = Text("OFFLINE", style="bold red")
        elif age is not None and age > STALE_S:
            link = Text(f"no data {age:.0f} s", style="bold red")
        elif age is None:
            link = Text("waiting", style="dim")
        else:
            link = Text("live", style="green")
        loss = dev.metric("packet_loss_pct")
        clip = dev.metric("clipping_pct")
        line = Text.assemble(f" {name:<12.12} ", link,
                             f"  loss {_fmt(loss, '.1f', ' %')}  clipped {_fmt(clip, '.0f', ' %')}"
                             f"  ±{dev.accel_range_g or '?'} g  steps {dev.steps}")
        if clip is not None and clip > 0:
            line.stylize("yellow", 0, len(line))
        grid.add_row(line)
    if not state.devices:
        grid.add_row(Text(" no device has reported yet", style="dim"))
    return grid


def _footer(state: MonitorState) -> Text:
    keys = (("b", " base  "), ("t", " +7.5%  "), ("+/-", " ±1  "), ("178⏎", " exact  "),
            ("x", " none  "), ("m", f" beat {'ON' if state.metronome else 'off'}  "),
            ("i", f" tone {'ON' if state.impact_tone else 'off'}  "), ("q", " quit"))
    text = Text()
    for key, label in keys:
        text.append(key, style="bold reverse")
        text.append(label)
    if state.entry:
        text.append(f"\ntarget: {state.entry}_ spm (Enter sets it, Esc cancels)",
                    style="bold reverse")
    elif state.notice:
        text.append(f"\n{state.notice}", style="italic")
    text.no_wrap, text.overflow = True, "ellipsis"
    return text
