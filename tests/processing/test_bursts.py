"""A burst of one stream's frames (what its gate releases after a lost frame, or once the meta
came) goes through the detector's filter in one call (``SessionProcessor.feed_frames``): the
same events, in the same order, as each frame on its own — with a gap only its clocks show in
the middle, a resent frame in it, bursts longer than one call takes, a new segment at its
start."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from footfall.core.vocab import Placement, Side
from footfall.processing import session as session_module
from footfall.processing.detector import StepDetector
from footfall.processing.session import SessionProcessor, detector_inputs
from footfall.recordings.csv import choose_range_g, read_csv
from footfall.recordings.framing import frame_counts
from footfall.simulators.framing import to_frames
from footfall.simulators.runner import RunnerParams, render, simulate_gait
from footfall.wire.events import DeviceMeta, StepEvent
from footfall.wire.frame import ImuFrame, g_to_counts
from tests import COMPILED

START_NS = 1_795_540_800_000_000_000
RATE_HZ = 1000.0


def _frames(seed: int, duration_s: float = 20.0) -> list[ImuFrame]:
    params = RunnerParams(sample_rate_hz=RATE_HZ, accel_range_g=16, seed=seed,
                          side=Side.LEFT, placement=Placement.TIBIA)
    run = render(simulate_gait(params, duration_s), params)
    frames, _ = to_frames(run, start_utc_ns=START_NS, samples_per_frame=25)
    return [timed.frame for timed in frames]


def _processor() -> SessionProcessor:
    processor = SessionProcessor("anna", "s1")
    processor.set_meta("tibia-left", DeviceMeta(profile="sim", placement=Placement.TIBIA,
                                                side=Side.LEFT, sample_rate_hz=RATE_HZ,
                                                accel_range_g=16))
    return processor


def _events(outputs: list[tuple[str, object]]) -> list[tuple[str, bytes]]:
    return [(device, event.to_json()) for device, event in outputs]  # type: ignore[attr-defined]


def _one_by_one(frames: list[ImuFrame]) -> list[tuple[str, bytes]]:
    processor = _processor()
    out = []
    for frame in frames:
        out += processor.feed_frame("tibia-left", frame)
    return _events(out + processor.finish())


def _in_bursts(frames: list[ImuFrame], bursts: list[int]) -> list[tuple[str, bytes]]:
    processor = _processor()
    out, at, k = [], 0, 0
    while at < len(frames):
        size = bursts[k % len(bursts)]
        out += processor.feed_frames("tibia-left", frames[at:at + size])
        at, k = at + size, k + 1
    return _events(out + processor.finish())


def _hurt(frames: list[ImuFrame], seed: int) -> list[ImuFrame]:
    """Frames lost (a new segment after each), one resent, and a gap only the clocks show:
    the frame counter goes on, the sensor clock and UTC jump by 0.2 s."""
    rng = random.Random(seed)
    kept = [f for f in frames if rng.random() >= 0.1]
    kept.insert(len(kept) // 3, kept[len(kept) // 3 - 1])  # resent
    jump = 2 * len(kept) // 3
    kept[jump:] = [shifted(f, 200_000) for f in kept[jump:]]
    return kept


def shifted(frame: ImuFrame, shift_us: int) -> ImuFrame:
    """The frame with its sensor clock and UTC ``shift_us`` later (its counter as it was)."""
    return frame.replace(sensor_time_us=frame.sensor_time_us + shift_us,
                         utc_ns=frame.utc_ns + shift_us * 1000)


FRAMES = _frames(seed=4)
HURT = _hurt(FRAMES, seed=1)


def test_the_hurt_stream_has_what_the_bursts_are_checked_on() -> None:
    processor = _processor()
    for frame in HURT:
        processor.feed_frame("tibia-left", frame)
    quality = processor.imu["tibia-left"].quality
    assert quality.frames_lost > 50 and quality.frames_duplicate == 1
    assert quality.clock_jumps == 0  # both clocks agree on the jump: a gap, not a bad clock
    events = [device for device, _ in _one_by_one(HURT)]
    assert len(events) > 50


@settings(max_examples=15, deadline=None)
@given(bursts=st.lists(st.integers(1, 40), min_size=1, max_size=6))
def test_any_bursts_give_the_events_of_each_frame_on_its_own(bursts: list[int]) -> None:
    assert _in_bursts(HURT, bursts) == _one_by_one(HURT)


@pytest.mark.parametrize("max_samples", [25, 60, 256])
def test_a_long_burst_is_cut_into_calls_with_the_same_events(
        monkeypatch: pytest.MonkeyPatch, max_samples: int) -> None:
    monkeypatch.setattr(session_module, "RUN_MAX_SAMPLES", max_samples)
    assert _in_bursts(FRAMES, [400]) == _one_by_one(FRAMES)
    assert _in_bursts(HURT, [400]) == _one_by_one(HURT)


@pytest.mark.parametrize("at", range(41, 51))
def test_a_gap_only_the_clocks_show_gives_back_what_the_burst_had_stored(at: int) -> None:
    """The frame after the jump looks next (its seq), its placement says gap: the samples
    from it on leave the detector (``StepDetector.truncate``), it starts a new segment. (At
    each place of a ten-frame call: 256 samples.)"""
    frames = [shifted(f, 200_000) if k >= at else f for k, f in enumerate(FRAMES)]
    truncated = []
    original = StepDetector.truncate

    def spy(self: object, *args: object) -> None:
        truncated.append(args[1])
        original(self, *args)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(StepDetector, "truncate", spy)
        assert _in_bursts(frames, [len(frames)]) == _one_by_one(frames)
    if not COMPILED:  # (the compiled build calls its own methods natively: no spy sees them)
        assert len(truncated) == (at % 10 != 0)


def test_truncate_leaves_the_detector_as_if_only_the_kept_samples_had_come() -> None:
    """Then the stream goes on from there: a frame that follows the kept samples after all
    (the next segment would restart the filter anyway) gets the strikes it would have."""
    frames = FRAMES[:120]
    resultant, axial, rail, axes = detector_inputs(
        np.concatenate([f.counts for f in frames])[None], 16.0)
    detector = StepDetector(RATE_HZ, "tibia")
    kept = 40 * 25
    a, b = detector.new_state(), detector.new_state()
    zi = detector.store(a, 0, resultant[0], axial[0], rail[0], axes[0])
    detector.truncate(a, kept, zi, resultant[0])
    detector.store(b, 0, resultant[0, :kept], axial[0, :kept], rail[0, :kept], axes[0, :kept])
    assert (a.n, a.base, a.end) == (b.n, b.base, b.end)
    rows = detector._rows
    assert np.array_equal(rows.zi[a.row], rows.zi[b.row])
    assert np.array_equal(rows.filtered[a.row, :a.n], rows.filtered[b.row, :b.n])
    peaks = [detector.process(s, kept, resultant[0, kept:], axial[0, kept:], rail[0, kept:],
                              axes[0, kept:]) for s in (a, b)]
    assert peaks[0] == peaks[1] and peaks[0]


@pytest.mark.skipif(bool(COMPILED), reason="the compiled build calls its own methods "
                    "natively: a failure cannot be patched in (the Python build runs this)")
@pytest.mark.parametrize("failing", [1, 5, 25])
def test_a_frame_that_fails_mid_burst_leaves_the_detector_as_one_at_a_time(
        monkeypatch: pytest.MonkeyPatch, failing: int) -> None:
    """A bug while a frame lands (the router sets its message aside, the rest of its burst
    with it): the detector holds the frames up to that one, as after ``feed_frame`` of each,
    not the whole block's samples, and the stream goes on the same."""
    original = SessionProcessor.land

    def run(in_burst: bool) -> tuple[int, list[tuple[str, bytes]]]:
        processor, calls = _processor(), [0]

        def land(self: SessionProcessor, *args: object) -> object:
            calls[0] += 1
            if calls[0] == failing:
                raise RuntimeError("a bug")
            return original(self, *args)  # type: ignore[arg-type]

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(SessionProcessor, "land", land)
            with pytest.raises(RuntimeError, match="a bug"):
                if in_burst:
                    processor.feed_frames("tibia-left", FRAMES[:40])
                else:
                    for frame in FRAMES[:40]:
                        processor.feed_frame("tibia-left", frame)
        state = processor.imu["tibia-left"].detector_state
        assert state is not None
        held = state.end
        out = []
        for frame in FRAMES[40:]:
            out += processor.feed_frame("tibia-left", frame)
        return held, _events(out + processor.finish())

    held, events = run(in_burst=False)
    assert held == failing * 25
    assert run(in_burst=True) == (held, events)


def test_the_real_ankle_run_with_frames_lost_gives_the_same_events_in_bursts() -> None:
    """The adeptdata ankle (tests/data, real: 25 min at 100 Hz, clipping at its -8 g rail)
    framed with 5 % of the frames lost, as a lossy link or a full broker queue leaves it: in
    the gate's bursts, the events of each frame on its own."""
    run = read_csv(Path(__file__).parents[1] / "data" / "ankle-hip-adeptdata"
                   / "acc_running_left_ankle.csv.gz")
    range_g = choose_range_g(run.accel_g)
    timed, stats = frame_counts(g_to_counts(run.accel_g, range_g),
                                sample_rate_hz=run.sample_rate_hz, accel_range_g=range_g,
                                start_utc_ns=START_NS, samples_per_frame=10,
                                packet_loss_pct=5.0, seed=7)
    frames = [t.frame for t in timed]
    assert stats.frames_lost > 100

    def processor() -> SessionProcessor:
        p = SessionProcessor("anna", "s1")
        p.set_meta("ankle", DeviceMeta(profile="csv", placement=Placement.FOOT, side=Side.LEFT,
                                       sample_rate_hz=run.sample_rate_hz,
                                       accel_range_g=range_g))
        return p

    alone, bursts = processor(), processor()
    one: list[tuple[str, object]] = []
    for frame in frames:
        one += alone.feed_frame("ankle", frame)
    burst: list[tuple[str, object]] = []
    for at in range(0, len(frames), 37):
        burst += bursts.feed_frames("ankle", frames[at:at + 37])
    one += alone.finish()
    assert sum(isinstance(event, StepEvent) for _, event in one) > 1000
    assert _events(burst + bursts.finish()) == _events(one)
