"""MQTT topic scheme: ``footfall/v1/<athlete>/<session>/<device>/<stream>``.

One topic per device and stream keeps per-sensor ordering (MQTT orders per topic) and lets a
stateful processor own whole devices. Ids are restricted so they can never contain MQTT
wildcards or separators.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from footfall.core.errors import InputError
from footfall.core.ids import IdError, check_id

ROOT: Final = "footfall/v1"
#: the pseudo-device under which session-wide derived streams (active alerts) are published
SESSION_DEVICE: Final = "session"


class Stream(StrEnum):
    IMU = "imu"  # binary ImuFrame, QoS 1
    RSC = "rsc"  # JSON foot-pod sample (speed, cadence), QoS 1
    META = "meta"  # JSON DeviceMeta, retained
    STATUS = "status"  # JSON DeviceStatus, retained, also the last will
    STEP = "step"  # JSON StepEvent
    METRICS = "metrics"  # JSON MetricsEvent, once per second of sensor time
    SESSION_METRICS = "session_metrics"  # JSON SessionMetricsEvent of device session, 1/s
    ALERT = "alert"  # JSON alert start/clear events
    ALERTS_ACTIVE = "alerts"  # JSON list of active alerts, retained
    PAUSE = "pause"  # JSON PauseEvent, a break in running (a stop or a walk) when it ends
    SUMMARY = "summary"  # JSON DeviceSummary, once per device when its session ends
    CONTROL = "control"  # JSON ControlCommand to the processor (baseline, targets, feedback)
    FEEDBACK = "feedback"  # JSON FeedbackEvent: a feedback channel switched on/off or changed
    FEEDBACK_STATE = "feedback_state"  # JSON FeedbackState: targets and feedback now, retained
    NOTE = "note"  # JSON SessionNote: pain, shoes, belt speed, as the therapist entered them


#: what the processor takes: what devices send, and the therapist's commands. A replay
#: republishes these, so the processor derives everything else again as it did live
INPUT_STREAMS: Final = frozenset({Stream.IMU, Stream.RSC, Stream.META, Stream.STATUS,
                                  Stream.CONTROL})
#: what the processor derives
DERIVED_STREAMS: Final = frozenset(set(Stream) - INPUT_STREAMS)
#: derived streams the processor reads back: its own retained feedback state, so that a
#: restarted processor resumes a session's targets and feedback schedules (docs/coach.md)
RESUME_STREAMS: Final = frozenset({Stream.FEEDBACK_STATE})
#: published with the MQTT retain flag (docs/wire.md)
RETAINED_STREAMS: Final = frozenset({Stream.META, Stream.STATUS, Stream.ALERTS_ACTIVE,
                              Stream.FEEDBACK_STATE})


class TopicError(InputError):
    """A topic does not follow the footfall scheme."""


@dataclass(frozen=True, slots=True)
class Topic:
    athlete: str
    session: str
    device: str
    stream: Stream

    def __post_init__(self) -> None:
        try:
            check_id("athlete", self.athlete)
            check_id("session", self.session)
            check_id("device", self.device)
        except IdError as exc:
            raise TopicError(exc.reason) from None

    def __str__(self) -> str:
        # (str() of a StrEnum is its value, without the enum's Python-level property)
        return f"{ROOT}/{self.athlete}/{self.session}/{self.device}/{self.stream!s}"

    @classmethod
    def parse(cls, topic: str) -> Topic:
        parts = topic.split("/")
        if len(parts) != 6 or "/".join(parts[:2]) != ROOT:
            raise TopicError(f"topic {topic!r} is not {ROOT}/<athlete>/<session>/<device>/<stream>")
        try:
            stream = Stream(parts[5])
        except ValueError:
            raise TopicError(f"unknown stream {parts[5]!r} in topic {topic!r}") from None
        return cls(parts[2], parts[3], parts[4], stream)


def subscription(
    athlete: str = "+", session: str = "+", device: str = "+", stream: Stream | str = "+"
) -> str:
    """A subscription filter; any part left as ``+`` matches everything at that level."""
    value = stream.value if isinstance(stream, Stream) else stream
    return f"{ROOT}/{athlete}/{session}/{device}/{value}"
