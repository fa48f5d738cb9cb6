"""Measure gateway latency: last sample's mapped UTC → a subscriber holding the MQTT message.

    .venv/bin/python -m tests.ingest.bench_latency [SECONDS]

Runs ``footfall ingest --emulate`` (open-frame IMU + Polar, 200 Hz, 10-sample notifications,
real time) against a private Mosquitto. The radio is not included (no hardware); everything
after it is: callback, queue, parser, clock mapping, spool, QoS 1 publish, broker.
Not a test (not collected).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiomqtt

from footfall.stack.servers import find_binary
from footfall.wire import frame as wire

from .conftest import new_broker


async def main(seconds: float) -> None:
    if find_binary("mosquitto") is None:
        raise SystemExit("mosquitto not installed")
    with tempfile.TemporaryDirectory() as tmp:
        broker = new_broker(Path(tmp) / "m")
        broker.start()
        latencies: list[tuple[str, float]] = []
        try:
            async with aiomqtt.Client(broker.host, broker.port) as client:
                await client.subscribe("footfall/v1/lat/+/+/imu", qos=1)
                proc = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "footfall", "ingest", "--emulate", "--duration",
                    str(seconds), "--mqtt-url", broker.url, "--state-dir", f"{tmp}/state",
                    "--athlete", "lat", "--session", "s1",
                    "--device", "EE:00:00:00:00:01:footfall:tibia:left",
                    "--device", "EE:00:00:00:00:02:polar-pmd:chest:none",
                    stdout=asyncio.subprocess.DEVNULL)

                async def read() -> None:
                    async for msg in client.messages:
                        if not isinstance(msg.payload, bytes | bytearray):
                            continue
                        f = wire.decode(bytes(msg.payload))
                        last_ns = f.utc_ns + round((f.n_samples - 1) * 1e9 / f.sample_rate_hz)
                        latencies.append((str(msg.topic).split("/")[4],
                                          (time.time_ns() - last_ns) / 1e6))

                reader = asyncio.create_task(read())
                await proc.wait()
                await asyncio.sleep(0.5)
                reader.cancel()
        finally:
            broker.stop()
    for device in sorted({d for d, _ in latencies}):
        xs = sorted(x for d, x in latencies if d == device)[20:]  # clock-fit warm-up
        print(f"{device}: {len(xs)} frames, latency median {statistics.median(xs):.1f} ms, "
              f"p95 {xs[int(0.95 * len(xs))]:.1f} ms, max {xs[-1]:.1f} ms")


if __name__ == "__main__":
    asyncio.run(main(float(sys.argv[1]) if len(sys.argv) > 1 else 20.0))
