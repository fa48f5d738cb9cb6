"""One session's processor: device frames and foot-pod samples in, step/metrics/alert events out.

This is the single code path of footfall's analysis: the live service feeds it frame by frame,
``footfall analyze`` feeds a whole recording through the same methods. Events come out in
sensor-time order per device; a step is emitted ``lookahead_ms`` after its impact peak.

What a "step" is depends on the placement (docs/metrics.md): a tibia or foot sensor reports
the strikes of *its own leg* (one per stride; cadence = 2 × stride rate), a sacrum sensor
reports every step. ``steps_total`` counts the step events of that device.
"""

from __future__ import annotations

import logging
import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Final, TypeAlias

import numpy as np
import numpy.typing as npt

from footfall.config.analysis import AnalysisConfig
from footfall.core.units import NS, kmh_to_mps
from footfall.core.vocab import Placement, Side
from footfall.processing.activity import RECORD_GAP_S, STOPPED_BELOW_MPS
from footfall.processing.alerts import AlertEngine
from footfall.processing.clipping import full_scale_mask
from footfall.processing.detector import (
    BoolArray,
    DetectorState,
    FloatArray,
    Found,
    Peak,
    StepDetector,
    rescale_history,
    shared_detector,
)
from footfall.processing.feedback import FeedbackEngine
from footfall.processing.metrics import MetricsTracker, TimeSeries
from footfall.processing.quality import (
    SEQ_MODULO,
    FrameSlot,
    QualityState,
    add_strike,
    clipping_pct,
    packet_loss_pct,
    place_frame,
    total_loss_pct,
)
from footfall.processing.session_join import SessionJoin
from footfall.processing.summary import SummaryBuilder
from footfall.processing.tuning import (
    AXIS_AXIAL,
    MAX_STEP_RATE_HZ,
    MAX_STRIDE_S,
    PLACEMENT_TUNING,
)
from footfall.wire.control import ControlCommand
from footfall.wire.events import (
    DerivedEvent,
    DeviceMeta,
    DeviceStatus,
    FeedbackEvent,
    FeedbackOutput,
    FeedbackState,
    MetricsEvent,
    PauseEvent,
    RscSample,
    SessionMetricsEvent,
    SessionNote,
    StepEvent,
)
from footfall.wire.frame import FLAG_GAP_BEFORE, INT16_FULL_SCALE, ImuFrame, stack_counts
from footfall.wire.topics import SESSION_DEVICE

log = logging.getLogger(__name__)

Event: TypeAlias = DerivedEvent | FeedbackOutput
Output: TypeAlias = tuple[str, Event]
#: a trunk sensor's step longer than this spans a stop: half the slowest stride
#: (:data:`~footfall.processing.tuning.MAX_STRIDE_S`)
MAX_STEP_S: Final = MAX_STRIDE_S / 2
#: no one runs faster than this (Kiernan 2023): a higher per-step cadence is no step rate
MAX_CADENCE_SPM: Final = 60.0 * MAX_STEP_RATE_HZ
#: a stream's frame anchors are trimmed once there are this many (a few frames more kept
#: are harmless: a sample's time comes from the last anchor at or before it); more than a
#: detector row holds (~20–40 frames), or the trim would run at every frame
ANCHORS_UNTRIMMED: Final = 64
#: a run of frames through the detector in one call (SessionProcessor.feed_frames) is cut at
#: this many samples: the detector's rows, shared by its streams, are ROW_MIN_SAMPLES (512)
#: wide or more, and a run must fit beside what decisions still read
RUN_MAX_SAMPLES = 256
#: a command may be this far ahead of a device's latest sample and still be on its timeline
#: (BLE, frame fill and the broker delay data, not the therapist's key press)
COMMAND_LEAD_S: Final = 5.0


@dataclass(slots=True, init=False)
class Anchor:
    """A frame's first sample on the stream index, on the sensor clock and in UTC."""

    index: int
    sensor_ns: int
    utc_ns: int
    sample_rate_hz: float

    # (init=False and this __init__: mypyc compiles it; a dataclass's own stays interpreted,
    # ~6× slower a construction in the compiled build, and one is made per frame)
    def __init__(self, index: int, sensor_ns: int, utc_ns: int, sample_rate_hz: float) -> None:
        self.index = index
        self.sensor_ns = sensor_ns
        self.utc_ns = utc_ns
        self.sample_rate_hz = sample_rate_hz


_anchor_index = attrgetter("index")


@dataclass(slots=True)
class ImuStream:
    """Everything the processor keeps for one IMU device."""

    placement: Placement
    side: Side
    tracker: MetricsTracker
    detector: StepDetector | None = None
    detector_state: DetectorState | None = None
    sample_rate_hz: float = 0.0
    anchors: list[Anchor] = field(default_factory=list)
    quality: QualityState = field(default_factory=QualityState)
    next_boundary: int = 0  # sample index of the next metrics event: origin + round(k × fs)
    boundary_origin: int = 0
    boundary_k: int = 0
    steps_total: int = 0
    last_interval_s: float | None = None  # sacrum: previous step, for stride cadence
    reconfigure: bool = False
    first_ns: int | None = None  # UTC of the first sample
    last_rise_ns: int | None = None  # UTC of the last strike's rising edge
    gap_since_strike: bool = False  # a data gap since the last strike


@dataclass(slots=True)
class RscStream:
    tracker: MetricsTracker
    last_ns: int | None = None
    last_distance_m: float | None = None
    next_boundary_ns: int = 0
    steps: float = 0.0
    has_speed: bool = False  # a pod that never reported a speed > 0 has none


@dataclass(slots=True, init=False)
class PlacedFrame:
    """An IMU frame placed on its stream's timeline (:meth:`SessionProcessor.place`)."""

    device: str
    stream: ImuStream
    frame: ImuFrame
    slot: FrameSlot

    # (its own __init__, as Anchor's: one is made per frame)
    def __init__(self, device: str, stream: ImuStream, frame: ImuFrame, slot: FrameSlot) -> None:
        self.device = device
        self.stream = stream
        self.frame = frame
        self.slot = slot


def _looks_next(before: ImuFrame, frame: ImuFrame) -> bool:
    """Whether ``frame`` looks as if it goes on from ``before`` (the next seq, no gap flagged,
    the same rate, range and channels): its placement says for sure."""
    return frame.seq == (before.seq + 1) % SEQ_MODULO and not frame.flags & FLAG_GAP_BEFORE \
        and frame.sample_rate_hz == before.sample_rate_hz \
        and frame.accel_range_g == before.accel_range_g and frame.channels == before.channels


def detector_inputs(counts: npt.NDArray[np.int16], accel_range_g: float | npt.NDArray[np.float64]
                    ) -> tuple[FloatArray, FloatArray, BoolArray, FloatArray]:
    """Frames' int16 counts (frames, samples, channels) of ± ``accel_range_g`` (one per frame)
    → what the detector reads: the resultant and axial acceleration (g), the samples at full
    scale, and the three axes (g)."""
    c = counts[:, :, :3]
    scale = np.asarray(accel_range_g, dtype=np.float64).reshape(-1, 1, 1) / INT16_FULL_SCALE
    accel = c.astype(np.float64) * scale
    resultant = np.sqrt(np.einsum("kij,kij->ki", accel, accel))
    return resultant, accel[:, :, AXIS_AXIAL], full_scale_mask(c), accel


def append_together(frames: Sequence[PlacedFrame]) -> list[Found | None]:
    """Frames that :meth:`SessionProcessor.continues`, of distinct streams (any sessions),
    through their detectors with one NumPy call per detector and frame shape
    (:meth:`StepDetector.append_rows`); each then goes to :meth:`SessionProcessor.land_found`.
    The same as each frame on its own: a stream's samples only ever meet its own. None: the
    frame's group failed (a bug, logged) and nothing of it changed: it goes on its own
    (:meth:`SessionProcessor.feed_placed`)."""
    groups: dict[tuple[int, int, int], list[int]] = {}
    for i, p in enumerate(frames):
        groups.setdefault((id(p.stream.detector), p.frame.n_samples, p.frame.channels),
                          []).append(i)
    found: list[Found | None] = [None] * len(frames)
    for members in groups.values():
        group = [frames[i] for i in members]
        detector = group[0].stream.detector
        states = [s for p in group if (s := p.stream.detector_state) is not None]
        try:
            if detector is None or len(states) != len(group):
                raise RuntimeError("append_together takes frames that continue their stream")
            counts = stack_counts([p.frame for p in group])
            ranges = np.array([p.frame.accel_range_g for p in group], dtype=np.float64)
            rows = detector.append_rows(states, *detector_inputs(counts, ranges))
        except Exception:
            log.exception("internal error analysing %d frames together: each goes on its own",
                          len(group))
            continue
        for i, f in zip(members, rows, strict=True):
            found[i] = f
    return found


class SessionProcessor:
    """Streaming gait analysis for every device of one athlete's session."""

    def __init__(self, athlete: str, session: str, config: AnalysisConfig | None = None) -> None:
        self.athlete = athlete
        self.session = session
        self.config = config or AnalysisConfig()
        self.meta: dict[str, DeviceMeta] = {}
        self.imu: dict[str, ImuStream] = {}
        self.rsc: dict[str, RscStream] = {}
        self.speed = TimeSeries()
        if self.config.treadmill_speed_mps is not None:
            self.speed.add(0, self.config.treadmill_speed_mps)
        #: the session's alert rules, fed every step and metrics event; the live service may
        #: also call its ``tick`` (silence), ``device_status`` and ``set_target``
        self.alerts = AlertEngine(self.config.alerts,
                                  loss_window_s=self.config.quality_window_s)
        #: whole-session figures per device, from the same events (emitted by ``finish``)
        self.summary = SummaryBuilder(self.config, target=self.alerts.target_spm)  # live too
        #: devices whose status said they ended normally (``DeviceStatus.final``)
        self.ended: set[str] = set()
        #: what combines devices (session cadence, symmetry), once every device has passed it
        self.join = SessionJoin(self.config)
        #: the therapist's latest "baseline now": a device that starts later gets it too
        self._baseline_mark_ns: int | None = None
        #: which feedback the runner gets when (the coach's commands), on the session's time
        self.feedback = FeedbackEngine(self.alerts.target_spm)

    # -- configuration -----------------------------------------------------------------------

    def set_meta(self, device: str, meta: DeviceMeta) -> None:
        """Placement and side of ``device``; a change takes effect at its next frame."""
        self.meta[device] = meta
        self.join.expect(device)
        if meta.sample_rate_hz > 0:  # silence is judged against how often it reports
            self.alerts.set_report_interval(device, 1.0 / meta.sample_rate_hz)
        self.summary.set_leg(device, meta.leg)
        stream = self.imu.get(device)
        if stream is not None:
            stream.reconfigure = stream.reconfigure or meta.placement != stream.placement
            stream.placement, stream.side = meta.placement, meta.side

    def set_speed(self, speed_mps: float, at_ns: int) -> None:
        """Treadmill speed set by the operator (UTC ``at_ns``); foot-pod speed adds to this."""
        self.speed.add(at_ns, speed_mps)

    def mark_baseline(self, device: str | None = None, at_ns: int | None = None,
                      duration_s: float | None = None) -> None:
        """Start the baseline window at UTC ``at_ns`` (default: each device's latest sample)
        for one device or all."""
        for name, tracker, latest in self._trackers():
            if device is not None and name != device:
                continue
            start = at_ns if at_ns is not None else latest
            if start is not None:
                tracker.mark_baseline(start, duration_s, data_ns=latest)

    def _trackers(self) -> list[tuple[str, MetricsTracker, int | None]]:
        """Every stream's tracker and the UTC of its latest sample."""
        out: list[tuple[str, MetricsTracker, int | None]] = []
        for name, imu in self.imu.items():
            latest = self._utc(imu, imu.quality.next_index - 1) if imu.anchors else None
            out.append((name, imu.tracker, latest))
        for name, rsc in self.rsc.items():
            out.append((name, rsc.tracker, rsc.last_ns))
        return out

    def _trim_speed(self) -> None:
        """Drop speeds no stream's figures can ask about any more (metrics.HISTORY_S)."""
        if not self.speed.trims():
            return  # (asked at every stream's second; most sessions have no speeds)
        keep = [tracker.keep_from_ns(latest) for _, tracker, latest in self._trackers()
                if latest is not None]
        if keep:
            self.speed.trim_before(min(keep))

    def _baseline_now(self, given_ns: int) -> None:
        """A therapist's "baseline now", given at ``given_ns``: used as is when it lies within
        :data:`COMMAND_LEAD_S` of a device's data (or the device has sent none yet, or starts
        later: it gets the same mark), so the result does not depend on which frames happened
        to arrive first; far ahead of the data (a replay of an old session, watched live) it
        means "from here": that device's latest sample."""
        self._baseline_mark_ns = given_ns
        for _device, tracker, latest in self._trackers():
            far_ahead = latest is not None and given_ns - latest > COMMAND_LEAD_S * NS
            tracker.mark_baseline(latest if far_ahead and latest is not None else given_ns,
                                  data_ns=latest)

    def _new_tracker(self) -> MetricsTracker:
        tracker = MetricsTracker(self.config)
        if self._baseline_mark_ns is not None:
            tracker.mark_baseline(self._baseline_mark_ns)
        return tracker

    def set_status(self, device: str, status: DeviceStatus) -> list[Output]:
        """The device's retained ``status``: online, lost (the ``sensor_offline`` alert), or a
        normal end of its session (no alert)."""
        if status.online:
            self.ended.discard(device)
            self.join.ended(device, False)
            return self._out(self.alerts.device_status(device, True))
        if status.final:
            self.ended.add(device)
            self.join.ended(device)
            log.info("%s/%s: %s ended (%s)", self.athlete, self.session, device, status.reason)
            return []
        return self._out(self.alerts.device_status(device, False, reason=status.reason))

    def control(self, command: ControlCommand) -> list[Output]:
        """A therapist's command (docs/monitor.md, docs/coach.md): baseline now, the targets,
        feedback modes, a retention probe, notes. It takes effect at the session's time (the
        UTC of its latest data), so a recording analysed again gives the same result."""
        if command.action == "mark_baseline":
            self._baseline_now(command.time_ns)
            return []
        now = self._session_ns() or command.time_ns
        out: list[Output] = []
        if command.action == "set_target":
            out += self._out(self.alerts.set_target(cadence_spm=command.cadence_spm,
                                                    increase_pct=command.increase_pct))
        elif command.belt_speed_kmh is not None:  # a note: the belt speed from now on
            self.set_speed(kmh_to_mps(command.belt_speed_kmh), max([now, *self.speed.times[-1:]]))
        return out + self._session_events(self.feedback.command(command, now))

    def restore_feedback(self, state: FeedbackState) -> None:
        """The retained feedback state (a restarted processor): targets, feedback modes and
        schedules, a running probe and the belt speed, unless newer commands were applied."""
        if not self.feedback.restore(state):
            return
        self.alerts.set_target(cadence_spm=state.target_cadence_spm,
                               increase_pct=state.target_increase_pct)
        if state.notes is not None and state.notes.belt_speed_kmh is not None:
            self.set_speed(kmh_to_mps(state.notes.belt_speed_kmh),
                           max([state.notes.time_ns, *self.speed.times[-1:]]))

    def tick(self, now_ns: int) -> list[Output]:
        """Live only: the arrival clock moved on (devices that went silent)."""
        return self._out(self.alerts.tick(now_ns))

    def _out(self, outputs: Sequence[Output], *, final: bool = False) -> list[Output]:
        """Every output passes here: into the session summary and the join; what the join then
        completes (session metrics, and the session alerts on them) is added. The feedback
        schedule advances with the events' times: its switches come out before the event that
        revealed them."""
        out: list[Output] = []
        for device, event in outputs:
            if isinstance(event, FeedbackEvent | SessionNote | FeedbackState):
                out.append((device, event))
                continue
            out += self._advance_feedback(event)
            self.summary.add(device, event)
            self.join.observe(device, event)
            out.append((device, event))
        for combined in (self.join.flush() if final else self.join.ready()):
            alerts = self.alerts.observe(SESSION_DEVICE, combined)
            combined = combined.model_copy(update=self.alerts.flags(SESSION_DEVICE))
            more: list[tuple[str, DerivedEvent]] = [(SESSION_DEVICE, combined), *alerts]
            for device, event in more:
                self.summary.add(device, event)
                self.join.observe(device, event)
            out += self._advance_feedback(combined)
            out += more
        return out

    def _advance_feedback(self, event: Event) -> list[Output]:
        if not isinstance(event, StepEvent | MetricsEvent | SessionMetricsEvent):
            return []
        return self._session_events(self.feedback.advance(event.time_ns))

    @staticmethod
    def _session_events(events: Sequence[FeedbackOutput]) -> list[Output]:
        return [(SESSION_DEVICE, e) for e in events]

    def _session_ns(self) -> int | None:
        """The session's time: the UTC of the latest sample of any device."""
        times = [self._utc(imu, imu.quality.next_index - 1) for imu in self.imu.values()
                 if imu.anchors]
        times += [rsc.last_ns for rsc in self.rsc.values() if rsc.last_ns is not None]
        return max(times, default=None)

    # -- IMU frames --------------------------------------------------------------------------

    def feed_frame(self, device: str, frame: ImuFrame) -> list[Output]:
        """One IMU frame of ``device``: the steps and per-second metrics (and alerts) it
        completes, in sensor-time order. Late or duplicate frames are dropped and counted.

        The same in three steps, for frames of many streams analysed together (the live
        processor's batches, processing/router.py): :meth:`place`, then — if it
        :meth:`continues` its stream — :func:`append_together` and :meth:`land_found`,
        else :meth:`feed_placed`."""
        placed = self.place(device, frame)
        return [] if placed is None else self.feed_placed(placed)

    def place(self, device: str, frame: ImuFrame) -> PlacedFrame | None:
        """A frame's quality accounting and its place on the stream's timeline; None when
        there is nothing to analyse (empty, or late or a duplicate: counted)."""
        stream = self._imu_stream(device)
        if frame.n_samples == 0:
            return None
        slot = place_frame(stream.quality, frame, device)
        return None if slot is None else PlacedFrame(device, stream, frame, slot)

    @staticmethod
    def continues(placed: PlacedFrame) -> bool:
        """Whether the frame goes on where its stream's detector is (no gap, the same rate and
        placement): then it may be analysed together with other streams' frames."""
        stream, state = placed.stream, placed.stream.detector_state
        return stream.detector is not None and state is not None and state.active \
            and not stream.reconfigure and placed.frame.sample_rate_hz == stream.sample_rate_hz \
            and not placed.slot.segment_break and placed.slot.first_index == state.end

    def feed_frames(self, device: str, frames: Sequence[ImuFrame]) -> list[Output]:
        """Frames of one stream, in order (a burst its gate released after a lost frame, or
        once its meta came): :meth:`feed_frame` of each in turn, the same events, with the
        samples of frames that go on from one another through the detector's filter in one
        call (:meth:`_feed_block`), not one call a frame."""
        out: list[Output] = []
        k, count = 0, len(frames)
        while k < count:
            placed = self.place(device, frames[k])
            k += 1
            if placed is None:
                continue
            block, samples = [placed.frame], placed.frame.n_samples
            while k + len(block) - 1 < count:
                nxt = frames[k + len(block) - 1]
                if not _looks_next(block[-1], nxt) or samples + nxt.n_samples > RUN_MAX_SAMPLES:
                    break
                block.append(nxt)
                samples += nxt.n_samples
            if len(block) == 1:
                out += self.feed_placed(placed)
            else:
                k += self._feed_block(placed, block[1:], out)
        return out

    def _feed_block(self, first: PlacedFrame, rest: Sequence[ImuFrame],
                    out: list[Output]) -> int:
        """``first`` (placed) and the frames after it that look as if they go on from it
        (``rest``, not placed yet): all their samples into the detector at once, then each
        frame placed, decided and landed in turn, as :meth:`feed_frame` would (its quality
        accounting and metrics see only the frames before it). A frame that does not go on
        after all (its clocks say there was a gap) gives the samples from it on back and goes
        its own way. Returns how many of ``rest`` were placed."""
        before = self._prepare(first)
        stream = first.stream
        detector, dstate = stream.detector, stream.detector_state
        if detector is None or dstate is None:
            raise RuntimeError("detector state missing")  # unreachable: set by _prepare
        frames = [first.frame, *rest]
        counts = np.concatenate([f.counts for f in frames])
        resultant, axial, rail, axes = detector_inputs(counts[None], first.frame.accel_range_g)
        zi = detector.store(dstate, first.slot.first_index, resultant[0], axial[0], rail[0],
                            axes[0])
        end = first.slot.first_index + first.frame.n_samples
        given_back = False  # the samples from ``end`` on (truncate)
        try:
            out += self.land(first, detector.decide_to(dstate, end), before)
            for taken, frame in enumerate(rest, start=1):
                placed = self.place(first.device, frame)
                if placed is None or placed.slot.segment_break \
                        or placed.slot.first_index != end or stream.reconfigure:
                    detector.truncate(dstate, end, zi, resultant[0])
                    given_back = True
                    if placed is not None:
                        out += self.feed_placed(placed)
                    return taken
                end += frame.n_samples
                out += self.land(placed, detector.decide_to(dstate, end))
        except Exception:
            # (a bug further on, the message set aside by the router) the detector as
            # feed_frame would have left it: holding the frames up to the one that failed
            if not given_back and end < dstate.end:
                detector.truncate(dstate, end, zi, resultant[0])
            raise
        return len(rest)

    def feed_placed(self, placed: PlacedFrame) -> list[Output]:
        """A placed frame on its own: the detector (re)configured if needed, then detection."""
        out = self._prepare(placed)
        stream, frame, slot = placed.stream, placed.frame, placed.slot
        detector, dstate = stream.detector, stream.detector_state
        if detector is None or dstate is None:
            raise RuntimeError("detector state missing")  # unreachable: set by _prepare
        resultant, axial, rail, axes = detector_inputs(frame.counts[None], frame.accel_range_g)
        peaks = detector.process(dstate, slot.first_index, resultant[0], axial[0], rail[0],
                                 axes[0])
        return self.land(placed, peaks, out)

    def _prepare(self, placed: PlacedFrame) -> list[Output]:
        """Before a frame that may not continue its stream's detector: the detector
        (re)configured (a new stream, rate or placement) or its segment ended (a gap); what
        that completed."""
        device, stream, frame, slot = placed.device, placed.stream, placed.frame, placed.slot
        out: list[Output] = []
        fs = frame.sample_rate_hz
        if stream.detector is None or stream.reconfigure or fs != stream.sample_rate_hz:
            out += self._flush(device, stream)
            old = stream.detector_state
            stream.detector = shared_detector(fs, stream.placement, self.config.detector)
            stream.detector_state = stream.detector.new_state()
            if old is not None and not stream.reconfigure:
                # same sensor, new rate (the gateway switched to the measured one): keep
                # what the detector learnt, or its first peak would again be unguarded
                stream.detector_state.history = rescale_history(old.history,
                                                                fs / stream.sample_rate_hz)
            if fs != stream.sample_rate_hz:
                stream.sample_rate_hz = fs
                stream.boundary_origin, stream.boundary_k = slot.first_index, 0
                self._advance_boundary(stream)
            stream.reconfigure = False
        elif slot.segment_break:
            out += self._flush(device, stream, release=False)
        if slot.segment_break:
            stream.gap_since_strike = True
        return out

    def land_found(self, placed: PlacedFrame, found: Found) -> list[Output]:
        """A frame :func:`append_together` analysed: its stream's decisions, then its events."""
        stream = placed.stream
        if stream.detector is None or stream.detector_state is None:
            raise RuntimeError("append_together takes frames that continue their stream")
        return self.land(placed, stream.detector.decide_row(stream.detector_state, found))

    def land(self, placed: PlacedFrame, peaks: list[Peak],
             before: Sequence[Output] = ()) -> list[Output]:
        """A detected frame's timeline anchor, and the steps and metrics it completes."""
        device, stream, frame = placed.device, placed.stream, placed.frame
        start = placed.slot.first_index
        stream.anchors.append(Anchor(start, frame.sensor_time_us * 1000, frame.utc_ns,
                                     frame.sample_rate_hz))
        stream.tracker.start(frame.utc_ns)
        if stream.first_ns is None:
            stream.first_ns = frame.utc_ns
        self.summary.started(device, frame.utc_ns)
        self._skip_boundaries(stream, start)  # boundaries inside a gap have no data
        end = start + frame.n_samples
        if not peaks and not before and stream.next_boundary >= end and not self.join.changed:
            # (most frames) no step, no second ended, nothing for the join: what _merge and
            # _out would find, without them
            if len(stream.anchors) >= ANCHORS_UNTRIMMED:
                self._trim_anchors(stream)
            return []
        out = [*before, *self._merge(device, stream, peaks, end)]
        if len(stream.anchors) >= ANCHORS_UNTRIMMED:
            self._trim_anchors(stream)
        return self._out(out)

    def _imu_stream(self, device: str) -> ImuStream:
        stream = self.imu.get(device)
        if stream is None:
            meta = self.meta.get(device)
            if meta is None:
                log.warning("%s: no device meta yet: assuming placement %s, side %s", device,
                            self.config.default_placement, self.config.default_side)
                placement, side = self.config.default_placement, self.config.default_side
            else:
                placement, side = meta.placement, meta.side
            stream = ImuStream(placement, side, self._new_tracker())
            self.imu[device] = stream
        return stream

    def _merge(self, device: str, stream: ImuStream, peaks: list[Peak], end: int) -> list[Output]:
        """Interleave steps and per-second metrics by the sample that made them known."""
        out: list[Output] = []
        i = 0
        while True:
            b = stream.next_boundary
            if i < len(peaks) and (peaks[i].confirm_index <= b or b >= end):
                out += self._step(device, stream, peaks[i])
                i += 1
            elif b < end:
                out += self._metrics(device, stream, b)
                self._advance_boundary(stream)
            else:
                return out

    def _skip_boundaries(self, stream: ImuStream, start: int) -> None:
        """Move the next boundary to the first one at or after sample ``start``, in O(1)
        however long the gap (a clock that jumps a year must not cost a loop per second)."""
        if stream.next_boundary >= start:
            return
        period = stream.sample_rate_hz * self.config.metrics_period_s
        k = max(stream.boundary_k + 1,
                math.ceil((start - stream.boundary_origin) / period) - 1)
        while stream.boundary_origin + round(k * period) < start:  # at most twice (rounding)
            k += 1
        stream.boundary_k = k
        stream.next_boundary = stream.boundary_origin + round(k * period)

    def _advance_boundary(self, stream: ImuStream) -> None:
        stream.boundary_k += 1
        period = stream.sample_rate_hz * self.config.metrics_period_s
        stream.next_boundary = stream.boundary_origin + round(stream.boundary_k * period)

    def _flush(self, device: str, stream: ImuStream, *, release: bool = True) -> list[Output]:
        if stream.detector is None or stream.detector_state is None:
            return []
        peaks = stream.detector.flush(stream.detector_state, release)
        stream.last_interval_s = None
        out: list[Output] = []
        for p in peaks:
            out += self._step(device, stream, p)
        return out

    def _step(self, device: str, stream: ImuStream, peak: Peak) -> list[Output]:
        fs = stream.sample_rate_hz
        utc, sensor_ns = self._times(stream, peak.index)
        per_stride = PLACEMENT_TUNING[stream.placement].strikes_per_stride
        interval_s = peak.interval_samples / fs if peak.interval_samples is not None else None
        if interval_s is not None and interval_s > (MAX_STRIDE_S if per_stride == 1
                                                    else MAX_STEP_S):
            interval_s = None  # it spans a stop: no cadence (a 78-s "stride" is 1.5 spm)
        cadence = 60.0 * (2 / per_stride) / interval_s if interval_s else None
        if cadence is not None and cadence > MAX_CADENCE_SPM:
            cadence = None  # two edges closer than any step: a timing artefact, no step rate
        stride_s = interval_s
        if per_stride == 2:
            prev = stream.last_interval_s
            stride_s = interval_s + prev if interval_s is not None and prev is not None else None
            stream.last_interval_s = interval_s
        rise_ns = utc + round((peak.rise_index - peak.index) * NS / fs)
        out: list[Output] = [(device, e) for e in self._strike_span(stream, rise_ns,
                                                                      interval_s, per_stride)]
        if stride_s:
            stream.tracker.add_cadence(utc, 120.0 / stride_s, weight_s=interval_s or 0.0,
                                       speed_mps=self.speed.last_before(utc))
        stream.tracker.add_impact(utc, peak.impact_g, peak.clipped, peak.impact_axial_g)
        add_strike(stream.quality, peak.clipped)
        stream.steps_total += 1
        event = StepEvent.derived(
            time_ns=utc, sensor_time_s=sensor_ns / NS, impact_g=peak.impact_g,
            cadence_spm=cadence, interval_s=interval_s, side=stream.side,
            placement=stream.placement, clipped=peak.clipped, confidence=peak.confidence,
            impact_axial_g=peak.impact_axial_g, loading_rate_gps=peak.loading_rate_gps,
            confirm_delay_ms=1000.0 * (peak.confirm_index - peak.index) / fs,
            rise_sensor_time_s=(sensor_ns + round((peak.rise_index - peak.index) * NS / fs))
            / NS,
            strike="stride" if per_stride == 1 else "step", clip_rule=peak.clip_rule,
        )
        return [*out, (device, event), *self.alerts.observe(device, event)]

    def _strike_span(self, stream: ImuStream, rise_ns: int, interval_s: float | None,
                     per_stride: int) -> list[PauseEvent]:
        """The timeline since the previous strike: locomotion at its step rate, a stop when no
        strike came for a slowest stride, or not recorded when a data gap lies in it."""
        prev, gap = stream.last_rise_ns, stream.gap_since_strike
        stream.last_rise_ns, stream.gap_since_strike = rise_ns, False
        tracker = stream.tracker
        if prev is None:  # standing before the first strike counts as stopped
            first = stream.first_ns if stream.first_ns is not None else rise_ns
            if rise_ns - first > round(MAX_STRIDE_S * NS):
                return tracker.span(first, rise_ns, "stopped")
            return []
        dt_s = (rise_ns - prev) / NS
        if dt_s <= 0:  # a clock that maps two strikes to one UTC (hostile): no span
            return []
        if interval_s is None and gap:
            return tracker.span(prev, rise_ns, "unrecorded")
        if dt_s > MAX_STRIDE_S:
            return tracker.span(prev, rise_ns, "stopped")
        return tracker.span(prev, rise_ns, "locomotion", 60.0 * (2 / per_stride) / dt_s)

    def _metrics(self, device: str, stream: ImuStream, index: int, *,
                 final: bool = False) -> list[Output]:
        utc, _ = self._times(stream, index)
        fs = stream.sample_rate_hz
        q = stream.quality
        figures = stream.tracker.snapshot(utc, self.speed)
        self._trim_speed()
        event = MetricsEvent.derived(
            time_ns=utc, steps_total=stream.steps_total, placement=stream.placement,
            side=stream.side, **figures,
            packet_loss_pct=packet_loss_pct(q, index, round(self.config.quality_window_s * fs)),
            packet_loss_total_pct=total_loss_pct(q), frames_late_total=q.frames_late,
            frames_duplicate_total=q.frames_duplicate,
            clipping_pct=clipping_pct(q), clipped_steps_total=q.strikes_clipped,
            strides_total=stream.steps_total
            // PLACEMENT_TUNING[stream.placement].strikes_per_stride, final=final)
        alerts = self.alerts.observe(device, event)
        return [(device, event.model_copy(update=self.alerts.flags(device))), *alerts]

    def _times(self, stream: ImuStream, index: int) -> tuple[int, int]:
        """(UTC ns, sensor ns) of a sample, from the frame it arrived in."""
        i = bisect_right(stream.anchors, index, key=_anchor_index) - 1
        a = stream.anchors[max(i, 0)]
        offset = round((index - a.index) * NS / a.sample_rate_hz)
        return a.utc_ns + offset, a.sensor_ns + offset

    def _utc(self, stream: ImuStream, index: int) -> int:
        return self._times(stream, index)[0]

    def _trim_anchors(self, stream: ImuStream) -> None:
        """Forget the anchors before the one of the oldest sample a strike may still come
        from (strikes held at a segment's start need theirs), in one cut."""
        state = stream.detector_state
        if state is None:
            return
        first = bisect_right(stream.anchors, state.pending_from(), key=_anchor_index) - 1
        if first > 0:
            del stream.anchors[:first]

    # -- foot pods ---------------------------------------------------------------------------

    def feed_rsc(self, device: str, sample: RscSample) -> list[Output]:
        """One foot-pod sample: a metrics event (and alerts) when a second of the pod's time
        has passed; its speed also becomes the session's speed."""
        stream = self.rsc.get(device)
        if stream is None:
            stream = self.rsc[device] = RscStream(self._new_tracker())
        t = sample.time_ns
        if stream.last_ns is not None and t <= stream.last_ns:
            log.warning("%s: dropped foot-pod sample at %d: not after %d", device, t,
                        stream.last_ns)
            return []
        out: list[Output] = []
        period = round(self.config.metrics_period_s * NS)
        stream.has_speed = stream.has_speed or sample.speed_mps > 0
        stopped = sample.cadence_spm <= 0 or (stream.has_speed
                                              and sample.speed_mps < STOPPED_BELOW_MPS)
        weight_s = 0.0
        if stream.last_ns is None:
            stream.tracker.start(t)
            self.summary.started(device, t)
            stream.next_boundary_ns = t + period
        else:
            out += [(device, e) for e in self._rsc_span(stream, sample, stopped)]
            dt_s = (t - stream.last_ns) / NS
            if dt_s <= RECORD_GAP_S:
                weight_s = dt_s
                if not stopped:  # the sample stands for the time since the previous one
                    stream.steps += sample.cadence_spm / 60.0 * dt_s
        stream.last_ns = t
        if sample.total_distance_m is not None:
            stream.last_distance_m = sample.total_distance_m
        if stream.has_speed:
            self.speed.add(t, sample.speed_mps)
        if not stopped:
            stream.tracker.add_cadence(t, sample.cadence_spm, weight_s=weight_s,
                                       speed_mps=sample.speed_mps if stream.has_speed
                                       else self.speed.last_before(t))
        if t < stream.next_boundary_ns:
            return self._out(out)
        b = stream.next_boundary_ns + (t - stream.next_boundary_ns) // period * period
        stream.next_boundary_ns = b + period
        return self._out(out + self._rsc_metrics(device, stream, b))

    @staticmethod
    def _rsc_span(stream: RscStream, sample: RscSample, stopped: bool) -> list[PauseEvent]:
        """The time since the pod's previous sample: what this sample says, or — after a
        silence of more than ``RECORD_GAP_S`` — a stop, unless the distance grew at least at a
        walking pace over it (the runner moved and the watch recorded nothing)."""
        prev, t = stream.last_ns, sample.time_ns
        if prev is None:
            return []
        dt_s = (t - prev) / NS
        tracker = stream.tracker
        if dt_s > RECORD_GAP_S:
            moved = (sample.total_distance_m is not None and stream.last_distance_m is not None
                     and (sample.total_distance_m - stream.last_distance_m) / dt_s
                     >= STOPPED_BELOW_MPS)
            return tracker.span(prev, t, "unrecorded" if moved else "stopped")
        if stopped:
            return tracker.span(prev, t, "stopped")
        return tracker.span(prev, t, "locomotion", sample.cadence_spm)

    def _rsc_metrics(self, device: str, stream: RscStream, at_ns: int, *,
                     final: bool = False) -> list[Output]:
        meta = self.meta.get(device)
        event = MetricsEvent.derived(
            time_ns=at_ns, steps_total=round(stream.steps), placement=Placement.FOOT,
            side=meta.side if meta is not None else Side.NONE, source="rsc",
            **stream.tracker.snapshot(at_ns, self.speed), final=final)
        self._trim_speed()
        alerts = self.alerts.observe(device, event)
        return [(device, event.model_copy(update=self.alerts.flags(device))), *alerts]

    # -- end of stream -----------------------------------------------------------------------

    def flush_device(self, device: str) -> list[Output]:
        """The device went offline or ended: its strike still waiting for look-ahead
        samples is decided with what there is (a later frame starts a new segment)."""
        stream = self.imu.get(device)
        if stream is None:
            return []
        return self._out(self._flush(device, stream))

    def finish(self) -> list[Output]:
        """End of the session: flush every stream's pending look-ahead, emit a final metrics
        event for each, its last break, then each device's :class:`DeviceSummary`."""
        out: list[Output] = []
        for device, stream in self.imu.items():
            if stream.detector_state is None or not stream.anchors:
                continue
            out += self._flush(device, stream)
            last = stream.quality.next_index - 1
            out += [(d, e) for d, e in self._metrics(device, stream, last, final=True)
                    if isinstance(e, MetricsEvent)]
            end_ns = self._utc(stream, last)
            if stream.last_rise_ns is not None and \
                    end_ns - stream.last_rise_ns > round(MAX_STRIDE_S * NS):
                out += [(device, e) for e in stream.tracker.span(stream.last_rise_ns, end_ns,
                                                                   "stopped")]
            out += self._finish_tracker(device, stream.tracker)
        for device, rsc in self.rsc.items():
            if rsc.last_ns is not None:
                out += [(d, e) for d, e in self._rsc_metrics(device, rsc, rsc.last_ns,
                                                             final=True)
                        if isinstance(e, MetricsEvent)]
                out += self._finish_tracker(device, rsc.tracker)
        out = self._out(out, final=True)
        return out + list(self.summary.summaries().items())

    def _finish_tracker(self, device: str, tracker: MetricsTracker) -> list[Output]:
        """A stream's last break, and its end-of-run figures for the summary."""
        out: list[Output] = [(device, e) for e in tracker.activity.finish()]
        self.summary.set_run(device, tracker.run_figures())
        return out
