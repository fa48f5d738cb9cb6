"""Measure the spool: append rate, and replay rate into a real Mosquitto after an outage.

    .venv/bin/python -m tests.ingest.bench_spool [N_FRAMES]

Not a test (not collected); prints messages/s. Needs /usr/sbin/mosquitto.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from footfall.ingest.publisher import SpoolPublisher
from footfall.ingest.spool import Spool
from footfall.stack.servers import find_binary
from footfall.wire.frame import ImuFrame, encode
from footfall.wire.mqtt import BrokerConfig

from .conftest import new_broker


async def main(n: int) -> None:
    if find_binary("mosquitto") is None:
        raise SystemExit("mosquitto not installed")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        broker = new_broker(folder / "m")
        broker.start()
        try:
            spool = Spool(folder / "spool")
            counts = np.zeros((10, 3), dtype=np.int16)  # 10 samples: 50 ms at 200 Hz
            t0 = time.perf_counter()
            for seq in range(n):
                payload = encode(ImuFrame(seq, seq * 50_000, seq * 50_000_000, 200.0, 16, counts))
                spool.append(_record(payload))
            append_s = time.perf_counter() - t0
            pub = SpoolPublisher(BrokerConfig(broker.host, broker.port), spool, "bench",
                                 "footfall/v1/b/s/d/status", b"{}")
            t0 = time.perf_counter()
            task = asyncio.create_task(pub.run())
            await pub.drained(600)
            drain_s = time.perf_counter() - t0
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            print(f"{n} IMU frames ({len(payload)} B each): spool append {n / append_s:,.0f}/s, "
                  f"replay to mosquitto (QoS 1, one in flight) {n / drain_s:,.0f} msg/s "
                  f"= {n * 10 / drain_s / 200:,.0f}x a 200 Hz sensor in 10-sample frames")
        finally:
            broker.stop()


def _record(payload: bytes):  # type: ignore[no-untyped-def]
    from footfall.ingest.spool import Record

    return Record("footfall/v1/b/s/d/imu", payload)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000))
