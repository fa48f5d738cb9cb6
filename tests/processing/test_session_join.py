"""The session join across silences: a second with no fresh device figure is skipped in one
step, with the same events a second-by-second walk gives, however long the silence."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from footfall.core.units import NS
from footfall.core.vocab import Placement, Side
from footfall.processing.session_join import SessionJoin
from footfall.wire.events import MetricsEvent, SessionMetricsEvent

T0_NS = 1_795_540_800_000_000_000  # 2026-11-24T17:20:00Z
YEAR_NS = 365 * 86_400 * NS


def WalkingJoin() -> SessionJoin:
    """The join as it was: every grid second, one after the other (the reference)."""
    return SessionJoin(skip_silences=False)


def metrics(time_ns: int, side: Side, cadence_spm: float) -> MetricsEvent:
    return MetricsEvent(time_ns=time_ns, cadence_spm=cadence_spm, steps_total=1,
                        placement=Placement.TIBIA, side=side, impact_g=5.0)


def run(join: SessionJoin, events: list[tuple[str, MetricsEvent]]) -> list[SessionMetricsEvent]:
    out: list[SessionMetricsEvent] = []
    for device, event in events:
        join.observe(device, event)
        out += join.ready()
    return out + join.flush()


# per device: runs of per-second metrics separated by silences (s; negative: the gateway's
# clock stepped back), ms offsets within a second
runs = st.lists(st.tuples(st.integers(1, 6), st.integers(-8, 40), st.integers(0, 999)),
                min_size=1, max_size=4)


def device_events(device: str, side: Side, plan: list[tuple[int, int, int]]
                  ) -> list[tuple[str, MetricsEvent]]:
    out, t = [], T0_NS
    for seconds, silence_s, offset_ms in plan:
        for k in range(seconds):
            out.append((device, metrics(t + offset_ms * 1_000_000 + k * NS, side, 160.0 + k)))
        t += (seconds + silence_s) * NS
    return out


@settings(max_examples=150, deadline=None)
@given(left=runs, right=runs, order=st.lists(st.booleans(), max_size=60),
       right_expected=st.booleans())
def test_skipping_a_silence_gives_the_events_of_the_second_by_second_walk(
        left: list[tuple[int, int, int]], right: list[tuple[int, int, int]],
        order: list[bool], right_expected: bool) -> None:
    """Each device's events in its own order, the two interleaved any way (one device's
    data may come late, a burst after an outage), the right one with or without a meta."""
    a, b = device_events("l", Side.LEFT, left), device_events("r", Side.RIGHT, right)
    events: list[tuple[str, MetricsEvent]] = []
    for take_left in order:
        if (take_left and a) or not b:
            if a:
                events.append(a.pop(0))
        else:
            events.append(b.pop(0))
    events += a + b
    joins = SessionJoin(), WalkingJoin()
    for join in joins:
        join.expect("l")
        if right_expected:
            join.expect("r")
    assert run(joins[0], events) == run(joins[1], events)


def seconds_of(out: list[SessionMetricsEvent]) -> list[float]:
    return [(e.time_ns - T0_NS) / NS for e in out]


def test_a_second_after_the_slowest_device_is_not_skipped_before_it_is_decided() -> None:
    """The review's cases: a silence is skipped only up to what the devices holding the join
    back have passed; a second after it may still get data (here: of a device with no meta,
    which holds nothing back), as the walk would give it."""
    events = [("a", metrics(T0_NS + t * NS, Side.LEFT, 170.0)) for t in (1, 2, 3)]
    events += [("a", metrics(T0_NS + 11_500_000_000, Side.LEFT, 170.0)),
               ("b", metrics(T0_NS + 10_800_000_000, Side.RIGHT, 170.0))]
    events += [("a", metrics(T0_NS + round(t * NS), Side.LEFT, 170.0)) for t in (12.5, 13.5)]
    new, walked = run(SessionJoin(), events), run(WalkingJoin(), events)
    assert seconds_of(new) == seconds_of(walked) and 11.0 in seconds_of(new)
    back = [("a", metrics(T0_NS + round(t * NS), Side.LEFT, 170.0))
            for t in (0.0, 3.073, 3.158, 0.0, 7.351, 6.901)]  # a clock that steps back
    assert seconds_of(run(SessionJoin(), back)) == seconds_of(run(WalkingJoin(), back))


def test_a_clock_decades_ahead_costs_no_second_in_between() -> None:
    """One device's data 40 years after the other's (a hostile gateway clock): the join
    emits the seconds around each, and not the 1.3 billion between (which stalled the
    processor at the session's end, one loop per second)."""
    join = SessionJoin()
    near = [("l", metrics(T0_NS + k * NS, Side.LEFT, 170.0)) for k in range(5)]
    far = [("r", metrics(T0_NS + 40 * YEAR_NS + k * NS, Side.RIGHT, 172.0)) for k in range(5)]
    out = run(join, near + far)
    times = [e.time_ns for e in out]
    assert times == sorted(times)
    assert len(out) <= 2 * (5 + 3)  # each run's seconds, and a few as its figures go stale
    assert min(times) < T0_NS + 10 * NS and max(times) > T0_NS + 40 * YEAR_NS
