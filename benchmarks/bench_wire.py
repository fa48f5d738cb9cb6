"""How many IMU samples per second one aiomqtt subscriber takes, by frame size (chunk).

Messages per second, not bytes, are the cost (docs/wire.md), so the chunk size sets the
processor's capacity, and the chunk's duration is the latency it costs (a sample waits for the
rest of its frame). Baseline: one sample per message (chunk 1), measured in the same run.

    .venv/bin/python benchmarks/bench_wire.py            # writes nothing, prints a table
    .venv/bin/python benchmarks/bench_wire.py --markdown # the table for docs/benchmarks.md

A real Mosquitto is started on a free port; the publisher is plain paho (fast, in a thread) so
that the subscriber is the bottleneck, as it is for a processor fed by many gateways.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import threading
import time
from pathlib import Path

import aiomqtt
import numpy as np
import paho.mqtt.client as paho

from footfall.stack.servers import Server, free_port
from footfall.wire.frame import ImuFrame, decode, encode

RATE_HZ = 1000.0
CHUNKS = (1, 5, 10, 25, 50, 100)


def publish_burst(port: int, topic: str, payloads: list[bytes]) -> None:
    client = paho.Client(paho.CallbackAPIVersion.VERSION2)
    client.max_inflight_messages_set(1000)
    client.connect("127.0.0.1", port)
    client.loop_start()
    infos = [client.publish(topic, p, qos=1) for p in payloads]
    for info in infos:
        info.wait_for_publish(30)
    client.loop_stop()
    client.disconnect()


async def measure(port: int, chunk: int, seconds_of_signal: float) -> float:
    """Samples per second received and decoded by one subscriber."""
    n_frames = max(200, int(seconds_of_signal * RATE_HZ / chunk))
    rng = np.random.default_rng(0)
    topic = f"bench/{chunk}"
    payloads = []
    for seq in range(n_frames):
        counts = rng.integers(-2000, 2000, size=(chunk, 3), dtype=np.int16)
        payloads.append(encode(ImuFrame(seq, 0, time.time_ns(), RATE_HZ, 16, counts)))
    received = 0
    async with aiomqtt.Client("127.0.0.1", port) as client:
        await client.subscribe(topic, qos=1)
        sender = threading.Thread(target=publish_burst, args=(port, topic, payloads))
        start = time.perf_counter()
        sender.start()
        async for message in client.messages:
            frame = decode(message.payload)  # type: ignore[arg-type]
            received += frame.n_samples
            if frame.seq == n_frames - 1:
                break
        elapsed = time.perf_counter() - start
        sender.join()
    return received / elapsed


async def main(markdown: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = Server("mosquitto", Path(tmp), "127.0.0.1", free_port())
        server.start()
        try:
            results = {chunk: await measure(server.port, chunk, 20.0) for chunk in CHUNKS}
        finally:
            server.stop()
    base = results[1]
    header = ("| samples/frame | frame duration at 1 kHz (latency it adds) | samples/s | "
              "× baseline | 1 kHz sensors one subscriber can take |")
    print(header)
    print("|---|---|---|---|---|")
    for chunk, rate in results.items():
        print(f"| {chunk} | {chunk / RATE_HZ * 1000:.0f} ms | {rate:,.0f} | {rate / base:.1f} | "
              f"{rate / RATE_HZ:,.0f} |")
    if not markdown:
        print(f"measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--markdown", action="store_true")
    asyncio.run(main(parser.parse_args().markdown))
