"""The input connection alone: CPU per message of the processor's subscriber, aiomqtt vs the
lean intake (footfall.wire.intake), through a real Mosquitto.

    .venv/bin/python benchmarks/bench_intake.py                      # 400 sensors, 20 s
    .venv/bin/python benchmarks/bench_intake.py --sensors 1000 --seconds 20 --work-us 0 15

For each client in turn, on a fresh Mosquitto (the one generated config): a subscriber process
connects as the processor does (persistent session, QoS 1, manual acknowledgements), takes
every message in batches and acknowledges each batch with one write; then the load generator
(benchmarks/loadgen.py) sends N sensors' frames in real time. The aiomqtt client is the
processor's input before issue 16 (aiomqtt with footfall's read-ahead socket, every queued
message taken at once, one write of PUBACKs a batch).

The subscriber does nothing with a message but burn ``--work-us`` of CPU, standing in for the
analysis: a busy processor takes larger batches, so fewer reads and writes a message. Reported
per client: messages received (a subscriber that cannot keep up stops 20 s after the sending
and says how many it had), its CPU per message without the burnt work, its cores, and the
broker's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_scale import cpu_s  # noqa: E402

from footfall.stack.servers import Server, free_port  # noqa: E402

SUBSCRIBER = r"""
import asyncio, json, os, struct, sys, time
from paho.mqtt.client import PUBACK
from footfall.wire import mqtt
from footfall.wire.intake import Intake
from footfall.wire.mqtt import BrokerConfig

kind, port, expected = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
work_s = float(sys.argv[4]) / 1e6
deadline_s = float(sys.argv[5])  # a subscriber that cannot keep up stops here, and says so

def work(n):  # stands in for the analysis: busy for work_s per message
    end = time.process_time() + n * work_s
    while time.process_time() < end:
        pass
broker = BrokerConfig("127.0.0.1", port)

async def main():
    global n, cpu0
    if kind == "aiomqtt":
        # the processor's input before footfall.wire.intake: aiomqtt with buffered reads,
        # paho's manual acks, every queued message taken at once, one write of PUBACKs a batch
        client = mqtt.client(broker, client_id="bench-intake", clean_session=False,
                             max_inflight_messages=100, manual_ack=True)
        queued = client._queue
        async with client:
            await client.subscribe("footfall/v1/+/+/+/imu", qos=1)
            print("ready", flush=True)
            cpu0 = time.process_time()
            async for message in client.messages:
                batch = [message]
                while len(batch) < 5000 and not queued.empty():
                    batch.append(queued.get_nowait())
                for m in batch:
                    p = m.payload; t = m.topic.value
                n += len(batch)
                work(len(batch))
                client._client._packet_queue(
                    PUBACK, b"".join(struct.pack("!BBH", PUBACK, 2, m.mid) for m in batch), 0, 0)
                if n >= expected:
                    break
    else:
        async with Intake(broker, client_id="bench-intake", read_ahead=2000) as client:
            await client.subscribe("footfall/v1/+/+/+/imu", qos=1)
            print("ready", flush=True)
            cpu0 = time.process_time()
            async for batch in client.batches(5000):
                for m in batch:
                    p = m.payload; t = m.topic
                n += len(batch)
                work(len(batch))
                client.ack_all(batch)
                if n >= expected:
                    break

n = 0
cpu0 = time.process_time()
try:
    asyncio.run(asyncio.wait_for(main(), deadline_s))
except TimeoutError:
    pass
print(json.dumps({"received": n, "cpu_s": time.process_time() - cpu0}), flush=True)
"""


def run(kind: str, sensors: int, seconds: float, work_us: float,
        tmp: Path) -> dict[str, float | str]:
    home = Path(tempfile.mkdtemp(prefix=f"{kind}-", dir=tmp))
    broker = Server("mosquitto", home / "mosquitto", "127.0.0.1", free_port())
    broker.home.mkdir()
    broker.start()
    try:
        frames = int(seconds * 40) * sensors
        sub = subprocess.Popen([sys.executable, "-c", SUBSCRIBER, kind, str(broker.port),
                                str(frames), str(work_us), str(seconds + 20)],
                               stdout=subprocess.PIPE, text=True,
                               stderr=(home / "subscriber.log").open("w"))
        assert sub.stdout is not None
        if sub.stdout.readline().strip() != "ready":
            raise SystemExit(f"the {kind} subscriber did not start")
        load0 = os.getloadavg()[0]
        bcpu0 = cpu_s(broker.pid() or 0)
        wall0 = time.monotonic()
        gen = subprocess.run([sys.executable, str(HERE / "loadgen.py"), "--port",
                              str(broker.port), "--sensors", str(sensors), "--seconds",
                              str(seconds)], capture_output=True, text=True, check=True)
        try:
            out, _ = sub.communicate(timeout=seconds + 60)
        except subprocess.TimeoutExpired:
            sub.kill()
            out, _ = sub.communicate()
        wall = time.monotonic() - wall0
        done = json.loads(out.strip().splitlines()[-1]) if out.strip() else {}
        received, sub_cpu = done.get("received", 0), done.get("cpu_s", float("nan"))
        bcpu = cpu_s(broker.pid() or 0) - bcpu0
        gen_out = json.loads(gen.stdout.strip().splitlines()[-1])
        return {"client": kind, "sensors": sensors, "work_us": work_us, "messages": frames,
                "received": received,
                "cpu_us_per_msg": round(sub_cpu / max(received, 1) * 1e6 - work_us, 2),
                "subscriber_cores": round(sub_cpu / wall, 3),
                "broker_cores": round(bcpu / wall, 3), "loadgen_rate": gen_out["rate"],
                "load": round(load0, 2), "wall_s": round(wall, 1)}
    finally:
        broker.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sensors", type=int, nargs="+", default=[400])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--work-us", type=float, nargs="+", default=[0.0, 15.0],
                        help="CPU burnt per message after it is taken, standing in for the "
                        "analysis (busy processors take larger batches); reported CPU per "
                        "message is without it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-intake-") as tmp:
        for _ in range(args.rounds):
            for sensors in args.sensors:
                for work_us in args.work_us:
                    for kind in ("aiomqtt", "intake"):
                        print(json.dumps(run(kind, sensors, args.seconds, work_us, Path(tmp))),
                              flush=True)


if __name__ == "__main__":
    main()
