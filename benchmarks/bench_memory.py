"""Memory of a long session: what the processor keeps per stream as the session goes on.

    .venv/bin/python benchmarks/bench_memory.py                # an hour (~3 min)
    .venv/bin/python benchmarks/bench_memory.py --minutes 10   # smoke run

Two 500 Hz tibia sensors (synthetic, :mod:`footfall.simulators.runner`) in 25-sample frames
through the one :class:`SessionRouter` — the live processor's and ``footfall analyze``'s
path — with Python's allocations traced (tracemalloc). Printed: the traced memory at each
tenth of the session, and the growth after the first 30 % (the baseline and the kept
history have filled by then) as a ratio of the memory then. A processor that keeps every
strike grows all along; one that keeps a bounded history stays flat (docs/reliability.md).
"""

from __future__ import annotations

import argparse
import gc
import tracemalloc
from dataclasses import replace

from footfall.core.vocab import Placement, Side
from footfall.processing.router import SessionRouter
from footfall.simulators.framing import to_frames
from footfall.simulators.runner import RunnerParams, render, simulate_gait
from footfall.wire.events import DeviceMeta, DeviceStatus
from footfall.wire.frame import encode
from footfall.wire.topics import Stream, Topic

RATE_HZ = 500.0
START_NS = 1_795_540_800_000_000_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=60.0, help="session length")
    args = parser.parse_args()
    duration_s = args.minutes * 60
    params = RunnerParams(sample_rate_hz=RATE_HZ, accel_range_g=16, seed=7)
    gait = simulate_gait(params, duration_s)
    router = SessionRouter(clock=lambda: 0)
    streams = []
    for side in (Side.LEFT, Side.RIGHT):
        device = f"tibia-{side.value}"
        meta = DeviceMeta(profile="sim", placement=Placement.TIBIA, side=side,
                          sample_rate_hz=RATE_HZ, accel_range_g=16)
        router.handle(str(Topic("ann", "s1", device, Stream.META)), meta.to_json())
        router.handle(str(Topic("ann", "s1", device, Stream.STATUS)),
                      DeviceStatus(online=True, reason="streaming").to_json())
        frames, _ = to_frames(render(gait, replace(params, side=side)), start_utc_ns=START_NS,
                              samples_per_frame=25)
        streams.append((str(Topic("ann", "s1", device, Stream.IMU)),
                        [encode(t.frame) for t in frames]))
    del gait
    n = min(len(payloads) for _, payloads in streams)
    tracemalloc.start()
    tenths: list[float] = []
    for i in range(n):
        for topic, payloads in streams:
            router.handle(topic, payloads[i])
        if (i + 1) * 10 // n > len(tenths) - 1 or i == n - 1:
            gc.collect()
            tenths.append(tracemalloc.get_traced_memory()[0] / 1e6)
    tenths = tenths[:11]
    print(f"{args.minutes:g} min, 2 × {RATE_HZ:g} Hz, {n} frames per sensor")
    print("traced MB at each tenth:", " ".join(f"{mb:.2f}" for mb in tenths))
    at30, end = tenths[min(3, len(tenths) - 1)], tenths[-1]
    print(f"after 30 %: {at30:.2f} MB; at the end: {end:.2f} MB; growth × {end / at30:.2f} "
          f"(+{end - at30:.2f} MB)")


if __name__ == "__main__":
    main()
