"""Commands to the processor, from footfall monitor and footfall coach: the ``control`` stream of
device ``session`` (``footfall/v1/<athlete>/<session>/session/control``).

JSON, like every event (``"v": 1``, ``"type": "control"``)::

    {"v":1,"type":"control","action":"mark_baseline","time_ns":...,"source":"monitor"}
    {"v":1,"type":"control","action":"set_target","cadence_spm":178.0,"time_ns":...}
    {"v":1,"type":"control","action":"set_target","increase_pct":7.5,"time_ns":...}
    {"v":1,"type":"control","action":"set_target","cadence_spm":null,"time_ns":...}   # no target
    {"v":1,"type":"control","action":"set_impact_target","impact_pct":80.0,"time_ns":...}
    {"v":1,"type":"control","action":"set_feedback","channel":"impact","mode":"faded",
     "schedule":"fade","fade_from_pct":100.0,"fade_to_pct":0.0,"fade_min":20.0,"time_ns":...}
    {"v":1,"type":"control","action":"set_feedback","channel":"cadence","mode":"bandwidth",
     "band_pct":3.0,"metronome":"auto","auto_steps":8,"time_ns":...}
    {"v":1,"type":"control","action":"probe","probe_min":5.0,"time_ns":...}   # 0 ends it
    {"v":1,"type":"control","action":"note","pain_score":3,"shoes":"Pegasus 40",
     "belt_speed_kmh":10.8,"time_ns":...}

Each action takes its own fields and no other (a field of another action must be absent or
null); docs/coach.md says what each does. ``set_target`` is published *retained* (a restarted
processor or a second monitor learns the target), every other command is not: the processor's
retained ``feedback_state`` carries the rest (:class:`~footfall.wire.events.FeedbackState`).
``time_ns`` is the sender's clock, for the record only: the processor applies a command at the
session's own time (the UTC of its latest data). QoS 1.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal, Self

from pydantic import Field, model_validator

from footfall.core.ids import check_id
from footfall.wire.events import (
    FEEDBACK_SETTINGS,
    BeltKmh,
    Channel,
    EventError,
    FeedbackMode,
    FeedbackSettings,
    ImpactPct,
    Name,
    PainScore,
    ProbeMinutes,
    Text,
    TimedEvent,
)
from footfall.wire.topics import ROOT, SESSION_DEVICE, Stream

CONTROL_STREAM = Stream.CONTROL.value
Action = Literal["mark_baseline", "set_target", "set_impact_target", "set_feedback", "probe",
                 "note"]
ACTIONS: tuple[str, ...] = ("mark_baseline", "set_target", "set_impact_target", "set_feedback",
                            "probe", "note")
#: a cadence target is a step rate a runner can hold
TargetSpm = Annotated[float, Field(gt=0.0, le=300.0)]
IncreasePct = Annotated[float, Field(gt=0.0, le=50.0)]
NOTE_FIELDS = ("pain_score", "shoes", "belt_speed_kmh", "text")
#: the fields each action may give (every other optional field must be null)
ACTION_FIELDS: dict[str, frozenset[str]] = {
    "mark_baseline": frozenset(),
    "set_target": frozenset({"cadence_spm", "increase_pct"}),
    "set_impact_target": frozenset({"impact_pct"}),
    "set_feedback": frozenset({"channel", "mode", *FEEDBACK_SETTINGS}),
    "probe": frozenset({"probe_min"}),
    "note": frozenset(NOTE_FIELDS),
}
#: settings that only the cadence channel has
CADENCE_ONLY = ("band_pct", "metronome", "auto_steps")
FADE_FIELDS = ("fade_from_pct", "fade_to_pct", "fade_min", "cycle_s")
BLOCK_FIELDS = ("on_min", "off_min")


def control_topic(athlete: str, session: str) -> str:
    check_id("athlete", athlete)
    check_id("session", session)
    return f"{ROOT}/{athlete}/{session}/{SESSION_DEVICE}/{CONTROL_STREAM}"


class ControlCommand(TimedEvent, FeedbackSettings):
    """One therapist command; ``action`` says which fields it carries (module doc)."""

    TYPE: ClassVar[str] = "control"
    type: Literal["control"] = "control"
    action: Action
    cadence_spm: TargetSpm | None = None
    increase_pct: IncreasePct | None = None
    impact_pct: ImpactPct | None = None
    channel: Channel | None = None
    mode: FeedbackMode | None = None
    probe_min: ProbeMinutes | None = None
    pain_score: PainScore | None = None
    shoes: Name | None = None
    belt_speed_kmh: BeltKmh | None = None
    text: Text | None = None
    source: Name = "monitor"

    @model_validator(mode="after")
    def _fields_of_action(self) -> Self:
        allowed = ACTION_FIELDS[self.action]
        foreign = [name for name in sorted(set().union(*ACTION_FIELDS.values()) - allowed)
                   if getattr(self, name) is not None]
        if foreign:
            raise ValueError(f"{self.action} takes no {', '.join(foreign)}")
        if self.cadence_spm is not None and self.increase_pct is not None:
            raise ValueError("set_target takes cadence_spm or increase_pct, not both")
        if self.action == "set_feedback":
            self._check_feedback()
        elif self.action == "probe" and self.probe_min is None:
            raise ValueError("probe needs probe_min (minutes without feedback; 0 ends a probe)")
        elif self.action == "note" and all(getattr(self, n) is None for n in NOTE_FIELDS):
            raise ValueError(f"a note needs one of {', '.join(NOTE_FIELDS)}")
        return self

    def _check_feedback(self) -> None:
        if self.channel is None or self.mode is None:
            raise ValueError("set_feedback needs a channel (cadence, impact) and a mode "
                             "(off, continuous, bandwidth, faded)")
        if self.channel == "impact" and any(getattr(self, n) is not None for n in CADENCE_ONLY):
            raise ValueError(f"{', '.join(CADENCE_ONLY)} are settings of the cadence channel")
        given = [n for n in (*FADE_FIELDS, *BLOCK_FIELDS, "schedule")
                 if getattr(self, n) is not None]
        if self.mode != "faded":
            if given:
                raise ValueError(f"{', '.join(given)} belong to mode faded, not {self.mode}")
            return
        if self.schedule == "fade":
            if self.fade_min is None or any(getattr(self, n) is not None for n in BLOCK_FIELDS):
                raise ValueError("schedule fade takes fade_min (and fade_from_pct, fade_to_pct, "
                                 "cycle_s), not on_min/off_min")
        elif self.schedule == "blocks":
            if self.on_min is None or self.off_min is None or \
                    any(getattr(self, n) is not None for n in FADE_FIELDS):
                raise ValueError("schedule blocks takes on_min and off_min, nothing else")
        else:
            raise ValueError("mode faded needs a schedule: fade or blocks")

    @classmethod
    def mark_baseline(cls, time_ns: int, *, source: str = "monitor") -> ControlCommand:
        return cls(action="mark_baseline", time_ns=time_ns, source=source)

    @classmethod
    def set_target(cls, time_ns: int, *, cadence_spm: float | None = None,
                   increase_pct: float | None = None, source: str = "monitor") -> ControlCommand:
        try:
            return cls(action="set_target", time_ns=time_ns, cadence_spm=cadence_spm,
                       increase_pct=increase_pct, source=source)
        except ValueError as exc:
            raise EventError(str(exc)) from None

    @property
    def retain(self) -> bool:
        return self.action == "set_target"
