"""What the coach server knows about each session, folded from the broker's messages (pure).

:func:`decode` validates one MQTT message (topic and payload, as every wire event is validated)
and turns it into the page message the browser gets; :class:`Sessions` keeps, per session, what a
page that joins late needs at once (each device's meta, latest metrics and step, the retained
feedback state and active alerts) and which session is the latest live one. Nothing here reads a
clock or touches the network: receive times are passed in.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from footfall.core.errors import InputError
from footfall.wire.control import ControlCommand
from footfall.wire.events import (
    EVENT_TYPES,
    MAX_EVENT_BYTES,
    AlertEvent,
    EventError,
    load,
)
from footfall.wire.topics import SESSION_DEVICE, Stream, Topic

#: what the server forwards to pages (the processor's derived events, and the devices' meta and
#: status so a page knows the legs); the control stream only for the retained target
STREAMS: tuple[Stream, ...] = (Stream.STEP, Stream.METRICS, Stream.SESSION_METRICS,
                               Stream.ALERT, Stream.SUMMARY,
                               Stream.META, Stream.STATUS, Stream.FEEDBACK,
                               Stream.FEEDBACK_STATE, Stream.NOTE, Stream.ALERTS_ACTIVE,
                               Stream.CONTROL)
#: data that makes a session "live" (the runner view follows the latest one)
LIVE_STREAMS = frozenset({Stream.STEP, Stream.METRICS})
#: a session is listed as live while its data is this fresh
LIVE_S = 30.0
#: sessions remembered (retained messages of old sessions arrive on every connect)
MAX_SESSIONS = 64
SessionKey = tuple[str, str]


@dataclass(frozen=True, slots=True)
class PageMessage:
    """One message for the pages of a session: ``kind`` (the stream), the device, the event."""

    athlete: str
    session: str
    device: str
    kind: str
    event: Any  # the validated event as JSON data (a list for the active alerts)
    recv_ns: int

    @property
    def key(self) -> SessionKey:
        return (self.athlete, self.session)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "athlete": self.athlete, "session": self.session,
                "device": self.device, "event": self.event, "recv_ns": self.recv_ns}


def decode(topic_text: str, payload: bytes, recv_ns: int) -> PageMessage | None:
    """A broker message as a page message; None for a cleared retained message. Raises
    :class:`InputError` (with its ``reason``) for anything malformed."""
    topic = Topic.parse(topic_text)
    if topic.stream not in STREAMS:
        raise InputError(f"the coach does not read {topic.stream} messages")
    if not payload:
        return None
    if topic.stream is Stream.ALERTS_ACTIVE:
        try:
            data = json.loads(payload) if len(payload) <= MAX_EVENT_BYTES else None
        except (UnicodeDecodeError, ValueError, RecursionError):
            data = None
        if not isinstance(data, list):
            raise EventError("the active alerts are not a JSON list")
        event: Any = [AlertEvent.from_dict(item).to_dict() | {"device": item.get("device")}
                      for item in data if isinstance(item, dict)]
    elif topic.stream is Stream.CONTROL:
        event = ControlCommand.from_json(payload).to_dict()
    else:
        cls = EVENT_TYPES[topic.stream.value]
        event = cls.from_dict(load(payload)).to_dict()
    if (topic.device == SESSION_DEVICE) != (topic.stream in _SESSION_STREAMS):
        raise InputError(f"{topic.stream} does not belong to device {topic.device!r}")
    return PageMessage(topic.athlete, topic.session, topic.device, topic.stream.value, event,
                       recv_ns)


_SESSION_STREAMS = frozenset({Stream.FEEDBACK, Stream.FEEDBACK_STATE, Stream.NOTE,
                              Stream.ALERTS_ACTIVE, Stream.CONTROL, Stream.SESSION_METRICS})


@dataclass(slots=True)
class SessionView:
    """What a late-joining page of one session needs at once."""

    athlete: str
    session: str
    meta: dict[str, Any] = field(default_factory=dict)  # per device
    status: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)  # the latest per device
    step: dict[str, Any] = field(default_factory=dict)  # the latest per device
    session_metrics: Any = None  # the processor's session cadence (all devices)
    feedback_state: Any = None
    alerts: Any = None
    target: Any = None  # the retained set_target command
    last_data_ns: int | None = None
    ended: bool = False  # every device sent its summary

    def apply(self, msg: PageMessage) -> None:
        kind, device = msg.kind, msg.device
        if kind in (Stream.META.value, Stream.STATUS.value, Stream.METRICS.value,
                    Stream.STEP.value):
            getattr(self, kind)[device] = msg.event
        elif kind == Stream.FEEDBACK_STATE.value:
            self.feedback_state = msg.event
        elif kind == Stream.SESSION_METRICS.value:
            self.session_metrics = msg.event
        elif kind == Stream.ALERTS_ACTIVE.value:
            self.alerts = msg.event
        elif kind == Stream.CONTROL.value and msg.event.get("action") == "set_target":
            self.target = msg.event
        if kind in (Stream.STEP.value, Stream.METRICS.value):
            self.last_data_ns = msg.recv_ns
            self.ended = False
        elif kind == Stream.SUMMARY.value:
            self.ended = True

    def snapshot(self) -> dict[str, Any]:
        return {"kind": "snapshot", "athlete": self.athlete, "session": self.session,
                "meta": self.meta, "status": self.status, "metrics": self.metrics,
                "step": self.step, "session_metrics": self.session_metrics,
                "feedback_state": self.feedback_state,
                "alerts": self.alerts, "target": self.target}

    def live(self, now_ns: int) -> bool:
        return (self.last_data_ns is not None and not self.ended
                and now_ns - self.last_data_ns < LIVE_S * 1e9)


class Sessions:
    """Every session seen, the most recently active last."""

    def __init__(self, limit: int = MAX_SESSIONS) -> None:
        self.limit = limit
        self._views: OrderedDict[SessionKey, SessionView] = OrderedDict()

    def apply(self, msg: PageMessage) -> tuple[SessionView, bool]:
        """Fold ``msg`` in; (its session, True if it just became live)."""
        view = self._views.get(msg.key)
        if view is None:
            view = self._views[msg.key] = SessionView(msg.athlete, msg.session)
            while len(self._views) > self.limit:
                self._views.popitem(last=False)
        was_live = view.last_data_ns is not None and not view.ended
        view.apply(msg)
        started = Stream(msg.kind) in LIVE_STREAMS and not was_live
        if Stream(msg.kind) in LIVE_STREAMS:
            self._views.move_to_end(msg.key)
        return view, started

    def get(self, athlete: str, session: str) -> SessionView | None:
        return self._views.get((athlete, session))

    def latest(self, athlete: str | None = None) -> SessionView | None:
        """The session (of ``athlete``) that sent data last."""
        for view in reversed(self._views.values()):
            if view.last_data_ns is not None and (athlete is None or view.athlete == athlete):
                return view
        return None

    def listing(self, now_ns: int) -> list[dict[str, Any]]:
        """For the therapist's picker: newest first."""
        return [{"athlete": v.athlete, "session": v.session, "live": v.live(now_ns),
                 "devices": sorted(v.meta), "last_data_ns": v.last_data_ns}
                for v in reversed(self._views.values()) if v.last_data_ns is not None]
