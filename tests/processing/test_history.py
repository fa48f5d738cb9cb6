"""A stream keeps only the history its figures can still ask about (metrics.HISTORY_S): an
hour costs the memory of the last minutes, and dropping the rest changes no event."""

from __future__ import annotations

import numpy as np
import pytest

from footfall.processing import activity, metrics
from footfall.processing.session import SessionProcessor
from footfall.recordings.framing import frame_counts
from footfall.wire.control import ControlCommand
from footfall.wire.events import DeviceMeta
from footfall.wire.frame import g_to_counts

from .synth import leg_run

UTC0 = 1_795_000_000_000_000_000
NS = 1_000_000_000
FS = 200.0
DURATION_S = 1200.0


def _run() -> list[object]:
    """20 minutes: running, a minute of walking, speed changes, a therapist's baseline mark
    dated two minutes back, a stop; every event the processor emits."""
    grid = np.arange(0.0, DURATION_S + 0.1, 0.1)
    cadence = np.where((grid > 480) & (grid < 540), 110.0, 170.0 - grid / 120)
    run = leg_run(duration_s=DURATION_S, cadence_spm=cadence, sample_rate_hz=FS, seed=3)
    accel = run.accel_g.copy()
    accel[round(700 * FS):round(730 * FS)] = [1.0, 0.0, 0.0]  # standing still for 30 s
    timed, _ = frame_counts(g_to_counts(accel, 16), sample_rate_hz=FS, accel_range_g=16,
                            start_utc_ns=UTC0, samples_per_frame=25)
    proc = SessionProcessor("ann", "s1")
    proc.set_meta("tib", DeviceMeta(profile="sim", placement="tibia", side="left",
                                    sample_rate_hz=FS, accel_range_g=16))
    events: list[object] = []
    commands = {300: ControlCommand(action="note", time_ns=UTC0 + 300 * NS, source="test",
                                    belt_speed_kmh=10.0),
                400: ControlCommand.set_target(UTC0 + 400 * NS, increase_pct=5.0),
                600: ControlCommand(action="note", time_ns=UTC0 + 600 * NS, source="test",
                                    belt_speed_kmh=11.0),
                720: ControlCommand.mark_baseline(UTC0 + 600 * NS)}
    for t in timed:
        second = (t.frame.utc_ns - UTC0) // NS
        command = commands.pop(second, None)
        if command is not None:
            events += [e for _, e in proc.control(command)]
        events += [e for _, e in proc.feed_frame("tib", t.frame)]
    tracker = proc.imu["tib"].tracker
    events.append(("kept", len(tracker.state.run_impact), len(tracker.state.impact),
                   len(tracker.activity.state.clock_ns), len(proc.speed)))
    events += [e for _, e in proc.finish()]
    return events


def test_dropping_old_history_changes_no_event(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metrics, "HISTORY_S", 1e9)  # keep everything
    everything = _run()
    monkeypatch.setattr(metrics, "HISTORY_S", 180.0)  # longer than any window (trend: 120 s)
    monkeypatch.setattr(activity, "TRIM_BATCH", 8)  # trim often: every edge case comes up
    trimmed = _run()
    kept_all = next(e for e in everything if isinstance(e, tuple))
    kept_trimmed = next(e for e in trimmed if isinstance(e, tuple))
    events = [e for e in everything if not isinstance(e, tuple)]
    assert [e for e in trimmed if not isinstance(e, tuple)] == events
    assert len(events) > 3000
    # what was kept: the running-clock lists cover the end-of-run window (10 min of running),
    # the rest about 3 minutes of a 20-minute run
    _, run_impact, impact, clock, speed = kept_trimmed
    assert run_impact < 0.6 * kept_all[1] and clock < 0.6 * kept_all[3]
    assert impact < 0.25 * kept_all[2] and speed <= kept_all[4]


def test_a_baseline_mark_older_than_the_history_starts_where_the_history_does() -> None:
    tracker = metrics.MetricsTracker()
    now = UTC0 + 3600 * NS
    tracker.mark_baseline(UTC0, data_ns=now)  # an hour back
    assert tracker.state.baseline.start_ns == now - round(metrics.HISTORY_S * NS)
