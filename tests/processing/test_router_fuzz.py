"""The router takes anything: arbitrary JSON on every stream, arbitrary bytes, frames with any
header. It never raises, never hangs, and every message it rejects is in the quarantine with
a reason; valid messages between hostile ones are still processed."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from footfall.core.quarantine import Quarantine
from footfall.processing.router import SessionRouter
from footfall.wire.frame import HEADER, ImuFrame, encode, g_to_counts
from footfall.wire.topics import Stream

T0 = 1_795_540_800_000_000_000
STREAMS = [s.value for s in Stream]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) |
    st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=20)
FIELDS = ["v", "type", "time_ns", "speed_mps", "cadence_spm", "running", "profile", "placement",
          "side", "sample_rate_hz", "accel_range_g", "online", "reason", "final", "action",
          "increase_pct", "seq", "axes"]


@st.composite
def events(draw: st.DrawFn) -> dict[str, Any]:
    """Objects that look like events: the right keys, anything as values."""
    body = {k: draw(json_values) for k in draw(st.lists(st.sampled_from(FIELDS), max_size=8))}
    if draw(st.booleans()):
        body["v"] = 1
    if draw(st.booleans()):
        body["type"] = draw(st.sampled_from(STREAMS))
    return body


@st.composite
def frames(draw: st.DrawFn) -> bytes:
    """Frames with arbitrary header values: rates of 1e-30 or 1e30 Hz, clocks near 2**64."""
    n = draw(st.integers(0, 40))
    channels = draw(st.sampled_from([3, 6, 7]))
    header = HEADER.pack(
        b"FF", 1, channels, draw(st.integers(0, 2**32 - 1)), draw(st.integers(0, 2**64 - 1)),
        draw(st.integers(-2**63, 2**63 - 1)),
        draw(st.floats(width=32, allow_nan=True, allow_infinity=True)),
        draw(st.integers(0, 2**16 - 1)), draw(st.integers(0, 2**16 - 1)), n,
        draw(st.integers(0, 2**16 - 1)))
    body = draw(st.binary(min_size=2 * channels * n, max_size=2 * channels * n))
    return header + body if draw(st.booleans()) else (header + body)[:draw(st.integers(0, 80))]


@st.composite
def plausible_frames(draw: st.DrawFn) -> bytes:
    """Headers that pass the bounds, with the hostile parts where they hurt: the sensor clock
    jumping to 2**64 − 1 or back, seq jumps, extreme rates, counts at the rails."""
    n = draw(st.integers(1, 30))
    header = HEADER.pack(
        b"FF", 1, 3, draw(st.integers(0, 2**32 - 1)),
        draw(st.sampled_from([0, 1, 2**63, 2**64 - 1])) if draw(st.booleans())
        else draw(st.integers(0, 2**64 - 1)),
        draw(st.integers(T0 - 10**15, T0 + 10**15)),
        draw(st.sampled_from([1.0, 12.5, 100.0, 1000.0, 99_999.0])),
        draw(st.sampled_from([1, 8, 16, 2000])), 0, n, draw(st.integers(0, 1)))
    counts = draw(st.lists(st.sampled_from([-32768, 32767, 0, 1]) | st.integers(-32768, 32767),
                           min_size=3 * n, max_size=3 * n))
    return header + struct.pack(f"<{3 * n}h", *counts)


def _good_frame(seq: int) -> bytes:
    t = np.arange(25) / 1000.0
    accel = np.column_stack([1.0 + 9 * np.exp(-((t - 0.01) / 0.003) ** 2), np.zeros(25),
                             np.zeros(25)])
    return encode(ImuFrame(seq=seq, sensor_time_us=seq * 25_000, utc_ns=T0 + seq * 25_000_000,
                           sample_rate_hz=1000.0, accel_range_g=16,
                           counts=g_to_counts(accel, 16)))


messages = st.one_of(
    st.tuples(st.sampled_from(STREAMS), events().map(lambda e: json.dumps(e).encode())),
    st.tuples(st.sampled_from(STREAMS), st.binary(max_size=200)),
    st.tuples(st.just("imu"), frames()),
    st.tuples(st.just("imu"), plausible_frames()),
    st.tuples(st.sampled_from(STREAMS), st.just(b"[" * 70_000)),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile=st.lists(st.tuples(st.sampled_from(["tib", "pod", "session", "bad id"]),
                                  messages), min_size=1, max_size=12))
def test_router_never_raises_and_quarantines_every_rejection(
        hostile: list[tuple[str, tuple[str, bytes]]], tmp_path_factory: Any) -> None:
    folder = Path(tmp_path_factory.mktemp("q"))
    quarantine = Quarantine(folder)
    router = SessionRouter(on_reject=quarantine.put)
    seq = 0
    produced = 0
    for device, (stream, payload) in hostile:
        # a valid frame of another session between hostile messages: it must still be processed
        produced += len(router.handle("footfall/v1/ok/s1/tibia-left/imu", _good_frame(seq)))
        seq += 1
        router.handle(f"footfall/v1/ann/s1/{device}/{stream}", payload)
    router.finish()
    records = [json.loads(line) for p in folder.glob("*.jsonl")
               for line in p.read_text().splitlines()]
    assert len(records) == router.stats.rejected == quarantine.total
    assert all(r["reason"] and r["source"].startswith("footfall/v1/") for r in records)
    assert router.stats.internal_errors == 0, [r["reason"] for r in records]
    assert router.stats.frames >= seq  # every good frame was taken
