"""The live processor's batches (``SessionRouter.handle_many``: frames of many streams analysed
together) give every message exactly the events, in the same order, and the same verdict that
``handle`` gives it one message at a time — however the messages are cut into batches and
however the streams interleave: gaps, a resent frame, frames out of order, a foot pod, a
therapist's command, a sensor going offline and back, a rate change, hostile payloads.

The batched runs also log no error: a batch whose joint analysis raises falls back to each
frame on its own (``session.append_together``) with the same events, so only its log shows
that the batched path broke."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from footfall.core.vocab import Placement, Side
from footfall.processing.router import SessionRouter
from footfall.simulators.framing import to_frames
from footfall.simulators.runner import RunnerParams, render, simulate_gait
from footfall.wire.control import ControlCommand
from footfall.wire.events import DeviceMeta, DeviceStatus, RscSample
from footfall.wire.frame import encode
from footfall.wire.topics import SESSION_DEVICE, Stream, Topic

START_NS = 1_795_540_800_000_000_000
DURATION_S = 24.0


def _session(athlete: str, seed: int, rate_hz: float) -> list[tuple[int, int, str, bytes]]:
    """(time, order, topic, payload) of one session: two tibias and a sacrum."""
    params = RunnerParams(sample_rate_hz=rate_hz, accel_range_g=16, seed=seed)
    gait = simulate_gait(params, DURATION_S)
    items: list[tuple[int, int, str, bytes]] = []
    devices = [("tibia-left", Placement.TIBIA, Side.LEFT), ("tibia-right", Placement.TIBIA,
                                                              Side.RIGHT),
               ("sacrum", Placement.SACRUM, Side.NONE)]
    for order, (device, placement, side) in enumerate(devices):
        run = render(gait, replace(params, side=side, placement=placement))
        meta = DeviceMeta(profile="sim", placement=placement, side=side, sample_rate_hz=rate_hz,
                          accel_range_g=16)
        items.append((START_NS - 1, order, str(Topic(athlete, "s1", device, Stream.META)),
                      meta.to_json()))
        frames, _ = to_frames(run, start_utc_ns=START_NS, samples_per_frame=20 + 5 * order)
        for k, timed in enumerate(frames):
            frame = timed.frame
            if device == "tibia-right" and 300 <= k < 330:
                continue  # a gap of 30 frames
            if device == "sacrum" and k >= len(frames) // 2:
                frame = frame.replace(sample_rate_hz=rate_hz * 1.01)  # the measured rate
            topic = str(Topic(athlete, "s1", device, Stream.IMU))
            items.append((frame.utc_ns, order, topic, encode(frame)))
            if device == "tibia-left" and k == 200:
                items.append((frame.utc_ns + 1, order, topic, encode(frame)))  # resent
            if device == "tibia-left" and k == 250:
                items.append((frame.utc_ns + 1, order, topic, b"FF\x01garbage"))
    status = Topic(athlete, "s1", "tibia-right", Stream.STATUS)
    items.append((START_NS + 15 * 10**9, 1, str(status),
                   DeviceStatus(online=False, reason="link lost").to_json()))
    items.append((START_NS + 16 * 10**9, 1, str(status),
                   DeviceStatus(online=True, reason="streaming").to_json()))
    control = Topic(athlete, "s1", SESSION_DEVICE, Stream.CONTROL)
    items.append((START_NS + 6 * 10**9, 9, str(control),
                  ControlCommand(action="mark_baseline", time_ns=START_NS + 6 * 10**9)
                  .to_json()))
    pod = str(Topic(athlete, "s1", "pod", Stream.RSC))
    for i in range(int(DURATION_S)):
        t = START_NS + i * 10**9
        items.append((t, 5, pod, RscSample(time_ns=t, speed_mps=3.0, cadence_spm=168.0)
                      .to_json()))
    return items


def _messages() -> list[tuple[str, bytes]]:
    items = _session("anna", 1, 500.0) + _session("ben", 2, 1000.0)
    items.sort(key=lambda item: (item[0], item[1]))
    messages = [(topic, payload) for _, _, topic, payload in items]
    # two frames of a sensor swapped in transit
    i = next(i for i, (t, _) in enumerate(messages) if t.endswith("tibia-left/imu")
             and i > 3000)
    j = next(j for j in range(i + 1, len(messages)) if messages[j][0] == messages[i][0])
    messages[i], messages[j] = messages[j], messages[i]
    return messages


MESSAGES = _messages()


def WholeWay() -> SessionRouter:
    """A router whose every frame goes the whole way (no lanes): the reference for them."""
    return SessionRouter(lanes=False)


def _one_by_one(messages: list[tuple[str, bytes]], router_type: Callable[[], SessionRouter] =
                SessionRouter, finish_at: int | None = None
                ) -> list[tuple[list[tuple[str, bytes]], bool]]:
    """Each message's events and verdict; ``finish_at``: ben's session is finished (by a
    command to the router) before that message, and goes on as a new one."""
    router = router_type()
    out = []
    for k, (topic, payload) in enumerate(messages):
        if k == finish_at:
            out.append(([(str(t), e.to_json()) for t, e in router.finish_session("ben", "s1")],
                        True))
        rejected = router.stats.rejected
        events = [(str(t), e.to_json()) for t, e in router.handle(topic, payload)]
        out.append((events, router.stats.rejected == rejected))
    return [*out, ([(str(t), e.to_json()) for t, e in router.finish()], True)]


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def _no_error_logged() -> Iterator[None]:
    errors = _Errors()
    logger = logging.getLogger("footfall")
    logger.addHandler(errors)
    try:
        yield
    finally:
        logger.removeHandler(errors)
    # (the first and the count: a broken batched path logs once a batch, thousands of times)
    assert not errors.records, (f"{len(errors.records)} error(s) logged, the first: "
                                f"{errors.records[0].getMessage()}")


def _batched(messages: list[tuple[str, bytes]], sizes: list[int]
             ) -> list[tuple[list[tuple[str, bytes]], bool]]:
    with _no_error_logged():
        return _batched_run(messages, sizes)


def _batched_run(messages: list[tuple[str, bytes]], sizes: list[int]
                 ) -> list[tuple[list[tuple[str, bytes]], bool]]:
    router = SessionRouter()
    out: list[Any] = []
    at, k = 0, 0

    def done(index: int, events: list[Any], accepted: bool) -> None:
        assert at + index == len(out)  # message after message of the batch, each once
        out.append(([(str(t), e.to_json()) for t, e in events], accepted))

    while at < len(messages):
        size = sizes[k % len(sizes)]
        router.handle_many(messages[at:at + size], done)
        at, k = at + size, k + 1
        assert len(out) == min(at, len(messages))
    return [*out, ([(str(t), e.to_json()) for t, e in router.finish()], True)]


REFERENCE = _one_by_one(MESSAGES)


def test_the_reference_has_what_the_batches_are_checked_on() -> None:
    events = [topic for out, _ in REFERENCE for topic, _ in out]
    for stream in ("step", "metrics", "session_metrics"):
        assert sum(t.endswith("/" + stream) for t in events) > 10, stream
    assert sum(t.endswith("/summary") for t in events) == 8  # every device of both sessions
    assert any(t.endswith("/alert") for t in events)
    assert sum(not ok for _, ok in REFERENCE) == 2  # the garbage frame, twice


def test_frames_next_in_line_take_a_lane_with_the_same_events_as_the_whole_way() -> None:
    """Most frames skip the topic, session and gate lookups (the router's lanes); every
    message still gets what the whole way gives it: out-of-order, resent and garbage frames
    leave their lane, and a session that finishes closes the lanes."""
    router = SessionRouter()
    for topic, payload in MESSAGES[:500]:
        router.handle(topic, payload)
    assert router._lanes  # (the test would otherwise compare the whole way with itself)
    assert _one_by_one(MESSAGES, WholeWay) == REFERENCE
    middle = len(MESSAGES) // 2
    assert _one_by_one(MESSAGES, finish_at=middle) == \
        _one_by_one(MESSAGES, WholeWay, finish_at=middle)


@settings(max_examples=12, deadline=None)
@given(sizes=st.lists(st.integers(1, 3000), min_size=1, max_size=5))
def test_any_batches_give_each_message_the_same_events(sizes: list[int]) -> None:
    assert _batched(MESSAGES, sizes) == REFERENCE


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), size=st.sampled_from([50, 1000]))
def test_streams_in_bursts_give_the_same_events(seed: int, size: int) -> None:
    """A backlog as a broker may hand it over: each sensor's frames in runs of a few."""
    rng = random.Random(seed)
    by_topic: dict[str, list[tuple[str, bytes]]] = {}
    for message in MESSAGES:
        by_topic.setdefault(message[0], []).append(message)
    queues = list(by_topic.values())
    shuffled: list[tuple[str, bytes]] = []
    while any(queues):
        queue = rng.choice([q for q in queues if q])
        run = rng.randint(1, 6)
        shuffled += queue[:run]
        del queue[:run]
    assert _batched(shuffled, [size]) == _one_by_one(shuffled)


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), lost_pct=st.sampled_from([3, 10, 30]))
def test_streams_with_lost_frames_give_the_same_events(seed: int, lost_pct: int) -> None:
    """Frames lost on the way (a broker past its queue limit drops what comes in): the gates
    hold the frames after each hole and release them in bursts, a burst of one stream in one
    message (processing/session.py ``feed_frames``). Each message still gets the events it
    gets one at a time, in their order (before, a burst's frames that waited to be analysed
    together had their events ahead of the burst's first frame's)."""
    rng = random.Random(seed)
    lossy = [m for m in MESSAGES if not (m[0].endswith("/imu") and rng.random() < lost_pct / 100)]
    assert _batched(lossy, [1000]) == _one_by_one(lossy)


def test_a_failing_hand_on_stops_the_batch_with_every_stream_consistent() -> None:
    """on_done raising (the service's output failing: a full disk) is raised by handle_many,
    not blamed on the message being handled; the batch stops there (what was not taken comes
    again), and the router is exactly a router that took the messages up to that point."""
    head, batch, tail = MESSAGES[:3000], MESSAGES[3000:3200], MESSAGES[3200:3800]
    router = SessionRouter()
    for topic, payload in head:
        router.handle(topic, payload)
    calls: list[int] = []

    def done(index: int, _events: list[Any], _accepted: bool) -> None:
        calls.append(index)
        if index == 50:
            raise OSError("disk full")

    try:
        router.handle_many(batch, done)
    except OSError as exc:
        assert str(exc) == "disk full"
    else:
        raise AssertionError("handle_many did not raise what on_done raised")
    assert calls == list(range(51)) and router.stats.internal_errors == 0
    later = [[(str(t), e.to_json()) for t, e in router.handle(*m)] for m in tail]
    taken = []
    for k in range(51, 90):  # the batch stopped after the message being handled then
        reference = SessionRouter()
        for topic, payload in head + batch[:k]:
            reference.handle(topic, payload)
        taken.append([[(str(t), e.to_json()) for t, e in reference.handle(*m)] for m in tail]
                     == later)
    assert any(taken)
