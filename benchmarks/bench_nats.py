"""The NATS scale-out: what one ``footfall process --engine nats`` takes, and 1 vs 2 processes.

    .venv/bin/python benchmarks/bench_nats.py             # ~3 min
    .venv/bin/python benchmarks/bench_nats.py --quick     # smoke run

One nats-server (Debian 2.9.10, the code of ``footfall stack up --engine nats``) and one
influxd on free loopback ports. The stream is filled first with synthetic 1 kHz tibia sensors
(25-sample frames = 40 messages/s per sensor, the issue's unit; meta first, two sensors per
session); processors drain it: a backlog measures capacity. Each processor is a separate
process running the real service (:class:`ProcessorService` + :class:`NatsIntake`, the
InfluxDB writer included) and reports its message count and CPU time every 0.5 s. The
processors claim their shares on an empty stream, are paused while it is filled, and the rate
is the drain of the backlog once they resume (the filling does not compete for the cores).

- *intake only*: the same intake with analysis replaced by a no-op: the NATS-fed cost per
  message (nats-py push delivery, metadata, the commit bookkeeping);
- *1 process*, *2 processes*: the full service; the ratio 2 vs 1 is the scaling on this
  machine's 2 cores, shared with nats-server and influxd (and anything else running: the load
  average is printed with every result).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

RATE_HZ = 1000.0
CHUNK = 25  # samples per frame: 40 messages/s per sensor


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def messages(sensors: int, duration_s: float) -> list[tuple[str, bytes]]:
    """Every sensor's meta, then the frames of all sensors interleaved in time order."""
    import numpy as np

    from footfall.simulators.runner import RunnerParams, synthesize
    from footfall.wire.events import DeviceMeta
    from footfall.wire.frame import ImuFrame, encode

    runs = [synthesize(RunnerParams(sample_rate_hz=RATE_HZ, accel_range_g=32, seed=s,
                                    cadence_spm=160.0 + 4 * s), duration_s) for s in range(4)]
    out: list[tuple[str, bytes]] = []
    topics = []
    for i in range(sensors):
        run = runs[i % len(runs)]
        base = f"footfall/v1/bench{i // 2:04d}/s1/tibia-{'lr'[i % 2]}"
        topics.append(base)
        meta = DeviceMeta(profile="sim", placement=run.placement, side=run.side,
                          sample_rate_hz=run.sample_rate_hz, accel_range_g=run.accel_range_g,
                          model="bench")
        out.append((f"{base}/meta", meta.to_json()))
    start_ns = time.time_ns()
    n = runs[0].counts.shape[0] // CHUNK
    for k in range(n):
        for i, base in enumerate(topics):
            counts = runs[i % len(runs)].counts[k * CHUNK:(k + 1) * CHUNK]
            frame = ImuFrame(seq=k, sensor_time_us=k * CHUNK * 1000,
                             utc_ns=start_ns + k * CHUNK * 1_000_000, sample_rate_hz=RATE_HZ,
                             accel_range_g=32, counts=np.ascontiguousarray(counts))
            out.append((f"{base}/imu", encode(frame)))
    return out


async def fill(url: str, msgs: list[tuple[str, bytes]]) -> float:
    """The backlog, published with JetStream acks, 2,000 at a time; seconds it took."""
    import nats

    from footfall.stack.nats import ensure_jetstream

    nc = await nats.connect(url)
    js = nc.jetstream(timeout=30)
    await ensure_jetstream(js, replicas=1)
    t = time.perf_counter()
    window = 2000
    for i in range(0, len(msgs), window):
        await asyncio.gather(*[js.publish(topic.replace("/", "."), payload)
                               for topic, payload in msgs[i:i + window]])
    took = time.perf_counter() - t
    await nc.close()
    return took


async def reset(url: str) -> None:
    """An empty stream, fresh claims and positions."""
    import nats

    from footfall.stack.nats import LEASES, MEMBERS, POSITIONS, STREAM, ensure_jetstream

    nc = await nats.connect(url)
    js = nc.jetstream(timeout=30)
    with contextlib.suppress(Exception):
        await js.purge_stream(STREAM)
    for bucket in (LEASES, POSITIONS, MEMBERS):
        with contextlib.suppress(Exception):
            await js.delete_key_value(bucket)
    await ensure_jetstream(js, replicas=1)
    await nc.close()


def child(args: argparse.Namespace) -> None:
    """One processor process; prints {"n", "cpu", "owned"} every 0.5 s."""
    from footfall.config.settings import load_settings
    from footfall.service.nats_source import NatsIntake
    from footfall.service.processor import ProcessorService
    from footfall.storage.influx import InfluxClient, InfluxTarget, SpooledWriter

    settings = load_settings(None, state_dir=Path(args.state), nats_url=args.nats,
                             influx_url=args.influx, influx_database=args.db)

    async def main() -> None:
        stop = asyncio.Event()
        async with InfluxClient(InfluxTarget(args.influx, args.db)) as influx, \
                SpooledWriter(influx, settings.spool_dir) as writer:
            service = ProcessorService(settings, writer=writer)
            if args.intake_only:
                service.handle = lambda *a, **k: True  # type: ignore[method-assign]
            intake = NatsIntake(service, member_id=args.id)

            async def report() -> None:
                while True:
                    await asyncio.sleep(0.5)
                    print(json.dumps({"n": intake.stats.messages, "cpu": time.process_time(),
                                      "owned": len(intake.owned), "t": time.monotonic()}),
                          flush=True)

            reporter = asyncio.create_task(report())
            runner = asyncio.create_task(intake.run(stop))
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
            stop.set()
            await runner
            reporter.cancel()

    asyncio.run(main())


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_case(name: str, processes: int, nats_url: str, influx_url: str, root: Path,
             msgs: list[tuple[str, bytes]], servers: dict[str, int],
             intake_only: bool = False) -> dict[str, object]:
    """Start the processors on an empty stream, wait until each holds its share, pause them
    (SIGSTOP; long leases so that nothing lapses), fill the backlog, resume them and time the
    drain: the filling never competes with them for the cores."""
    import math
    import signal

    asyncio.run(reset(nats_url))
    db = f"bench_{name.replace(' ', '_')}_{int(time.time())}"
    env = os.environ | {"FOOTFALL_NATS_LEASE_S": "120"}
    procs = []
    for i in range(processes):
        state = root / f"{name}-{i}"
        argv = [sys.executable, __file__, "--child", "--id", f"p{i}", "--state", str(state),
                "--nats", nats_url, "--influx", influx_url, "--db", db]
        if intake_only:
            argv.append("--intake-only")
        procs.append(subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=(root / f"{name}-{i}.err").open("w"), text=True,
                                      env=env))
    target = math.ceil(31 / processes)
    last: list[dict[str, float]] = [{} for _ in procs]

    def read() -> None:
        for i, p in enumerate(procs):
            line = p.stdout.readline() if p.stdout else ""
            if line:
                last[i] = json.loads(line)

    deadline = time.monotonic() + 90
    while True:
        read()
        owned = [int(x.get("owned", 0)) for x in last]
        if sum(owned) == 31 and max(owned) <= target:
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"{name}: the partitions were never balanced: {last}")
    for p in procs:
        os.kill(p.pid, signal.SIGSTOP)
    try:
        asyncio.run(fill(nats_url, msgs))
    finally:
        for p in procs:
            os.kill(p.pid, signal.SIGCONT)
    server_cpu = {name: cpu_s(pid) for name, pid in servers.items()}
    read()  # reports written before the pause
    begin = [dict(x) for x in last]
    moved = [dict(x) for x in last]
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:  # until the backlog is drained
        read()
        for i, x in enumerate(last):
            if x["n"] != moved[i]["n"]:
                moved[i] = dict(x)
        if sum(x["n"] - b["n"] for x, b in zip(last, begin, strict=True)) >= len(msgs):
            break
    server_cpu = {name: cpu_s(pid) - server_cpu[name] for name, pid in servers.items()}
    for p in procs:
        if p.stdin:
            p.stdin.write("\n")
            p.stdin.flush()
    for p in procs:
        p.wait(60)
    done = sum(m["n"] - b["n"] for m, b in zip(moved, begin, strict=True))
    span = max(m["t"] for m in moved) - min(b["t"] for b in begin)
    cpu = sum(m["cpu"] - b["cpu"] for m, b in zip(moved, begin, strict=True))
    result = {"case": name, "processes": processes, "messages": int(done),
              "drain_s": round(span, 1), "msg_per_s": round(done / span),
              "sensors_at_40_msg_s": round(done / span / 40),
              "cpu_us_per_msg": round(cpu / max(done, 1) * 1e6, 1),
              "processor_cores": round(cpu / span, 2),
              **{f"{name}_cores": round(c / span, 2) for name, c in server_cpu.items()},
              "load": load()}
    print(json.dumps(result), flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--sensors", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--intake-only", action="store_true", help=argparse.SUPPRESS)
    for flag in ("--id", "--state", "--nats", "--influx", "--db"):
        parser.add_argument(flag, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    from footfall.stack.nats import NatsCluster
    from footfall.stack.servers import Server, free_port

    duration = 20.0 if args.quick else 60.0
    root = Path(tempfile.mkdtemp(prefix="footfall-nats-bench-"))
    cluster = NatsCluster.at(root / "stack", nodes=1, free_ports=True)
    influx = Server("influxdb", root / "influxdb", "127.0.0.1", free_port(), rpc_port=free_port())
    try:
        influx.start()
        cluster.up()
        msgs = messages(args.sensors, duration)
        print(json.dumps({"backlog": len(msgs), "sensors": args.sensors, "load": load()}),
              flush=True)
        node, db = cluster.nodes[0].pid(), influx.pid()
        assert node is not None and db is not None
        servers = {"nats_server": node, "influxd": db}
        results = [run_case("intake only", 1, cluster.url, influx.url, root, msgs, servers,
                            intake_only=True),
                   run_case("1 process", 1, cluster.url, influx.url, root, msgs, servers),
                   run_case("2 processes", 2, cluster.url, influx.url, root, msgs, servers)]
        one, two = results[1]["msg_per_s"], results[2]["msg_per_s"]
        assert isinstance(one, int) and isinstance(two, int)
        print(json.dumps({"ratio_2_vs_1": round(two / one, 2), "load": load()}), flush=True)
    finally:
        cluster.down()
        influx.stop()
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
