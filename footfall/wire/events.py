"""JSON events for low-rate data: device meta/status, foot-pod samples, steps, metrics, alerts,
session summaries. Every field is declared here with its type, unit (in its name) and range.

Every event carries ``"v": 1`` and a ``"type"``. Times are UTC: ``time_ns`` (integer ns since
the Unix epoch, exact) plus ``time_utc`` (ISO 8601, for people; ignored on input).

Decoding is strict (:meth:`WireEvent.from_json`): a payload larger than
:data:`MAX_EVENT_BYTES`, nested too deeply, not an object, with a field of the wrong type (a
string where a number belongs, a float where an integer belongs, a boolean where a number
belongs), NaN or infinity, a number out of its range, or an id or enum outside its set, is an
:class:`EventError` whose ``reason`` names the field. Unknown fields are ignored (so adding a
field is never a breaking change) and never stored. An integer is accepted where a float
belongs and becomes a float, so InfluxDB always sees one type per field.

The InfluxDB schema (:mod:`footfall.storage.schema`) and the MCAP JSON Schemas are derived
from these declarations; docs/wire.md is checked against them by a test.
"""

from __future__ import annotations

import functools
import json
import logging
import typing
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    Strict,
    ValidationError,
    computed_field,
    model_serializer,
    model_validator,
)

from footfall.core.errors import InputError
from footfall.core.ids import IdPattern
from footfall.core.vocab import Placement as PlacementEnum
from footfall.core.vocab import Side as SideEnum
from footfall.wire.frame import MAX_TIME_NS, MIN_TIME_NS

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
#: the largest JSON event accepted from the network; real ones are below 2 kB
MAX_EVENT_BYTES = 64 * 1024
#: 2000-01-01 … 2100-01-01: any time outside is a broken clock, not a run
#: what offline statuses said before ``DeviceStatus.final`` marked a normal end
NORMAL_END_REASONS = frozenset({"stopped", "end of run", "end of recording"})


class EventError(InputError):
    """A payload is not a valid footfall JSON event; ``reason`` says why."""


def utc_iso(time_ns: int) -> str:
    """ISO 8601 UTC with millisecond precision, e.g. ``2026-11-24T17:00:00.123Z``."""
    return _utc_second(time_ns // 1_000_000_000) + f".{(time_ns // 1_000_000) % 1000:03d}Z"


@functools.lru_cache(maxsize=4096)
def _utc_second(time_s: int) -> str:
    """(A processor's events fall in few seconds at a time: formatted once each.)"""
    return datetime.fromtimestamp(time_s, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")


# -- field types: the unit is in the field's name, the range here ------------------------------

TimeNs = Annotated[int, Field(ge=MIN_TIME_NS, le=MAX_TIME_NS)]
Seconds = Annotated[float, Field(ge=0.0, le=2e13)]  # a sensor's u64 µs clock reaches 1.8e13 s
Spm = Annotated[float, Field(ge=0.0, le=600.0)]  # steps per minute (RSC u8 × 2 at most 510)
SpmPerMin = Annotated[float, Field(ge=-600.0, le=600.0)]
Mps = Annotated[float, Field(ge=0.0, le=20.0)]  # running speed; 20 m/s is beyond any human
G = Annotated[float, Field(ge=0.0, le=4000.0)]  # the resultant at a ±2000 g range: ≤ 3464 g
Gps = Annotated[float, Field(ge=0.0, le=1e9)]  # loading rate, g/s: 3464 g in 10 µs at most
Pct = Annotated[float, Field(ge=0.0, le=100.0)]  # a share
Change = Annotated[float, Field(ge=-1e6, le=1e6)]  # a relative change, %
Symmetry = Annotated[float, Field(ge=-100.0, le=100.0)]  # (R − L) / max(R, L) × 100
Count = Annotated[int, Field(ge=0, le=2**53)]
Seq = Annotated[int, Field(ge=0, le=2**32 - 1)]
Hz = Annotated[float, Field(ge=0.0, le=100_000.0)]
RangeG = Annotated[int, Field(ge=0, le=2000)]
RangeDps = Annotated[int, Field(ge=0, le=100_000)]
Unit = Annotated[float, Field(ge=0.0, le=1.0)]
Flag = Annotated[int, Field(ge=0, le=1)]  # an integer 0/1: InfluxQL and Grafana compare it
#: a FIT file's distance is cumulative over a whole multisport race (an Ironman's run starts at
#: 184 km); RSC's own field ends at 429 km
Metres = Annotated[float, Field(ge=0.0, le=1_000_000.0)]
Text = Annotated[str, Field(max_length=500)]
Name = Annotated[str, Field(max_length=100)]
Word = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")]
DeviceId = Annotated[str, Field(pattern=IdPattern)]
#: enums accept their string values (and nothing else) also from Python dicts
Placement = Annotated[PlacementEnum, Strict(False)]
Side = Annotated[SideEnum, Strict(False)]


class WireEvent(BaseModel):
    """Base of every JSON event: strict types, frozen; constructing one with an unknown field
    is an error, decoding one ignores unknown fields."""

    model_config = ConfigDict(strict=True, frozen=True, extra="forbid", allow_inf_nan=False,
                              ser_json_inf_nan="null")
    TYPE: ClassVar[str] = ""
    #: event fields that are InfluxDB tags (besides athlete, session, device from the topic)
    TAGS: ClassVar[tuple[str, ...]] = ()
    #: published with the MQTT retain flag (the latest state, for late joiners)
    RETAINED: ClassVar[bool] = False

    v: Literal[1] = 1

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def to_json(self) -> bytes:
        # (model_dump_json's own serializer call, as bytes: no str made and encoded again)
        return self.__pydantic_serializer__.to_json(self)

    @classmethod
    def derived(cls, **values: Any) -> Self:
        """Build an event the processor derived: an optional figure out of its declared range
        (a drift computed from garbage, say) is dropped to None and logged, never raised, so
        hostile input costs a number, not the session. Required fields still must be valid."""
        try:
            return cls(**values)
        except ValidationError as exc:
            dropped = {name for e in exc.errors() if e["loc"]
                       and (name := str(e["loc"][0])) in cls.model_fields
                       and _nullable(cls.model_fields[name].annotation)}
            if not dropped:
                raise
            log.warning("%s: implausible %s dropped: %s", cls.TYPE, ", ".join(sorted(dropped)),
                        {k: values.get(k) for k in sorted(dropped)})
            return cls(**{**values, **dict.fromkeys(dropped)})

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Validate a decoded JSON object: its type, then every declared field."""
        if data.get("type") != cls.TYPE:
            raise EventError(f"expected a {cls.TYPE!r} event, got type {data.get('type')!r}")
        known = {k: v for k, v in data.items() if k in cls.model_fields}
        try:
            return cls.model_validate(known)
        except ValidationError as exc:
            raise EventError(_reason(cls.TYPE, exc)) from None

    @classmethod
    def from_json(cls, payload: bytes | bytearray | str) -> Self:
        return cls.from_dict(load(payload))


def _nullable(annotation: Any) -> bool:
    return type(None) in typing.get_args(annotation)


def _reason(kind: str, exc: ValidationError) -> str:
    """What a quarantine record should say: the missing fields, then each bad one."""
    errors = exc.errors(include_url=False)
    missing = [".".join(str(p) for p in e["loc"]) for e in errors if e["type"] == "missing"]
    parts = [f"missing a field: {', '.join(missing)}"] if missing else []
    bad = [e for e in errors if e["type"] != "missing"]
    for err in bad[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "event"
        parts.append(f"{where}: {err['msg']} (got {repr(err.get('input'))[:40]})")
    more = f" (+{len(bad) - 5} more)" if len(bad) > 5 else ""
    return f"invalid {kind or 'event'}: " + "; ".join(parts) + more


class TimedEvent(WireEvent):
    """An event at one instant: ``time_ns`` (UTC) and, for people, ``time_utc``."""

    time_ns: TimeNs

    @model_validator(mode="before")
    @classmethod
    def _ignore_time_utc(cls, data: Any) -> Any:
        """``time_utc`` is for people: ignored on input, also in a nested event."""
        if isinstance(data, dict) and "time_utc" in data:
            return {k: v for k, v in data.items() if k != "time_utc"}
        return data

    @computed_field  # type: ignore[prop-decorator]
    @property
    def time_utc(self) -> str:
        return utc_iso(self.time_ns)


# -- what devices send ---------------------------------------------------------------------------


class DeviceMeta(WireEvent):
    """What a device is and where it is worn; published retained on the ``meta`` stream."""

    TYPE: ClassVar[str] = "meta"
    type: Literal["meta"] = "meta"
    #: the BLE profile (footfall, rsc, polar-pmd, witmotion, movesense) or the source of a
    #: recording (sim, csv, fit, dataset, file)
    profile: Word
    placement: Placement
    side: Side
    sample_rate_hz: Hz = 0.0
    accel_range_g: RangeG = 0
    gyro_range_dps: RangeDps = 0
    model: Name = ""
    address: Name = ""  # the BLE address, when it is a BLE device
    #: a foot pod's cadence convention (auto, 1 = steps, 2 = per-leg strides)
    cadence_multiplier: Literal["auto", "1", "2"] | None = None
    #: names of the three accelerometer axes, when they are not the body frame
    axes: Annotated[tuple[Name, Name, Name], Strict(False)] | None = None
    #: a multisport recording's run leg this stream replays (1 = its first running session);
    #: left out of the JSON when unset, so the meta of every other recording is unchanged
    leg: Annotated[int, Field(ge=1, le=100)] | None = None

    @model_serializer(mode="wrap")
    def _without_unset_leg(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if data.get("leg") is None:
            data.pop("leg", None)
        return data


class DeviceStatus(WireEvent):
    """Retained online/offline flag; the offline form is also the MQTT last will.

    ``final`` marks the normal end of a device's session (stopped, end of run, end of a
    recording): not an alert, and no reconnect is expected.
    """

    TYPE: ClassVar[str] = "status"
    type: Literal["status"] = "status"
    online: bool
    reason: Text = ""
    final: bool = False

    @model_validator(mode="before")
    @classmethod
    def _legacy_final(cls, data: Any) -> Any:
        """Recordings made before ``final`` existed say a normal end in their reason."""
        if isinstance(data, dict) and "final" not in data and data.get("online") is False \
                and data.get("reason") in NORMAL_END_REASONS:
            return {**data, "final": True}
        return data


class RscSample(TimedEvent):
    """One foot-pod Running Speed and Cadence measurement, cadence already in steps/min."""

    TYPE: ClassVar[str] = "rsc"
    type: Literal["rsc"] = "rsc"
    speed_mps: Mps
    cadence_spm: Spm
    running: bool = True
    stride_length_m: Annotated[float, Field(ge=0.0, le=10.0)] | None = None
    total_distance_m: Metres | None = None
    seq: Seq = 0


# -- what the processor derives ------------------------------------------------------------------


#: full_scale: within 1 % of the frame's range; rail: a level the peaks pile up against;
#: flat: a flat top at the peak's extreme (docs/metrics.md, "Clipping")
ClipRule = Literal["full_scale", "rail", "flat"]


class StepEvent(TimedEvent):
    """One detected foot strike, timed at its impact peak."""

    TYPE: ClassVar[str] = "step"
    TAGS: ClassVar[tuple[str, ...]] = ("placement", "side")
    type: Literal["step"] = "step"
    sensor_time_s: Seconds  # the same instant on the sensor's own clock
    impact_g: G  # resultant peak acceleration (PTA marker)
    #: instantaneous, from the step/stride interval; None for the first strike after a start or
    #: a gap (there is no interval yet), never a made-up 0
    cadence_spm: Spm | None
    interval_s: Seconds | None  # since the previous strike seen by this sensor
    side: Side
    placement: Placement
    clipped: bool  # the peak reached the sensor's range: impact_g is a lower bound
    confidence: Unit
    impact_axial_g: G | None = None  # largest |axial| within the peak region
    loading_rate_gps: Gps | None = None
    confirm_delay_ms: Annotated[float, Field(ge=0.0, le=10_000.0)] | None = None
    rise_sensor_time_s: Seconds | None = None  # the strike's rising edge, sensor clock
    #: "stride": a leg sensor's own strike (one per stride); "step": a trunk sensor's
    strike: Literal["stride", "step"] = "step"

    #: which clipping rule flagged it (docs/metrics.md, "Clipping"), None when not clipped
    clip_rule: ClipRule | None = None

    @property
    def impact_is_lower_bound(self) -> bool:
        return self.clipped


BaselineState = Literal["warmup", "collecting", "set"]
#: what the runner is doing (docs/metrics.md, "Running, walking, pauses")
Activity = Literal["running", "walking", "stopped"]


class MetricsEvent(TimedEvent):
    """Rolling per-stream metrics, emitted once per second of sensor time (docs/metrics.md)."""

    TYPE: ClassVar[str] = "metrics"
    TAGS: ClassVar[tuple[str, ...]] = ("placement", "side")
    type: Literal["metrics"] = "metrics"
    cadence_spm: Spm | None
    steps_total: Count
    placement: Placement
    side: Side
    source: Literal["imu", "rsc"] = "imu"
    cadence_baseline_spm: Spm | None = None
    cadence_change_pct: Change | None = None
    cadence_speed_explained_pct: Change | None = None
    cadence_drift_pct: Change | None = None
    cadence_trend_spm_per_min: SpmPerMin | None = None
    impact_g: G | None = None
    impact_baseline_g: G | None = None
    impact_drift_pct: Change | None = None
    impact_axial_g: G | None = None
    impact_axial_baseline_g: G | None = None
    impact_axial_drift_pct: Change | None = None
    speed_mps: Mps | None = None
    speed_baseline_mps: Mps | None = None
    baseline_state: BaselineState = "warmup"
    packet_loss_pct: Pct | None = None
    packet_loss_total_pct: Pct | None = None
    frames_late_total: Count | None = None
    frames_duplicate_total: Count | None = None
    clipping_pct: Pct | None = None
    clipped_steps_total: Count | None = None
    strides_total: Count | None = None
    #: running, walking or stopped now; drift is only judged while running
    activity: Activity | None = None
    running_s: Seconds | None = None  # the running clock: time spent running so far
    final: bool = False  # the stream's last metrics (end of session)
    #: 1 while the processor's alert of that rule is on for this device (what Grafana's rules
    #: read: the processor is the one place alerts are judged)
    impact_alert: Flag = 0
    clipping_alert: Flag = 0
    packet_loss_alert: Flag = 0


class SessionMetricsEvent(TimedEvent):
    """What needs every device of the session, once a second on a UTC-second grid: the session
    cadence and drift (the mean of its devices), and a leg pair's impact and step-time symmetry
    (R − L) / max(R, L) × 100. Emitted for second ``time_ns`` only once every active device's
    data has passed it, so the figures never depend on which device's frames arrived first
    (processing/session_join.py)."""

    TYPE: ClassVar[str] = "session_metrics"
    type: Literal["session_metrics"] = "session_metrics"
    devices: Count  # devices that reported in the last seconds
    #: the least advanced of the devices' baseline states: "set" once every device has one
    baseline_state: BaselineState = "warmup"
    cadence_spm: Spm | None = None
    cadence_baseline_spm: Spm | None = None
    cadence_drift_pct: Change | None = None
    placement: Placement | None = None  # of the leg pair below
    impact_left_g: G | None = None
    impact_right_g: G | None = None
    symmetry_pct: Symmetry | None = None
    step_time_left_s: Seconds | None = None
    step_time_right_s: Seconds | None = None
    step_time_symmetry_pct: Symmetry | None = None
    #: 1 while the processor's session alert of that rule is on
    cadence_target_alert: Flag = 0
    cadence_drift_alert: Flag = 0
    asymmetry_alert: Flag = 0


RuleName = Literal["impact", "cadence_target", "cadence_drift", "asymmetry", "clipping",
                   "packet_loss", "sensor_offline", "no_data"]
Severity = Literal["info", "warning", "critical"]


class AlertEvent(TimedEvent):
    """An alert starting or clearing, about ``device`` (or ``session`` for session rules)."""

    TYPE: ClassVar[str] = "alert"
    TAGS: ClassVar[tuple[str, ...]] = ("rule", "severity")
    type: Literal["alert"] = "alert"
    rule: RuleName
    state: Literal["start", "clear"]
    severity: Severity
    message: Text
    value: Annotated[float, Field(ge=-1e9, le=1e9)] | None = None
    device: DeviceId | None = None
    impact_baseline_g: G | None = None
    impact_limit_g: G | None = None
    cadence_target_spm: Spm | None = None
    cadence_baseline_spm: Spm | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def active(self) -> int:
        """1 while the alert is on (its start event), 0 at its clear: what Grafana's rules
        read (a string state cannot be compared there)."""
        return 1 if self.state == "start" else 0




class PauseEvent(TimedEvent):
    """A break in running of ``device``, published when it ends (``time_ns``: its end): a stop
    (no steps: standing, an aid station, a timer pause) or a walk (docs/metrics.md, "Running,
    walking, pauses"). Breaks shorter than 10 s only count towards the summary's times."""

    TYPE: ClassVar[str] = "pause"
    TAGS: ClassVar[tuple[str, ...]] = ("kind",)
    type: Literal["pause"] = "pause"
    kind: Literal["stop", "walk"]
    start_ns: TimeNs
    duration_s: Seconds
    running_s: Seconds  # the running clock when it began


def load(payload: bytes | bytearray | str) -> dict[str, Any]:
    """Parse and check the envelope of any event (e.g. to read its type); raises
    :class:`EventError`."""
    if len(payload) > MAX_EVENT_BYTES:
        raise EventError(f"event of {len(payload)} bytes is larger than {MAX_EVENT_BYTES}")
    try:
        data = json.loads(payload, parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise EventError(f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise EventError("event is not a JSON object")
    if data.get("v") != SCHEMA_VERSION:
        raise EventError(f"unsupported event schema version {data.get('v')!r}")
    return data


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


class DeviceSummary(TimedEvent):
    """One device's whole session, computed when the session ends (``time_ns``: its last
    data) by the same code for a live session and for a file (docs/metrics.md, "Summary").

    Stored as the ``summary`` measurement: visit history reads one point per session and
    device instead of months of steps.
    """

    TYPE: ClassVar[str] = "summary"
    TAGS: ClassVar[tuple[str, ...]] = ("placement", "side")
    type: Literal["summary"] = "summary"
    start_ns: TimeNs
    duration_s: Seconds
    steps: Count
    source: Literal["imu", "rsc"] | None = None
    placement: Placement | None = None
    side: Side | None = None
    strike: Literal["stride", "step"] | None = None
    steps_both_legs_estimate: Count | None = None
    cadence_spm: Spm | None = None
    cadence_mean_spm: Spm | None = None
    cadence_baseline_spm: Spm | None = None
    cadence_final_spm: Spm | None = None
    cadence_change_pct: Change | None = None
    cadence_speed_explained_pct: Change | None = None
    cadence_drift_pct: Change | None = None
    cadence_trend_spm_per_min: SpmPerMin | None = None
    impact_g: G | None = None
    impact_baseline_g: G | None = None
    impact_final_g: G | None = None
    impact_drift_pct: Change | None = None
    impact_axial_drift_pct: Change | None = None
    symmetry_pct: Symmetry | None = None
    step_time_symmetry_pct: Symmetry | None = None
    clipped_steps: Count = 0
    clipped_pct: Pct | None = None
    #: the clipping rules that flagged strikes, e.g. "full_scale,rail" (None: nothing clipped)
    clipping_rules: Annotated[str, Field(pattern=r"^[a-z_]+(,[a-z_]+)*$")] | None = None
    packet_loss_pct: Pct | None = None
    speed_mps: Mps | None = None
    #: the cadence target at the end (None: no target was set) and the share of the time with
    #: a known target spent in its band (processing/summary.py; docs/metrics.md)
    cadence_target_spm: Spm | None = None
    time_in_target_pct: Pct | None = None

    #: the baseline's and the end of the run's speed (the drift's speed correction)
    speed_baseline_mps: Mps | None = None
    speed_final_mps: Mps | None = None
    #: the end-of-run window the final figures and the drift come from, s of running
    final_window_s: Seconds | None = None
    #: time running, walking, stopped, and not recorded (a data gap while moving)
    running_s: Seconds | None = None
    walking_s: Seconds | None = None
    paused_s: Seconds | None = None
    unrecorded_s: Seconds | None = None
    pauses: Count | None = None  # stops of ≥ 10 s
    walks: Count | None = None  # walking breaks of ≥ 10 s
    #: a multisport file's run leg (1 = the first running session), None otherwise
    leg: Annotated[int, Field(ge=1, le=100)] | None = None



# -- retraining: feedback channels, their state, session notes (docs/coach.md) ----------------

Channel = Literal["cadence", "impact"]
#: off; continuous; bandwidth = only when out of target; faded = on and off by a schedule
FeedbackMode = Literal["off", "continuous", "bandwidth", "faded"]
#: faded: "fade" = the share of each cycle with feedback goes from fade_from_pct to fade_to_pct
#: over fade_min; "blocks" = on_min with feedback, off_min without, repeated
FadeSchedule = Literal["fade", "blocks"]
#: what switched it: a command, the faded schedule, a retention probe starting or ending, or a
#: baseline that made a relative target known
FeedbackReason = Literal["therapist", "schedule", "probe", "baseline"]
#: the cadence channel's metronome: auto = starts after auto_steps steps below the target band
#: and stops after as many back in it
Metronome = Literal["off", "on", "auto"]
#: an impact target as a share of the runner's own baseline PTA (Crowell & Davis: 50 %)
ImpactPct = Annotated[float, Field(ge=10.0, le=150.0)]
BandPct = Annotated[float, Field(ge=0.5, le=20.0)]  # cadence in target within target ± band
FadeMinutes = Annotated[float, Field(ge=0.1, le=600.0)]
BlockMinutes = Annotated[float, Field(ge=0.05, le=120.0)]
CycleS = Annotated[float, Field(ge=5.0, le=3600.0)]
AutoSteps = Annotated[int, Field(ge=1, le=200)]
ProbeMinutes = Annotated[float, Field(ge=0.0, le=240.0)]  # 0 ends a running probe
PainScore = Annotated[int, Field(ge=0, le=10)]  # 0 = no pain, 10 = worst imaginable
BeltKmh = Annotated[float, Field(ge=0.0, le=40.0)]


class FeedbackSettings(BaseModel):
    """How one feedback channel is delivered, beyond its mode: the faded schedule, the cadence
    band and metronome, the volume. Shared by ``set_feedback`` commands and feedback events;
    ``None`` = not given (a command) or not applicable (an event)."""

    model_config = ConfigDict(strict=True, frozen=True, extra="forbid", allow_inf_nan=False)
    schedule: FadeSchedule | None = None
    fade_from_pct: Pct | None = None
    fade_to_pct: Pct | None = None
    fade_min: FadeMinutes | None = None
    cycle_s: CycleS | None = None
    on_min: BlockMinutes | None = None
    off_min: BlockMinutes | None = None
    band_pct: BandPct | None = None
    metronome: Metronome | None = None
    auto_steps: AutoSteps | None = None
    volume_pct: Pct | None = None


#: the fields of :class:`FeedbackSettings` (a ``set_feedback`` command may give each)
FEEDBACK_SETTINGS: tuple[str, ...] = tuple(FeedbackSettings.model_fields)


class FeedbackEvent(TimedEvent, FeedbackSettings):
    """A feedback channel's state from ``time_ns`` on, emitted by the processor whenever it
    changes. Times are session time (the data's UTC), so a recording analysed again gives the
    same events. ``feedback_on`` says whether the runner gets this channel's feedback now
    (bandwidth: only while out of target); the targets are the ones in force."""

    TYPE: ClassVar[str] = "feedback"
    TAGS: ClassVar[tuple[str, ...]] = ("channel",)
    type: Literal["feedback"] = "feedback"
    channel: Channel
    mode: FeedbackMode
    feedback_on: bool
    reason: FeedbackReason
    probe: bool = False  # a no-feedback retention probe is running
    since_ns: TimeNs  # when this mode was set: the faded schedule counts from here
    fraction_pct: Pct | None = None  # faded: the share of the current cycle with feedback
    cadence_target_spm: Spm | None = None  # None: no target, or its baseline is not known yet
    impact_target_pct: ImpactPct | None = None


class SessionNote(TimedEvent):
    """What the therapist noted, at session time ``time_ns``; a note gives one field or more.
    The belt speed also becomes the session's treadmill speed (speed-corrected drift)."""

    TYPE: ClassVar[str] = "note"
    type: Literal["note"] = "note"
    pain_score: PainScore | None = None
    shoes: Name | None = None
    belt_speed_kmh: BeltKmh | None = None
    text: Text | None = None
    source: Name = "coach"


class FeedbackState(TimedEvent):
    """Everything the session's retraining is set to at ``time_ns`` (session time): each
    channel's latest feedback event, the targets, a running probe, the latest notes. Published
    retained after every change: a second coach page and a restarted processor start from it.
    ``command_ns`` is the ``time_ns`` of the last command it includes."""

    TYPE: ClassVar[str] = "feedback_state"
    RETAINED: ClassVar[bool] = True
    type: Literal["feedback_state"] = "feedback_state"
    command_ns: TimeNs | None = None
    cadence: FeedbackEvent | None = None
    impact: FeedbackEvent | None = None
    cadence_target_spm: Spm | None = None  # in force (a relative one once its baseline is set)
    target_cadence_spm: Spm | None = None  # as set: an absolute target …
    target_increase_pct: Annotated[float, Field(gt=0.0, le=50.0)] | None = None  # … or + N %
    impact_target_pct: ImpactPct | None = None
    probe_start_ns: TimeNs | None = None
    probe_end_ns: TimeNs | None = None
    notes: SessionNote | None = None  # the latest value of each note field


#: what the processor derives and publishes
DerivedEvent = (StepEvent | MetricsEvent | SessionMetricsEvent | AlertEvent | PauseEvent
                | DeviceSummary)
#: ... and, for retraining, what it says about feedback (processing/feedback.py)
FeedbackOutput = FeedbackEvent | SessionNote | FeedbackState
#: the event type of each JSON stream (docs/wire.md)
EVENT_TYPES: dict[str, type[WireEvent]] = {
    cls.TYPE: cls for cls in (DeviceMeta, DeviceStatus, RscSample, StepEvent, MetricsEvent,
                              SessionMetricsEvent, AlertEvent, PauseEvent, DeviceSummary,
                              FeedbackEvent, SessionNote, FeedbackState)
}
