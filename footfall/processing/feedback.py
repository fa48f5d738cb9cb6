"""Which feedback the runner gets, when: the one source of truth of a session's feedback state.

The therapist's commands (:class:`~footfall.wire.control.ControlCommand`) set, per channel
(cadence, impact), a mode — off, continuous, bandwidth (only when out of target), faded — with
its schedule, and start no-feedback retention probes. This engine turns them into
:class:`~footfall.wire.events.FeedbackEvent`\\ s whenever a channel's state changes, and a
:class:`~footfall.wire.events.FeedbackState` snapshot after every change.

Time is the session's own: a command takes effect at the UTC of the session's latest data, and
the schedule advances with the times of the processor's events (:meth:`FeedbackEngine.advance`),
never with a wall clock — so ``footfall analyze`` of a recording gives the events the live
processor gave. An event is timed at the boundary it marks (a schedule's switch, a probe's end),
not at the data that revealed it.

Faded schedules (docs/coach.md):

- ``fade``: time since the mode was set is cut into cycles of ``cycle_s``; in each, feedback is
  on for its first ``fraction × cycle_s``, the fraction going linearly from ``fade_from_pct`` at
  the start to ``fade_to_pct`` after ``fade_min`` (then staying there). It is evaluated at the
  cycle's start.
- ``blocks``: ``on_min`` with feedback, ``off_min`` without, repeated (Wood & Kipp 2014: 5 + 5).

A channel no command has touched emits nothing: a session without coaching has no feedback
events (and the real-data snapshots stay as they are).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from footfall.core.units import NS
from footfall.wire.control import ControlCommand
from footfall.wire.events import (
    Channel,
    FeedbackEvent,
    FeedbackMode,
    FeedbackOutput,
    FeedbackReason,
    FeedbackSettings,
    FeedbackState,
    SessionNote,
)

CHANNELS: tuple[Channel, ...] = ("cadence", "impact")
#: what a channel uses when the command leaves a setting out (starting points for clinicians
#: to tune, not figures from a study: docs/coach.md)
CADENCE_DEFAULTS = FeedbackSettings(band_pct=3.0, metronome="auto", auto_steps=8,
                                    volume_pct=80.0)
IMPACT_DEFAULTS = FeedbackSettings(volume_pct=80.0)
FADE_DEFAULTS = FeedbackSettings(fade_from_pct=100.0, fade_to_pct=0.0, cycle_s=60.0)
FeedbackOut = FeedbackOutput
NOTE_FIELDS = ("pain_score", "shoes", "belt_speed_kmh", "text")


@dataclass(slots=True)
class ChannelPlan:
    """One channel as the therapist set it."""

    mode: FeedbackMode = "off"
    settings: FeedbackSettings = field(default_factory=FeedbackSettings)
    since_ns: int = 0
    configured: bool = False  # a command touched it: its changes are events


def effective(channel: Channel, command: ControlCommand) -> FeedbackSettings:
    """The settings a ``set_feedback`` command gives ``channel``: its own, else the defaults."""
    given = {n: getattr(command, n) for n in FeedbackSettings.model_fields
             if getattr(command, n) is not None}
    base = CADENCE_DEFAULTS if channel == "cadence" else IMPACT_DEFAULTS
    merged: dict[str, Any] = {k: v for k, v in base.model_dump().items() if v is not None}
    if command.mode == "faded" and command.schedule == "fade":
        merged |= {k: v for k, v in FADE_DEFAULTS.model_dump().items() if v is not None}
    return FeedbackSettings(**(merged | given))


@dataclass(frozen=True, slots=True)
class Status:
    feedback_on: bool
    fraction_pct: float | None
    probe: bool


class FeedbackEngine:
    """The feedback state of one session. ``cadence_target`` gives the cadence target in force
    (the alert engine's: one place for the target), read whenever an event is built."""

    def __init__(self, cadence_target: Callable[[], float | None] = lambda: None) -> None:
        self.cadence_target = cadence_target
        self.channels: dict[Channel, ChannelPlan] = {c: ChannelPlan() for c in CHANNELS}
        self.impact_target_pct: float | None = None
        self.target_cadence_spm: float | None = None  # as set (for the snapshot)
        self.target_increase_pct: float | None = None
        self.probe_start_ns: int | None = None
        self.probe_end_ns: int | None = None
        self.notes: SessionNote | None = None
        self.now_ns: int | None = None  # the session's time: the latest data seen
        self.command_ns: int | None = None  # time_ns of the latest command applied
        self.last: dict[Channel, FeedbackEvent] = {}

    # -- inputs ------------------------------------------------------------------------------

    def command(self, command: ControlCommand, now_ns: int) -> list[FeedbackOut]:
        """Apply ``command`` at session time ``now_ns``; the events it causes, then the new
        snapshot."""
        out = self._move_to(now_ns)
        now = self.now_ns if self.now_ns is not None else now_ns
        self.command_ns = command.time_ns
        touched: list[Channel] = []
        if command.action == "set_target":
            self.target_cadence_spm, self.target_increase_pct = (
                command.cadence_spm, None if command.cadence_spm is not None
                else command.increase_pct)
            touched = ["cadence"]
        elif command.action == "set_impact_target":
            self.impact_target_pct = command.impact_pct
            touched = ["impact"]
        elif command.action == "set_feedback" and command.channel is not None \
                and command.mode is not None:
            plan = self.channels[command.channel]
            plan.mode, plan.since_ns, plan.configured = command.mode, now, True
            plan.settings = effective(command.channel, command)
            self.last.pop(command.channel, None)  # a new setting is always an event
            touched = [command.channel]
        elif command.action == "probe" and command.probe_min is not None:
            if command.probe_min > 0:
                self.probe_start_ns = now
                self.probe_end_ns = now + round(command.probe_min * 60 * NS)
            elif self._probe_at(now):
                self.probe_end_ns = now
            for plan in self.channels.values():  # a probe is an event also on unused channels
                if not plan.configured:
                    plan.since_ns, plan.configured = now, True
            out += self._changes(now, "probe", CHANNELS)
        elif command.action == "note":
            out.append(self._note(command, now))
        out += self._changes(now, "therapist", touched)
        return [*out, self.state()]

    def advance(self, t_ns: int) -> list[FeedbackOut]:
        """The session's data reached ``t_ns``: the schedule's switches up to then, a target
        that became known; the new snapshot if anything changed."""
        out = self._move_to(t_ns)
        target = self.cadence_target()
        last = self.last.get("cadence")
        if last is not None and last.cadence_target_spm != target and self.now_ns is not None:
            out += self._changes(self.now_ns, "baseline", ["cadence"])
        return [*out, self.state()] if out else []

    def restore(self, state: FeedbackState) -> bool:
        """Adopt a retained snapshot (a restarted processor) unless this engine already applied
        the commands it reflects; True when adopted."""
        if state.command_ns is None or (self.command_ns is not None
                                        and state.command_ns <= self.command_ns):
            return False
        self.command_ns = state.command_ns
        for event in (state.cadence, state.impact):
            if event is None:
                continue
            channel = event.channel
            settings = FeedbackSettings(**{n: getattr(event, n)
                                           for n in FeedbackSettings.model_fields})
            self.channels[channel] = ChannelPlan(event.mode, settings, event.since_ns, True)
            self.last[channel] = event
        self.impact_target_pct = state.impact_target_pct
        self.target_cadence_spm = state.target_cadence_spm
        self.target_increase_pct = state.target_increase_pct
        self.probe_start_ns, self.probe_end_ns = state.probe_start_ns, state.probe_end_ns
        self.notes = state.notes
        # from the snapshot's time on: switches due since then (while no processor ran, or
        # before the snapshot arrived) come out at the next data, at their own times
        self.now_ns = state.time_ns
        return True

    # -- state -------------------------------------------------------------------------------

    def state(self) -> FeedbackState:
        return FeedbackState(
            time_ns=self.now_ns or self.command_ns or 0, command_ns=self.command_ns,
            cadence=self.last.get("cadence"), impact=self.last.get("impact"),
            cadence_target_spm=self.cadence_target(), target_cadence_spm=self.target_cadence_spm,
            target_increase_pct=self.target_increase_pct,
            impact_target_pct=self.impact_target_pct, probe_start_ns=self.probe_start_ns,
            probe_end_ns=self.probe_end_ns, notes=self.notes)

    def status(self, channel: Channel, t_ns: int) -> Status:
        """Whether ``channel`` gives feedback at session time ``t_ns``."""
        plan = self.channels[channel]
        fraction = self._fraction(plan, t_ns)
        if self._probe_at(t_ns):
            return Status(False, fraction, True)
        if plan.mode == "off":
            return Status(False, None, False)
        if plan.mode != "faded":
            return Status(True, None, False)
        s = plan.settings
        elapsed = t_ns - plan.since_ns
        if s.schedule == "blocks" and s.on_min is not None and s.off_min is not None:
            on_ns, period = _ns(s.on_min * 60), _ns((s.on_min + s.off_min) * 60)
            return Status(elapsed % period < on_ns, fraction, False)
        cycle = _ns(s.cycle_s or 60.0)
        start = plan.since_ns + elapsed // cycle * cycle
        return Status(t_ns - start < _on_ns(plan, start), fraction, False)

    # -- helpers -----------------------------------------------------------------------------

    def _move_to(self, t_ns: int) -> list[FeedbackOut]:
        """Every switch of the schedules and probes between the session's time and ``t_ns``."""
        out: list[FeedbackOut] = []
        if self.now_ns is None:
            self.now_ns = t_ns
            return out
        while True:
            boundary = self._next_boundary(self.now_ns)
            if boundary is None or boundary > t_ns:
                break
            self.now_ns = boundary
            probe_edge = boundary in (self.probe_start_ns, self.probe_end_ns)
            out += self._changes(boundary, "probe" if probe_edge else "schedule", CHANNELS)
        self.now_ns = max(self.now_ns, t_ns)
        return out

    def _next_boundary(self, after_ns: int) -> int | None:
        """The first time after ``after_ns`` at which a configured channel may switch."""
        found = [t for t in (self.probe_start_ns, self.probe_end_ns)
                 if t is not None and t > after_ns]
        for plan in self.channels.values():
            if not plan.configured or plan.mode != "faded":
                continue
            s, elapsed = plan.settings, after_ns - plan.since_ns
            if s.schedule == "blocks" and s.on_min is not None and s.off_min is not None:
                on_ns, period = _ns(s.on_min * 60), _ns((s.on_min + s.off_min) * 60)
                start = plan.since_ns + max(elapsed, 0) // period * period
                found += [t for t in (start + on_ns, start + period) if t > after_ns]
            else:
                cycle = _ns(s.cycle_s or 60.0)
                start = plan.since_ns + max(elapsed, 0) // cycle * cycle
                found += [t for t in (start + _on_ns(plan, start), start + cycle)
                          if t > after_ns]
        return min(found, default=None)

    def _changes(self, at_ns: int, reason: FeedbackReason,
                 channels: tuple[Channel, ...] | list[Channel]) -> list[FeedbackOut]:
        """An event for each configured channel whose state differs from its last event."""
        out: list[FeedbackOut] = []
        for channel in channels:
            plan = self.channels[channel]
            if not plan.configured:
                continue
            event = self._event(channel, at_ns, reason)
            last = self.last.get(channel)
            if last is not None and _same(last, event):
                continue
            self.last[channel] = event
            out.append(event)
        return out

    def _event(self, channel: Channel, at_ns: int, reason: FeedbackReason) -> FeedbackEvent:
        plan = self.channels[channel]
        st = self.status(channel, at_ns)
        return FeedbackEvent(
            time_ns=at_ns, channel=channel, mode=plan.mode, feedback_on=st.feedback_on,
            reason=reason, probe=st.probe, since_ns=plan.since_ns,
            fraction_pct=st.fraction_pct, cadence_target_spm=self.cadence_target(),
            impact_target_pct=self.impact_target_pct, **plan.settings.model_dump())

    def _probe_at(self, t_ns: int) -> bool:
        return (self.probe_start_ns is not None and self.probe_end_ns is not None
                and self.probe_start_ns <= t_ns < self.probe_end_ns)

    def _fraction(self, plan: ChannelPlan, t_ns: int) -> float | None:
        s = plan.settings
        if plan.mode != "faded":
            return None
        if s.schedule == "blocks" and s.on_min is not None and s.off_min is not None:
            return 100.0 * s.on_min / (s.on_min + s.off_min)
        cycle = _ns(s.cycle_s or 60.0)
        start = plan.since_ns + max(t_ns - plan.since_ns, 0) // cycle * cycle
        return _fade_pct(plan, start)

    def _note(self, command: ControlCommand, now_ns: int) -> SessionNote:
        given = {n: getattr(command, n) for n in NOTE_FIELDS if getattr(command, n) is not None}
        note = SessionNote(time_ns=now_ns, source=command.source, **given)
        kept = self.notes.model_dump(include=set(NOTE_FIELDS)) if self.notes else {}
        merged = {k: v for k, v in kept.items() if v is not None} | given
        self.notes = SessionNote(time_ns=now_ns, source=command.source, **merged)
        return note


def _ns(seconds: float) -> int:
    return round(seconds * NS)


def _fade_pct(plan: ChannelPlan, at_ns: int) -> float:
    """The fade schedule's share of feedback at ``at_ns`` (linear, then flat)."""
    s = plan.settings
    start, end = s.fade_from_pct or 0.0, s.fade_to_pct or 0.0
    progress = min(1.0, max(0.0, (at_ns - plan.since_ns) / _ns((s.fade_min or 1.0) * 60)))
    return start + (end - start) * progress


def _on_ns(plan: ChannelPlan, cycle_start_ns: int) -> int:
    return round(_fade_pct(plan, cycle_start_ns) / 100 * _ns(plan.settings.cycle_s or 60.0))


def _same(a: FeedbackEvent, b: FeedbackEvent) -> bool:
    """The same state, whenever and for whatever reason it was reported."""
    ignore = {"time_ns", "reason", "time_utc"}
    return a.model_dump(exclude=ignore) == b.model_dump(exclude=ignore)
