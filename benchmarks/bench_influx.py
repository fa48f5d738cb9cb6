"""InfluxDB write capacity (Debian influxd 1.6, the local stack's config): where it limits.

    .venv/bin/python benchmarks/bench_influx.py            # ~1 min
    .venv/bin/python benchmarks/bench_influx.py --quick

Lines are the processor's own (``to_line`` of the step and metrics events the offline analysis
of a synthetic 1 kHz tibia run derives), replicated over N sensors with their own tags and
times, posted in the writer's batch size (``MAX_BATCH_LINES``) by the project's
:class:`InfluxClient`, with 1 and 2 concurrent writers (processors). Per sensor a run makes
~1.4 step points and 1 metrics point per second: ``sensors served`` = points/s / that rate.
Also: writing a run's points again leaves the count unchanged (what a takeover relies on).
The load average is printed with every result (the machine is shared).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import tempfile
import time
from pathlib import Path


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sensor_lines(duration_s: float) -> tuple[list[tuple[str, int]], float]:
    """One sensor's step and metrics lines as (line without time, ms offset), points/s."""
    import numpy as np

    from footfall.processing.offline import analyze_accel
    from footfall.simulators.runner import RunnerParams, synthesize
    from footfall.storage.lineprotocol import to_line

    run = synthesize(RunnerParams(sample_rate_hz=1000.0, accel_range_g=32, seed=1), duration_s)
    accel = run.counts.astype(np.float64) * (32 / 32768.0)
    result = analyze_accel(accel, 1000.0, placement="tibia", side="left")
    events = [*result.steps, *result.metrics]
    t0 = min(e.time_ns for e in events)
    out = []
    for event in events:
        line = to_line(event, {"athlete": "ATHLETE", "session": "s1", "device": "DEVICE"})
        if line is not None:
            body, stamp = line.rsplit(" ", 1)
            out.append((body, int(stamp) - t0 // 1_000_000))
    return out, len(out) / duration_s


def batches(template: list[tuple[str, int]], sensors: int, start_ms: int,
            batch_lines: int) -> tuple[list[bytes], int]:
    lines = []
    for i in range(sensors):
        tagged = [(b.replace("ATHLETE", f"a{i:05d}").replace("DEVICE", f"tibia-{i % 2}"), t)
                  for b, t in template]
        lines += [f"{b} {start_ms + t + i % 1000}" for b, t in tagged]
    return (["\n".join(lines[j:j + batch_lines]).encode() for j in range(0, len(lines),
                                                                          batch_lines)],
            len(lines))


async def write_all(url: str, database: str, bodies: list[bytes], writers: int) -> float:
    from footfall.storage.influx import InfluxClient, InfluxTarget

    queue = list(reversed(bodies))

    async def writer() -> None:
        async with InfluxClient(InfluxTarget(url, database), timeout_s=120) as client:
            while queue:
                await client.write(queue.pop())

    t = time.perf_counter()
    await asyncio.gather(*[writer() for _ in range(writers)])
    return time.perf_counter() - t


async def count(url: str, database: str) -> int:
    from footfall.storage.influx import InfluxClient, InfluxTarget

    async with InfluxClient(InfluxTarget(url, database), timeout_s=120) as client:
        series = await client.query('SELECT count("impact_g") FROM "step"')
    return int(sum(row[1] for s in series for row in s.get("values", [])))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()

    from footfall.stack.servers import Server, free_port
    from footfall.storage.influx import MAX_BATCH_LINES, InfluxClient, InfluxTarget

    sensors = 200 if args.quick else 1000
    duration = 30.0 if args.quick else 120.0
    template, per_sensor = sensor_lines(duration)
    root = Path(tempfile.mkdtemp(prefix="bench-influx-"))
    influx = Server("influxdb", root / "influxdb", "127.0.0.1", free_port(), rpc_port=free_port())
    database = "bench"
    try:
        influx.start()
        pid = influx.pid()
        assert pid is not None

        async def create() -> None:
            async with InfluxClient(InfluxTarget(influx.url, database)) as client:
                await client.create_database()

        asyncio.run(create())
        start_ms = int(time.time() * 1000) - 86_400_000
        last: list[bytes] = []
        for writers in (1, 2, 1, 2):
            bodies, n = batches(template, sensors, start_ms, MAX_BATCH_LINES)
            start_ms += int(duration * 1000) + 60_000  # a fresh time range per run
            cpu0 = cpu_s(pid)
            took = asyncio.run(write_all(influx.url, database, bodies, writers))
            cores = (cpu_s(pid) - cpu0) / took
            rate = n / took
            print(json.dumps({"writers": writers, "points": n, "batch_lines": MAX_BATCH_LINES,
                              "points_per_s": round(rate), "influxd_cores": round(cores, 2),
                              "points_per_sensor_s": round(per_sensor, 2),
                              "sensors_served": round(rate / per_sensor), "load": load()}),
                  flush=True)
            last = bodies
        before = asyncio.run(count(influx.url, database))
        asyncio.run(write_all(influx.url, database, last, 2))
        after = asyncio.run(count(influx.url, database))
        print(json.dumps({"rewrite_same_points": {"step_points_before": before,
                                                  "after": after}, "load": load()}), flush=True)
    finally:
        influx.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
