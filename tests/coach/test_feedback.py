"""The feedback engine: schedules, probes and targets on the session's own time (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from footfall.core.units import NS
from footfall.processing.feedback import FeedbackEngine
from footfall.wire.control import ControlCommand
from footfall.wire.events import EventError, FeedbackEvent, FeedbackState, SessionNote

T0 = 1_795_540_800 * NS


def cmd(**fields: Any) -> ControlCommand:
    return ControlCommand(time_ns=T0 + fields.pop("at_s", 0) * NS, source="coach", **fields)


def play(engine: FeedbackEngine, commands: dict[float, ControlCommand], until_s: float,
         step_s: float = 0.35) -> list[FeedbackEvent]:
    """Data every ``step_s`` (a step's time), the commands at their session times."""
    out: list[Any] = []
    pending = sorted(commands.items())
    t = 0.0
    while t <= until_s:
        while pending and pending[0][0] <= t:
            at, command = pending.pop(0)
            out += engine.command(command, T0 + round(at * NS))
        out += engine.advance(T0 + round(t * NS))
        t += step_s
    return [e for e in out if isinstance(e, FeedbackEvent)]


def when(events: list[FeedbackEvent]) -> list[tuple[float, str, bool, str]]:
    return [(round((e.time_ns - T0) / NS, 3), e.channel, e.feedback_on, e.reason)
            for e in events]


def test_no_command_no_event() -> None:
    assert play(FeedbackEngine(), {}, 60) == []


def test_blocks_switch_exactly_at_their_boundaries() -> None:
    """5 + 5 minutes (Wood & Kipp), here 1 + 1: events at the boundary times, not at the
    data that revealed them."""
    events = play(FeedbackEngine(), {10.0: cmd(action="set_feedback", channel="impact",
                                               mode="faded", schedule="blocks", on_min=1.0,
                                               off_min=1.0)}, 300)
    assert when(events) == [
        (10.0, "impact", True, "therapist"), (70.0, "impact", False, "schedule"),
        (130.0, "impact", True, "schedule"), (190.0, "impact", False, "schedule"),
        (250.0, "impact", True, "schedule")]
    assert {e.fraction_pct for e in events} == {50.0}


def test_fade_gives_less_feedback_each_cycle() -> None:
    """100 % → 0 % over 4 minutes in 60 s cycles: on for 60, 45, 30, 15, 0 s of each."""
    events = play(FeedbackEngine(), {0.0: cmd(action="set_feedback", channel="cadence",
                                              mode="faded", schedule="fade", fade_min=4.0)}, 400)
    assert [(t, on) for t, _, on, _ in when(events)] == [
        (0.0, True), (60.0, True), (105.0, False), (120.0, True), (150.0, False), (180.0, True),
        (195.0, False), (240.0, False)]
    assert [e.fraction_pct for e in events] == [100, 75, 75, 50, 50, 25, 25, 0]
    assert all(e.since_ns == T0 for e in events)


def test_a_probe_switches_every_channel_off_and_back() -> None:
    events = play(FeedbackEngine(), {
        0.0: cmd(action="set_feedback", channel="cadence", mode="continuous"),
        30.0: cmd(action="probe", probe_min=2.0)}, 200)
    assert when(events) == [(0.0, "cadence", True, "therapist"), (30.0, "cadence", False, "probe"),
                            (30.0, "impact", False, "probe"), (150.0, "cadence", True, "probe"),
                            (150.0, "impact", False, "probe")]  # the probe's end, also when off
    assert [e.probe for e in events] == [False, True, True, False, False]
    # ended early by the therapist
    events = play(FeedbackEngine(), {0.0: cmd(action="probe", probe_min=5.0),
                                     20.0: cmd(action="probe", probe_min=0.0)}, 60)
    assert [(t, on) for t, _, on, _ in when(events)] == [(0.0, False), (0.0, False),
                                                          (20.0, False), (20.0, False)]
    assert [e.probe for e in events] == [True, True, False, False]


def test_targets_are_in_every_event_and_a_relative_one_when_its_baseline_is_known() -> None:
    baseline: list[float | None] = [None]
    engine = FeedbackEngine(lambda: None if baseline[0] is None else baseline[0] * 1.075)
    out = engine.command(cmd(action="set_feedback", channel="cadence", mode="bandwidth"), T0)
    out += engine.command(cmd(action="set_impact_target", impact_pct=80.0), T0 + NS)
    out += engine.command(cmd(action="set_feedback", channel="impact", mode="continuous"),
                          T0 + 2 * NS)
    assert engine.advance(T0 + 3 * NS) == []  # nothing changed: no event, no snapshot
    baseline[0] = 160.0
    later = engine.advance(T0 + 4 * NS)
    events = [e for e in out + later if isinstance(e, FeedbackEvent)]
    assert [(e.channel, e.reason, e.cadence_target_spm, e.impact_target_pct) for e in events] == [
        ("cadence", "therapist", None, None), ("impact", "therapist", None, 80.0),
        ("cadence", "baseline", pytest.approx(172.0), 80.0)]
    assert events[0].band_pct == 3.0 and events[0].metronome == "auto"  # the defaults
    assert isinstance(later[-1], FeedbackState) and later[-1].cadence == events[-1]


def test_a_restored_engine_continues_the_schedule() -> None:
    """A restarted processor adopts the retained snapshot and switches where the first would."""
    commands = {5.0: cmd(action="set_feedback", channel="impact", mode="faded",
                         schedule="blocks", on_min=0.5, off_min=0.5, at_s=5),
                12.0: cmd(action="probe", probe_min=1.0, at_s=12)}
    whole = FeedbackEngine()
    events = play(whole, commands, 200)
    first = FeedbackEngine()
    play(first, commands, 100)
    second = FeedbackEngine()
    assert second.restore(first.state())
    assert not second.restore(first.state())  # the same commands: nothing to adopt
    resumed = [e for e in play(second, {}, 200) if e.time_ns > T0 + 100 * NS]
    assert resumed == [e for e in events if e.time_ns > T0 + 100 * NS]
    assert resumed  # the test had switches to compare


def test_notes_merge_into_the_snapshot() -> None:
    engine = FeedbackEngine()
    out = engine.command(cmd(action="note", pain_score=3, shoes="Pegasus 40"), T0)
    out += engine.command(cmd(action="note", belt_speed_kmh=10.8), T0 + NS)
    notes = [e for e in out if isinstance(e, SessionNote)]
    assert [(n.pain_score, n.belt_speed_kmh) for n in notes] == [(3, None), (None, 10.8)]
    state = engine.state()
    assert state.notes is not None
    assert (state.notes.pain_score, state.notes.shoes, state.notes.belt_speed_kmh) == (
        3, "Pegasus 40", 10.8)


@pytest.mark.parametrize(("fields", "reason"), [
    ({"action": "set_feedback", "channel": "impact"}, "needs a channel"),
    ({"action": "set_feedback", "channel": "impact", "mode": "faded"}, "needs a schedule"),
    ({"action": "set_feedback", "channel": "impact", "mode": "faded", "schedule": "blocks",
      "on_min": 1.0}, "on_min and off_min"),
    ({"action": "set_feedback", "channel": "impact", "mode": "continuous", "fade_min": 3.0},
     "belong to mode faded"),
    ({"action": "set_feedback", "channel": "impact", "mode": "continuous", "band_pct": 3.0},
     "settings of the cadence channel"),
    ({"action": "set_impact_target", "impact_pct": 80.0, "cadence_spm": 170.0},
     "takes no cadence_spm"),
    ({"action": "set_impact_target", "impact_pct": 5.0}, "greater than or equal to 10"),
    ({"action": "probe"}, "needs probe_min"),
    ({"action": "probe", "probe_min": "5"}, "valid number"),
    ({"action": "note"}, "needs one of"),
    ({"action": "note", "pain_score": 11}, "less than or equal to 10"),
    ({"action": "note", "pain_score": 3.5}, "valid integer"),
    ({"action": "note", "belt_speed_kmh": 99.0}, "less than or equal to 40"),
    ({"action": "note", "shoes": "x" * 101}, "at most 100"),
    ({"action": "set_feedback", "channel": "knee", "mode": "off"}, "channel"),
    ({"action": "launch"}, "action"),
])
def test_commands_are_validated_like_every_wire_event(fields: dict[str, Any],
                                                      reason: str) -> None:
    payload = {"v": 1, "type": "control", "time_ns": T0, **fields}
    with pytest.raises(EventError, match=reason):
        ControlCommand.from_dict(payload)


def test_commands_round_trip_and_set_target_still_works() -> None:
    for command in (ControlCommand.set_target(T0, cadence_spm=178.0),
                    ControlCommand.set_target(T0, increase_pct=7.5),
                    cmd(action="set_feedback", channel="cadence", mode="faded", schedule="fade",
                        fade_min=20.0, metronome="on", auto_steps=6, volume_pct=50.0),
                    cmd(action="note", text="left knee 2/10 after 10 min")):
        assert ControlCommand.from_json(command.to_json()) == command
    assert ControlCommand.set_target(T0).retain
    assert not cmd(action="probe", probe_min=3.0).retain
