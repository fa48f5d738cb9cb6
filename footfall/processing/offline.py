"""Offline analysis = the live path fed a whole recording (one code path).

A recording becomes the messages a live session would have put on the broker — frames, foot-pod
samples, the devices' retained meta and status, the therapist's control commands — and they go
through the same :class:`~footfall.processing.router.SessionRouter` as ``footfall process``
uses; the results are its events, grouped by device. Nothing here knows about MQTT.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from footfall.config.analysis import AnalysisConfig
from footfall.core.units import NS
from footfall.core.vocab import Placement, Side
from footfall.processing.router import Routed, SessionRouter
from footfall.processing.session import Event
from footfall.recordings.csv import GYRO_RANGE_DPS, choose_range_g
from footfall.recordings.framing import UNDATED_UTC_NS, frame_counts
from footfall.recordings.session_file import data_span_ns, iter_messages
from footfall.recordings.sources import ImportOptions, detect_kind, load
from footfall.wire import frame as wire_frame
from footfall.wire.events import (
    AlertEvent,
    DeviceMeta,
    DeviceSummary,
    FeedbackEvent,
    MetricsEvent,
    PauseEvent,
    RscSample,
    SessionMetricsEvent,
    SessionNote,
    StepEvent,
)
from footfall.wire.frame import ImuFrame, g_to_counts
from footfall.wire.topics import INPUT_STREAMS, SESSION_DEVICE, Stream, Topic

#: ids of a recording handed over as arrays or events, with no session of its own
ATHLETE = SESSION = "offline"
DEVICE = "recording"
Message = tuple[Topic | str, bytes]


@dataclass(slots=True)
class AnalysisResult:
    """Every event of one device in an offline run, split by type.

    ``time0_s`` and ``utc0_ns`` map UTC back to the input's own timebase:
    ``time_s = time0_s + (time_ns - utc0_ns) / 1e9``.
    """

    steps: list[StepEvent] = field(default_factory=list)
    metrics: list[MetricsEvent] = field(default_factory=list)
    #: the session's combined figures (device ``session`` only)
    session_metrics: list[SessionMetricsEvent] = field(default_factory=list)
    alerts: list[AlertEvent] = field(default_factory=list)
    #: its breaks in running (stops and walks of ≥ 10 s), in order
    pauses: list[PauseEvent] = field(default_factory=list)
    #: the device's whole-session figures (:mod:`footfall.processing.summary`)
    device_summary: DeviceSummary | None = None
    #: device ``session``: the feedback channels' changes and the therapist's notes
    #: (docs/coach.md); the retained snapshots between them are not kept
    feedback: list[FeedbackEvent] = field(default_factory=list)
    notes: list[SessionNote] = field(default_factory=list)
    time0_s: float = 0.0
    utc0_ns: int = 0

    def add(self, event: Event) -> None:
        if isinstance(event, StepEvent):
            self.steps.append(event)
        elif isinstance(event, MetricsEvent):
            self.metrics.append(event)
        elif isinstance(event, AlertEvent):
            self.alerts.append(event)
        elif isinstance(event, PauseEvent):
            self.pauses.append(event)
        elif isinstance(event, SessionMetricsEvent):
            self.session_metrics.append(event)
        elif isinstance(event, DeviceSummary):
            self.device_summary = event
        elif isinstance(event, FeedbackEvent):
            self.feedback.append(event)
        elif isinstance(event, SessionNote):
            self.notes.append(event)

    def input_time_s(self, time_ns: int) -> float:
        return self.time0_s + (time_ns - self.utc0_ns) / NS

    def summary(self) -> dict[str, Any]:
        """Whole-recording figures, as JSON (``analyze --json``'s ``summary`` of a device)."""
        if self.device_summary is None:
            return {"steps": 0}
        return self.device_summary.to_dict()


#: messages analysed together (SessionRouter.handle_many), as the live processor's batches …
BATCH_MESSAGES = 1000
#: … or fewer, when they are long frames (a file's)
BATCH_BYTES = 8_000_000


def collect(outputs: Iterable[Routed], into: dict[str, AnalysisResult]) -> None:
    for topic, event in outputs:
        into.setdefault(topic.device, AnalysisResult()).add(event)


def analyze_messages(messages: Iterable[Message], *,
                     config: AnalysisConfig | None = None,
                     config_for: Callable[[str], AnalysisConfig] | None = None,
                     on_reject: Callable[[str, str, bytes], None] | None = None
                     ) -> dict[str, AnalysisResult]:
    """Route ``messages`` (in the order they reached, or would have reached, the broker);
    derived streams in them are skipped. Results by device; session-wide alerts under
    ``session``."""
    default = config or AnalysisConfig()
    router = SessionRouter(config_for or (lambda _athlete: default), on_reject=on_reject)
    results: dict[str, AnalysisResult] = {}
    batch: list[tuple[str, bytes]] = []
    size = 0

    def done(_index: int, outputs: list[Routed], _accepted: bool) -> None:
        collect(outputs, results)

    # in batches, as the live processor takes them (router.handle_many: the same events)
    for topic, payload in messages:
        stream = topic.stream if isinstance(topic, Topic) else Topic.parse(topic).stream
        if stream in INPUT_STREAMS:
            batch.append((str(topic), payload))
            size += len(payload)
            if len(batch) >= BATCH_MESSAGES or size >= BATCH_BYTES:
                router.handle_many(batch, done)
                batch, size = [], 0
    router.handle_many(batch, done)
    collect(router.finish(), results)
    return results


def one_device(results: dict[str, AnalysisResult], device: str = DEVICE) -> AnalysisResult:
    """The recording's one device, with the session-wide alerts (cadence target and drift,
    asymmetry: published under device ``session``) merged into its alert list."""
    result = results.get(device, AnalysisResult())
    session = results.get(SESSION_DEVICE)
    if session is not None and session.alerts:
        result.alerts = sorted(result.alerts + session.alerts, key=lambda a: a.time_ns)
    return result


def _meta_message(meta: DeviceMeta) -> Message:
    return Topic(ATHLETE, SESSION, DEVICE, Stream.META), meta.to_json()


def analyze_frames(frames: Iterable[ImuFrame], *, placement: str = "tibia", side: str = "none",
                   config: AnalysisConfig | None = None) -> AnalysisResult:
    """One IMU device's frames, worn at ``placement``/``side``."""
    meta = DeviceMeta(profile="file", placement=Placement(placement), side=Side(side))
    topic = Topic(ATHLETE, SESSION, DEVICE, Stream.IMU)
    messages: list[Message] = [_meta_message(meta)]
    messages += [(topic, wire_frame.encode(f)) for f in frames]
    return one_device(analyze_messages(messages, config=config))


def analyze_accel(accel_g: npt.NDArray[np.float64], sample_rate_hz: float, *,
                  accel_range_g: int | None = None, placement: str = "tibia",
                  side: str = "none", config: AnalysisConfig | None = None,
                  time_s: npt.NDArray[np.float64] | None = None,
                  gyro_dps: npt.NDArray[np.float64] | None = None,
                  frame_sizes: Iterable[int] | None = None) -> AnalysisResult:
    """Analyse samples in g (n, 3), quantised to int16 at ``accel_range_g`` (default: the
    smallest standard range covering the data). ``time_s`` (per sample) is the input's
    timebase: gaps in it become gaps in the stream, and step times map back to it."""
    rng = accel_range_g or choose_range_g(accel_g)
    counts = g_to_counts(accel_g, rng)
    gyro_range = 0
    if gyro_dps is not None:
        gyro_range = GYRO_RANGE_DPS
        counts = np.concatenate((counts, g_to_counts(gyro_dps, gyro_range)), axis=1)
    t0 = float(time_s[0]) if time_s is not None and len(time_s) else 0.0
    timed, _ = frame_counts(counts, sample_rate_hz=sample_rate_hz, accel_range_g=rng,
                            samples_per_frame=50, frame_sizes=frame_sizes, time_s=time_s,
                            gyro_range_dps=gyro_range)
    result = analyze_frames((t.frame for t in timed), placement=placement, side=side,
                            config=config)
    result.time0_s, result.utc0_ns = t0, UNDATED_UTC_NS
    return result


def analyze_rsc(samples: Iterable[RscSample], *, side: str = "none",
                config: AnalysisConfig | None = None) -> AnalysisResult:
    """One foot pod's samples (a FIT file's running records, say)."""
    meta = DeviceMeta(profile="rsc", placement=Placement.FOOT, side=Side(side))
    topic = Topic(ATHLETE, SESSION, DEVICE, Stream.RSC)
    collected = list(samples)
    messages: list[Message] = [_meta_message(meta)]
    messages += [(topic, s.to_json()) for s in collected]
    result = one_device(analyze_messages(messages, config=config))
    result.utc0_ns = collected[0].time_ns if collected else 0
    return result


@dataclass(slots=True)
class FileAnalysis:
    """A recording analysed: results by device, its kind, how its times are given, and what
    the user should know about how it was read."""

    results: dict[str, AnalysisResult]
    kind: str
    timebase: str
    notes: list[str] = field(default_factory=list)


def analyze_file(path: Path, kind: str = "auto", options: ImportOptions | None = None, *,
                 config: AnalysisConfig | None = None,
                 config_for: Callable[[str], AnalysisConfig] | None = None) -> FileAnalysis:
    """``footfall analyze`` of any recording (:func:`footfall.recordings.sources.load`):
    its messages through :func:`analyze_messages`. Raises the readers' errors
    (``ImportKindError``, ``SessionFileError``)."""
    notes: list[str] = []

    def reject(source: str, reason: str, payload: bytes) -> None:
        notes.append(f"skipped a malformed message of {source}: {reason}")

    kind = kind if kind != "auto" else detect_kind(path)
    if kind == "session":
        messages: list[Message] = [(m.topic, m.payload)
                                   for m in iter_messages(path, INPUT_STREAMS)]
        results = analyze_messages(messages, config=config, config_for=config_for,
                                   on_reject=reject)
        # the data's own time, not when it was recorded: a session recorded from a replay
        # or simulation at --speed 10 was received in a tenth of its duration
        span = data_span_ns(path)
        for result in results.values():
            result.utc0_ns = span[0] if span else 0
        return FileAnalysis(results, kind, "s from the session's first sample (UTC in "
                                           "time_utc)", notes)
    opts = options or ImportOptions()
    loaded = load(kind, path, opts)
    notes += loaded.notes
    results = analyze_messages([(t, p) for _, t, p in loaded.messages()], config=config,
                               config_for=config_for, on_reject=reject)
    for result in results.values():
        result.time0_s, result.utc0_ns = loaded.time0_s, loaded.start_ns
    if kind == "fit":
        timebase = "s from the first running record (UTC in time_utc)"
    elif kind == "csv" and opts.sample_rate_hz is None:
        timebase = "the file's time_s" if loaded.dated else \
            "s from the first sample (the file's time_s minus its first value)"
    else:
        timebase = "s from the first sample"
    return FileAnalysis(results, kind, timebase, notes)
