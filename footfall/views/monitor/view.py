"""The monitor's screen: one rich renderable from a :class:`MonitorState`, ≤ 24 lines × 80.

Plain characters and box drawing only (no emoji, no wide glyphs), so it reads the same over
SSH, in tmux and in a Linux console; colour is never the only carrier of meaning (alerts say
their severity in words, arrows carry the trend's sign).
"""

from __future__ import annotations

from datetime import datetime

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from footfall.core.units import NS
from footfall.views.monitor.state import MonitorState, latency_summary
from footfall.wire.events import AlertEvent

SPARK = "▁▂▃▄▅▆▇█"
SEVERITY_STYLE = {"critical": "bold white on red", "warning": "bold black on yellow",
                  "info": "bold black on cyan"}
MAX_ALERT_LINES = 4
#: screen lines for the alerts (an alert wraps onto two or three of them)
ALERT_LINES = 8
#: the cadence sparkline spans at least this many spm: a 0.5 spm wobble stays a ripple
MIN_CADENCE_SPAN_SPM = 4.0
#: a device that sent nothing for this long is shown stale
STALE_S = 3.0


def sparkline(values: list[float], width: int, *, min_span: float = 0.0) -> str:
    """The last ``width`` values as bars, scaled to their 5th–95th percentile (one wild
    value, e.g. a cadence before the detector settled, does not flatten the rest), over at
    least ``min_span`` (centred), so noise is not stretched to full height."""
    values = values[-width:]
    if not values:
        return ""
    lo, hi = robust_range(values)
    if hi - lo < min_span:
        mid = (hi + lo) / 2
        lo, hi = mid - min_span / 2, mid + min_span / 2
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
                                   _impact(state, now_ns), _alerts(state, now_ns, width),
                                   _devices(state, now_ns), _footer(state)]
    return Group(*parts)


def local_time(time_ns: int, fmt: str = "%H:%M:%S") -> str:
    """People read the clock on the wall: local time (storage and the wire stay UTC)."""
    return datetime.fromtimestamp(time_ns / NS).astimezone().strftime(fmt)


def _header(state: MonitorState, now_ns: int) -> Text:
    clock = local_time(now_ns, "%H:%M:%S %Z")
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
    elif state.target_increase_pct is not None:
        waiting = {"warmup": "warm-up", "collecting": "baseline being taken"}.get(
            state.baseline_state() or "warmup", "no baseline")
        line.append(f"  target baseline +{state.target_increase_pct:g} %: waits for the "
                    f"baseline ({waiting})", style="yellow")
    else:
        line.append("  target —  (t: baseline +7.5 %)", style="dim")
    grid.add_row(line)
    detail = Text(f"  baseline {_fmt(base)} spm  change {_fmt(change, '+.1f', ' %')}  "
                  f"drift {_fmt(drift, '+.1f', ' %')} (speed-corrected)")
    grid.add_row(detail)
    history = [c for _, c in state.cadence_history]
    spark_width = max(10, width - 32)
    trend_line = Text("  last 2 min ")
    trend_line.append(sparkline(history, spark_width, min_span=MIN_CADENCE_SPAN_SPM),
                      style="cyan")
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


def alert_text(state: MonitorState, device: str, alert: AlertEvent, now_ns: int) -> str:
    """One alert, for the screen: the cadence target alert names the target *now* (it may
    have moved since the alert started)."""
    since = local_time(alert.time_ns)
    message = alert.message
    target = state.target_spm(now_ns)
    cadence = state.session_metric("cadence_spm", now_ns)
    if alert.rule == "cadence_target" and target is not None and cadence is not None:
        message = (f"cadence {cadence:.1f} spm is {100 * (1 - cadence / target):.1f} % below "
                   f"the target {target:.1f} spm")
    return f"{alert.rule} {device} {since} {message}"


def _alerts(state: MonitorState, now_ns: int, width: int = 80) -> Table:
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True, min_width=9)
    # an alert may take two lines, never more (the screen has 24)
    grid.add_column(no_wrap=False, overflow="fold", ratio=1, max_width=200)
    active = state.active_alerts()
    if not active:
        grid.add_row(Text("ALERTS", style="bold"), Text("none", style="green"))
        return grid
    grid.add_row(Text(f"ALERTS {len(active)}", style="bold"), "")
    for device, alert in active[:MAX_ALERT_LINES]:
        label = Text(f" {alert.severity.upper():8}", style=SEVERITY_STYLE.get(alert.severity,
                                                                              "bold"))
        text = Text(alert_text(state, device, alert, now_ns))
        # the section has ALERT_LINES lines: one or two alerts may take three each
        lines = min(3, max(2, ALERT_LINES // max(1, min(len(active), MAX_ALERT_LINES))))
        text.truncate(lines * (max(20, width - 11) - 8), overflow="ellipsis")
        grid.add_row(label, text)
    if len(active) > MAX_ALERT_LINES:
        grid.add_row("", Text(f"+{len(active) - MAX_ALERT_LINES} more", style="dim"))
    return grid


def _devices(state: MonitorState, now_ns: int) -> Table:
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True, overflow="ellipsis")
    grid.add_row(Text("DATA QUALITY", style="bold"))
    for name, dev in sorted(state.devices.items()):
        age = None if dev.last_received_ns is None else (now_ns - dev.last_received_ns) / NS
        if dev.ended:
            link = Text("ended", style="dim")
        elif dev.online is False:
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


def session_summary(state: MonitorState) -> list[str]:
    """What the monitor saw of a session, for the terminal after it quits."""
    if not state.devices:
        return [f"{state.athlete}/{state.session}: nothing received"]
    watched_s = ((state.last_received_ns or 0) - (state.first_received_ns or 0)) / NS
    minutes, seconds = divmod(round(watched_s), 60)
    lines = [f"session {state.athlete}/{state.session}, watched {minutes}:{seconds:02d} min"]
    now = state.last_received_ns or 0
    cadence = state.session_metric("cadence_spm", now)
    base = state.session_metric("cadence_baseline_spm", now)
    lines.append(f"  cadence {_fmt(cadence, '.1f', ' spm')} (baseline {_fmt(base, '.1f', ' spm')}"
                 f", drift {_fmt(state.session_metric('cadence_drift_pct', now), '+.1f', ' %')})")
    in_target = state.time_in_target_pct()
    if in_target is None:
        lines.append("  time in target: no target was set")
    else:
        m, s = divmod(state.seconds_with_target, 60)
        lines.append(f"  time in target: {in_target:.0f} % of the {m}:{s:02d} min with a target "
                     f"(within ±{state.target_tolerance_pct:g} %)")
    for name, dev in sorted(state.devices.items()):
        impact = dev.metric("impact_g")
        lines.append(f"  {name}: {dev.steps} steps, impact {_fmt(impact, '.1f', ' g')} "
                     f"(baseline {_fmt(dev.metric('impact_baseline_g'), '.1f', ' g')})"
                     + ("  ended" if dev.ended else ""))
    return lines
