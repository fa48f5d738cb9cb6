"""Commands to the processor, e.g. from footfall monitor: the ``control`` stream of device
``session`` (``footfall/v1/<athlete>/<session>/session/control``).

JSON, like every event (``"v": 1``, ``"type": "control"``)::

    {"v":1,"type":"control","action":"mark_baseline","time_ns":...,"source":"monitor"}
    {"v":1,"type":"control","action":"set_target","cadence_spm":178.0,"time_ns":...}
    {"v":1,"type":"control","action":"set_target","increase_pct":7.5,"time_ns":...}
    {"v":1,"type":"control","action":"set_target","cadence_spm":null,"time_ns":...}   # no target

``set_target`` is published *retained* (a restarted processor or a second monitor learns the
target), ``mark_baseline`` is not (it is an action, never to be replayed). QoS 1.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal, Self

from pydantic import Field, model_validator

from footfall.core.ids import check_id
from footfall.wire.events import EventError, Name, TimedEvent
from footfall.wire.topics import ROOT, SESSION_DEVICE, Stream

CONTROL_STREAM = Stream.CONTROL.value
Action = Literal["mark_baseline", "set_target"]
ACTIONS: tuple[str, ...] = ("mark_baseline", "set_target")
#: a cadence target is a step rate a runner can hold
TargetSpm = Annotated[float, Field(gt=0.0, le=300.0)]
IncreasePct = Annotated[float, Field(gt=0.0, le=50.0)]


def control_topic(athlete: str, session: str) -> str:
    check_id("athlete", athlete)
    check_id("session", session)
    return f"{ROOT}/{athlete}/{session}/{SESSION_DEVICE}/{CONTROL_STREAM}"


class ControlCommand(TimedEvent):
    """``mark_baseline``, or ``set_target`` with an absolute cadence, an increase over the
    baseline, or neither (no target)."""

    TYPE: ClassVar[str] = "control"
    type: Literal["control"] = "control"
    action: Action
    cadence_spm: TargetSpm | None = None
    increase_pct: IncreasePct | None = None
    source: Name = "monitor"

    @model_validator(mode="after")
    def _one_target(self) -> Self:
        if self.cadence_spm is not None and self.increase_pct is not None:
            raise ValueError("set_target takes cadence_spm or increase_pct, not both")
        return self

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
