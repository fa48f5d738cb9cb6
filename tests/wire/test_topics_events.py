"""Topic scheme and JSON events."""

from __future__ import annotations

import json

import pytest

from footfall.wire.events import (
    AlertEvent,
    DeviceMeta,
    EventError,
    StepEvent,
    load,
    utc_iso,
)
from footfall.wire.topics import Stream, Topic, TopicError, subscription


def test_topic_round_trip_and_subscription() -> None:
    topic = Topic("ann", "20261124T170000Z", "tibia-left", Stream.IMU)
    assert str(topic) == "footfall/v1/ann/20261124T170000Z/tibia-left/imu"
    assert Topic.parse(str(topic)) == topic
    assert subscription(stream=Stream.STEP) == "footfall/v1/+/+/+/step"


@pytest.mark.parametrize("bad", ["a/b", "+", "#", "", "-leading", "x" * 65, "sp ace"])
def test_ids_that_could_break_topics_are_refused(bad: str) -> None:
    with pytest.raises(TopicError, match="invalid"):
        Topic(bad, "s", "d", Stream.IMU)


@pytest.mark.parametrize("text", ["footfall/v1/a/s/d", "other/v1/a/s/d/imu",
                                  "footfall/v1/a/s/d/nope"])
def test_foreign_topics_are_refused(text: str) -> None:
    with pytest.raises(TopicError):
        Topic.parse(text)


def test_step_event_round_trip_keeps_every_field() -> None:
    step = StepEvent(time_ns=1_795_540_800_123_000_000, sensor_time_s=84.123, impact_g=11.2,
                     cadence_spm=171.4, interval_s=0.7, side="left", placement="tibia",
                     clipped=False, confidence=0.97, loading_rate_gps=620.0)
    body = json.loads(step.to_json())
    assert body["v"] == 1 and body["type"] == "step"
    assert body["time_utc"] == "2026-11-24T17:20:00.123Z"
    assert body["loading_rate_gps"] == 620.0
    assert StepEvent.from_json(step.to_json()) == step


def test_event_errors_say_why() -> None:
    with pytest.raises(EventError, match="not JSON"):
        load(b"\xff")
    with pytest.raises(EventError, match="schema version"):
        load(b'{"v": 2, "type": "step"}')
    with pytest.raises(EventError, match="expected a 'meta' event"):
        DeviceMeta.from_json(b'{"v": 1, "type": "step"}')
    with pytest.raises(EventError, match="missing a field"):
        AlertEvent.from_json(b'{"v": 1, "type": "alert", "time_ns": 1}')


def test_utc_iso_is_utc_with_milliseconds() -> None:
    assert utc_iso(0) == "1970-01-01T00:00:00.000Z"
    assert utc_iso(1_500) == "1970-01-01T00:00:00.000Z"
    assert utc_iso(999_999_999) == "1970-01-01T00:00:00.999Z"
