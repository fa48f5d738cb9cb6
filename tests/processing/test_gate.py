"""The router's gate: frames back in order, nothing analysed before its sensor's meta, bounded
sessions — each against the sample session analysed in order with nothing missing."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from footfall.config.limits import Limits
from footfall.processing.router import Routed, SessionRouter
from footfall.recordings.session_file import SessionMessage, iter_messages
from footfall.wire.control import ControlCommand
from footfall.wire.events import AlertEvent, DeviceStatus, StepEvent
from footfall.wire.topics import INPUT_STREAMS, Stream

SAMPLE = Path(__file__).resolve().parents[2] / "footfall" / "data" / "sample-session.mcap"


@pytest.fixture(scope="module")
def messages() -> list[SessionMessage]:
    """The first 100 s of the sample session (two tibias)."""
    every = list(iter_messages(SAMPLE, INPUT_STREAMS))
    t0 = every[0].log_time_ns
    return [m for m in every if m.log_time_ns - t0 < 100e9]


def _steps(out: list[Routed]) -> list[tuple[str, int, float, str]]:
    return [(topic.device, e.time_ns, round(e.impact_g, 6), e.side.value)
            for topic, e in out if isinstance(e, StepEvent)]


def _run(messages: list[SessionMessage], router: SessionRouter | None = None) -> list[Routed]:
    router = router or SessionRouter()
    out: list[Routed] = []
    for m in messages:
        out += router.handle(str(m.topic), m.payload)
    return out + router.finish()


@pytest.fixture(scope="module")
def in_order(messages: list[SessionMessage]) -> list[tuple[str, int, float, str]]:
    steps = _steps(_run(messages))
    assert len(steps) > 250 and {s[3] for s in steps} == {"left", "right"}
    return steps


def _swapped(messages: list[SessionMessage], seed: int) -> list[SessionMessage]:
    """Neighbouring frames of a sensor swapped, here and there (a broker or spool replay)."""
    out = list(messages)
    rng = random.Random(seed)
    for i in range(len(out) - 2):
        a, b = out[i], out[i + 1]
        if (a.topic.stream is b.topic.stream is Stream.IMU and rng.random() < 0.1):
            out[i], out[i + 1] = b, a
    return out


@pytest.mark.parametrize("seed", [1, 2])
def test_swapped_frames_give_the_same_steps(messages: list[SessionMessage],
                                            in_order: list[tuple[str, int, float, str]],
                                            seed: int) -> None:
    swapped = _swapped(messages, seed)
    assert swapped != messages
    assert _steps(_run(swapped)) == in_order


def test_without_a_window_swapped_frames_are_lost(messages: list[SessionMessage],
                                                  in_order: list[tuple[str, int, float, str]]
                                                  ) -> None:
    """The window is what saves them (the test above cannot pass by accident)."""
    router = SessionRouter(limits=Limits(reorder_window_frames=0))
    assert len(_steps(_run(_swapped(messages, 1), router))) < len(in_order)


def test_a_lost_frame_is_given_up_after_the_window(messages: list[SessionMessage]) -> None:
    imu = [i for i, m in enumerate(messages) if m.topic.stream is Stream.IMU]
    lost = imu[len(imu) // 2]
    router = SessionRouter(limits=Limits(reorder_window_frames=4))
    steps = _steps(_run(messages[:lost] + messages[lost + 1:], router))
    assert len(steps) > 250
    assert router.stats.frames == len(imu) - 1  # every other frame reached the analysis


def _meta_last(messages: list[SessionMessage]) -> Iterator[SessionMessage]:
    """What a restarted processor receives: queued frames first, the retained meta after."""
    metas = [m for m in messages if m.topic.stream is Stream.META]
    rest = [m for m in messages if m.topic.stream is not Stream.META]
    yield from rest[:2000]
    yield from metas
    yield from rest[2000:]


def test_frames_before_the_meta_wait_for_it(messages: list[SessionMessage],
                                            in_order: list[tuple[str, int, float, str]]
                                            ) -> None:
    # the held frames are analysed a little later, so the legs interleave differently
    assert sorted(_steps(_run(list(_meta_last(messages))))) == sorted(in_order)


def test_a_meta_that_never_comes_is_not_waited_for_forever(messages: list[SessionMessage]
                                                           ) -> None:
    router = SessionRouter(limits=Limits(meta_wait_messages=100))
    no_meta = [m for m in messages if m.topic.stream is not Stream.META]
    out: list[Routed] = []
    for m in no_meta[:1000]:
        out += router.handle(str(m.topic), m.payload)
    assert router.stats.frames > 800  # analysed after 100 held messages, untagged
    assert {e.side.value for _, e in out if isinstance(e, StepEvent)} <= {"none"}


def test_the_last_strike_comes_when_a_sensor_goes_offline(messages: list[SessionMessage]
                                                          ) -> None:
    """A strike waiting for its look-ahead when the sensor goes is decided then, not when the
    session ends (which may be much later)."""
    device = "tibia-left"
    status = next(m.topic for m in messages
                  if m.topic.stream is Stream.STATUS and m.topic.device == device)
    offline = DeviceStatus(online=False, reason="lost").to_json()
    mine = [m for m in messages if m.topic.device == device]
    for cut in range(len(mine) - 1, len(mine) - 60, -1):
        router = SessionRouter()
        for m in mine[:cut]:
            router.handle(str(m.topic), m.payload)
        at_offline = _steps(router.handle(str(status), offline))
        if at_offline:
            break
    else:
        pytest.fail("no strike was ever waiting: the test cannot show anything")
    assert _steps(router.finish()) == []  # nothing of it was left for the end
    # and it is the strike the end of the session would have given
    again = SessionRouter()
    for m in mine[:cut]:
        again.handle(str(m.topic), m.payload)
    assert _steps(again.finish()) == at_offline


META = (b'{"v":1,"type":"meta","time_ns":1795540800000000000,"profile":"footfall",'
        b'"placement":"tibia","side":"left","sample_rate_hz":500,"accel_range_g":16}')
#: a command starts a session
START = ControlCommand(action="mark_baseline", time_ns=1_795_540_800_000_000_000).to_json()


def test_sessions_are_capped_and_idle_ones_end() -> None:
    clock = [1_795_540_800_000_000_000]
    rejected: list[str] = []
    router = SessionRouter(clock=lambda: clock[0], limits=Limits(max_sessions=3,
                                                                  session_idle_s=60),
                           on_reject=lambda source, reason, payload: rejected.append(reason))
    for k in range(5):
        router.handle(f"footfall/v1/a/s{k}/session/control", START)
    assert len(router.sessions) == 3
    assert len(rejected) == 2 and "limits.max_sessions" in rejected[0]
    clock[0] += 61 * 10**9
    router.tick()
    assert router.sessions == {} and router.stats.sessions_expired == 3
    router.handle("footfall/v1/a/s9/session/control", START)
    assert list(router.sessions) == [("a", "s9")]


def test_retained_meta_and_status_of_old_sessions_open_nothing(
        messages: list[SessionMessage], in_order: list[tuple[str, int, float, str]]) -> None:
    """A restarted processor gets the retained meta and status of every session that ever
    ran on its broker. They wait for their session to start: they open no processor (300 of
    them would have filled ``max_sessions`` for ``session_idle_s``, refusing the run that
    starts now) and raise no ``sensor_offline`` alert for a session that ended long ago."""
    rejected: list[str] = []
    router = SessionRouter(clock=lambda: 1_795_540_800_000_000_000,
                           limits=Limits(max_sessions=200),
                           on_reject=lambda source, reason, payload: rejected.append(reason))
    lost = DeviceStatus(online=False, reason="link lost").to_json()  # not a normal end
    out: list[Routed] = []
    for k in range(300):
        for device in ("tibia-left", "tibia-right"):
            out += router.handle(f"footfall/v1/old/s{k}/{device}/meta", META)
            out += router.handle(f"footfall/v1/old/s{k}/{device}/status", lost)
    assert out == [] and router.sessions == {} and rejected == []
    # the run of today: its meta waits too, and is there when its first frame starts it
    assert sorted(_steps(_run(messages, router))) == sorted(in_order)
    assert rejected == [] and router.stats.sessions_started == 1


def test_held_meta_of_a_session_that_never_starts_expires() -> None:
    clock = [1_795_540_800_000_000_000]
    router = SessionRouter(clock=lambda: clock[0], limits=Limits(session_idle_s=60))
    router.handle("footfall/v1/a/s1/tibia-left/meta", META)
    assert router.holds("a", "s1")
    clock[0] += 59 * 10**9
    router.tick()
    assert router.holds("a", "s1")
    clock[0] += 2 * 10**9
    router.tick()
    assert not router.holds("a", "s1") and router.sessions == {}


def test_a_held_status_applies_when_its_session_starts(messages: list[SessionMessage]) -> None:
    """A session that does start (the processor restarted during it) gets its devices' held
    status as if it came then: a device the broker says is offline is alerted on."""
    router = SessionRouter(clock=lambda: 1_795_540_800_000_000_000)
    session = messages[0].topic
    lost = DeviceStatus(online=False, reason="link lost").to_json()
    router.handle(f"footfall/v1/{session.athlete}/{session.session}/tibia-left/status", lost)
    assert router.sessions == {}
    first = next(m for m in messages if m.topic.stream is Stream.IMU)
    out = router.handle(str(first.topic), first.payload)
    assert [(t.device, e.rule, e.state) for t, e in out if isinstance(e, AlertEvent)] == \
        [("tibia-left", "sensor_offline", "start")]
    assert router.holds(session.athlete, session.session) is False


def test_a_held_status_says_its_alert_with_its_own_session(messages: list[SessionMessage]
                                                           ) -> None:
    """A session started from outside a message (``processor()``): its held status's alert
    comes with that session's next message, never with another session's."""
    router = SessionRouter(clock=lambda: 1_795_540_800_000_000_000)
    lost = DeviceStatus(online=False, reason="link lost").to_json()
    router.handle("footfall/v1/anna/s1/tibia-left/status", lost)
    router.processor("anna", "s1")
    first = next(m for m in messages if m.topic.stream is Stream.IMU)
    other = str(first.topic)  # the sample's own session, not anna/s1
    assert not any(isinstance(e, AlertEvent) for _, e in router.handle(other, first.payload))
    out = router.handle("footfall/v1/anna/s1/tibia-left/imu", first.payload)
    assert [(t.session, e.rule) for t, e in out if isinstance(e, AlertEvent)] == \
        [("s1", "sensor_offline")]
