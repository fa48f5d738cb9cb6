"""Sensors per processor: N concurrent 1 kHz tibia sensors through ONE ``footfall process``.

Everything runs as in production, each in its own process, on loopback: a Mosquitto with the
one generated config (footfall.stack.servers ``mosquitto_conf``, a fresh one per run), an
InfluxDB (one for the whole benchmark, a database per run), ``footfall process``, and the load
generator (benchmarks/loadgen.py: pre-encoded QoS 1 PUBLISHes of real frames, a ``meta`` per
device first, 40 frames/s per sensor in real time). This process subscribes to the step events
like any view would.

    .venv/bin/python benchmarks/bench_scale.py                          # N = 100 200 400 700 1000
    .venv/bin/python benchmarks/bench_scale.py --sensors 200 1000 --seconds 20
    .venv/bin/python benchmarks/bench_scale.py --baseline /tmp/base     # + today's service
    .venv/bin/python benchmarks/bench_scale.py --baseline /tmp/base --new python compiled

``--baseline DIR``: the same runs with the ``footfall`` package of another checkout (e.g.
``git worktree add /tmp/base <commit>``), imported through PYTHONPATH: the ratio new/baseline is
measured in the same run. For each code, N goes up until a run is not sustained.

Measured, per run:

- *sustained*: the processor's backlog when the generator sent its last frame is at most one
  second of traffic, and the p95 step latency is at most 1 s. Backlog = messages sent by then
  − messages the processor had handled, both at the processor's last heartbeat before that
  moment (its ``messages`` count and its time, in <state-dir>/processor-health.json, every
  5 s).
- *step latency*: a step event's arrival at this subscriber minus the wall time at which the
  frame that holds its impact peak (the step's ``time_ns``) was handed to the broker's socket
  by the generator. It includes the detector's look-ahead (the peak is confirmed only by later
  samples, ~a few frames), the broker both ways and the processor's queueing. A stream's
  first strikes are held until they show a stride pattern (processing/detector.py ``Hold``):
  ~1.5 s, at any N, and 1–2 steps of each sensor's ~42 in 30 s, so they sit at the p95.
- *after the confirming frame*: the step's arrival minus the wall time at which the frame
  holding the sample that confirmed it (``time_ns`` + the event's ``confirm_delay_ms``, a
  held strike's release included) was sent: the broker both ways, the processor's queueing
  and its work, without the detector's look-ahead and holds. The part that grows with N.
- *CPU*: utime+stime of each process over the sending, in cores (1.0 = one core busy).
- *set aside*: messages the processor quarantined (its heartbeat's ``malformed``): a run with
  any is not sustained. Each run's ``footfall.toml`` sets ``[limits] max_sessions`` to N (two
  sensors a session; the default 200 would refuse the sessions past it at 400+ sensors).
- *RSS*: the processor's resident memory at the end of the sending.
- the 1-minute load average before and after each run (the machine is shared).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiomqtt
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from loadgen import start_tick

from footfall.stack.servers import Server, free_port
from footfall.wire import mqtt
from footfall.wire.mqtt import BrokerConfig

HERE = Path(__file__).resolve().parent
FRAMES_PER_S = 40
FRAME_NS = 1_000_000_000 // FRAMES_PER_S
CLK_TCK = os.sysconf("SC_CLK_TCK")
#: a run is sustained when the processor is at most this far behind at the end …
MAX_BACKLOG_S = 1.0
#: … and its steps reach a view in time (a cue a second late is no longer feedback)
MAX_P95_MS = 1000.0


#: ``footfall`` under cProfile with a CPU-time clock (wall time would count the time the
#: processor waits for a core on a shared machine)
PROFILED = """
import cProfile, sys, time
from footfall.cli import main
out = sys.argv.pop(1)
profiler = cProfile.Profile(time.process_time)
try:
    profiler.runcall(main)
except SystemExit:
    pass
finally:
    profiler.dump_stats(out)
"""


@dataclass
class Result:
    code: str
    sensors: int
    seconds: float
    load_before: float
    stagger: bool = False
    load_after: float = 0.0
    sent_rate: float = 0.0
    handled_rate: float = 0.0
    backlog_msgs: int = 0
    backlog_s: float = 0.0
    sustained: bool = False
    steps: int = 0
    steps_per_sensor: float = 0.0
    latency_ms: dict[str, float] = field(default_factory=dict)
    #: the part after the step's confirming frame was sent (the broker both ways, the
    #: processor's queueing and work): the step latency less the detector's confirm delay
    after_confirm_ms: dict[str, float] = field(default_factory=dict)
    cores: dict[str, float] = field(default_factory=dict)
    loadgen: dict[str, Any] = field(default_factory=dict)
    outbox: list[tuple[int, int]] = field(default_factory=list)
    rejected: int = 0  # messages the processor set aside (none, in a valid run)
    rss_mb: float = 0.0  # the processor's resident memory at the end of the sending


def cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def waited_s(pid: int) -> float:
    """Time the process's threads were runnable but waited for a core (schedstat)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            total += int((task / "schedstat").read_text().split()[1])
    return total / 1e9


def pct(values: np.ndarray, q: float) -> float:
    return float(np.percentile(values, q)) if values.size else float("nan")


async def run_once(code: str, pythonpath: str | None, sensors: int, seconds: float,
                   influx: Server, tmp: Path, profile: Path | None = None,
                   stagger: bool = False) -> Result:
    result = Result(code, sensors, seconds, round(os.getloadavg()[0], 2), stagger)
    run_dir = Path(tempfile.mkdtemp(prefix=f"{code}-{sensors}-", dir=tmp))
    broker = Server("mosquitto", run_dir / "mosquitto", "127.0.0.1", free_port())
    broker.home.mkdir()
    broker.start()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "FOOTFALL_CONFIG")}
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    state = run_dir / "process"
    # two sensors a session: N sensors are N/2 sessions, more than limits.max_sessions' 200
    # beyond 400 (the messages of sessions past it would be set aside, at a cost of their own)
    (run_dir / "footfall.toml").write_text(f"[limits]\nmax_sessions = {max(200, sensors)}\n")
    footfall = (["-c", PROFILED, str(profile / f"{code}-{sensors}.prof")] if profile
                else ["-m", "footfall"])
    processor = subprocess.Popen(
        [sys.executable, *footfall, "process", "-q", "--mqtt-url", broker.url,
         "--influx-url", influx.url, "--influx-database", f"bench_{code}_{sensors}",
         "--state-dir", str(state), "--client-id", f"bench-{code}-{sensors}"],
        env=env, cwd=run_dir, stdout=(run_dir / "process.log").open("w"),
        stderr=subprocess.STDOUT)
    beats: list[tuple[int, int]] = []  # (time_ns, messages) of each heartbeat seen
    #: and the processor's outbox then (events not yet published), messages received but not
    #: yet analysed
    outbox: list[tuple[int, int]] = []
    arrivals: list[tuple[int, int, int]] = []  # (arrival ns, step time_ns, confirm ns)
    health = state / "processor-health.json"

    def beat() -> dict[str, Any] | None:
        with contextlib.suppress(OSError, ValueError):
            status: dict[str, Any] = json.loads(health.read_text())
            if not beats or beats[-1][0] != status["time_ns"]:
                beats.append((int(status["time_ns"]), int(status["messages"])))
                outbox.append((int(status.get("outbox", -1)), int(status.get("received", -1))))
            return status
        return None

    try:
        deadline = time.monotonic() + 60
        while not ((status := beat()) and status.get("connected")):
            if processor.poll() is not None or time.monotonic() > deadline:
                tail = (run_dir / "process.log").read_text()[-2000:]
                raise SystemExit(f"the processor did not connect; its log ends with:\n{tail}")
            await asyncio.sleep(0.1)
        sub = mqtt.client(BrokerConfig("127.0.0.1", broker.port),
                          max_queued_incoming_messages=0)
        async with sub:
            await sub.subscribe("footfall/v1/+/+/+/step", qos=0)

            async def collect() -> None:
                try:
                    async for message in sub.messages:
                        now = time.time_ns()
                        payload = message.payload
                        assert isinstance(payload, bytes)
                        step = json.loads(payload)
                        time_ns = int(step["time_ns"])
                        # the sample that confirmed the step (a held first strike: its
                        # release), from the detector's confirm delay
                        confirm_ns = time_ns + round((step.get("confirm_delay_ms") or 0) * 1e6)
                        arrivals.append((now, time_ns, confirm_ns))
                except aiomqtt.MqttError as exc:  # counted as missing steps, and said
                    print(f"the step subscriber lost the broker: {exc}", file=sys.stderr)

            collector = asyncio.create_task(collect())
            ticks = run_dir / "ticks.npy"
            loadgen = subprocess.Popen(
                [sys.executable, str(HERE / "loadgen.py"), "--port", str(broker.port),
                 "--sensors", str(sensors), "--seconds", str(seconds), "--log", str(ticks),
                 *(["--stagger"] if stagger else [])],
                # the generator is this checkout's, whichever code the processor runs
                env={k: v for k, v in os.environ.items() if k != "FOOTFALL_CONFIG"},
                stdout=subprocess.PIPE, stderr=(run_dir / "loadgen.log").open("w"))
            pids = {"processor": processor.pid, "broker": broker.pid(), "influxdb": influx.pid()}
            cpu0 = {k: cpu_s(p) for k, p in pids.items() if p}
            wait0 = waited_s(processor.pid)
            bench0 = time.process_time()
            wall0 = time.monotonic()
            while loadgen.poll() is None:
                beat()
                await asyncio.sleep(0.5)
            wall = time.monotonic() - wall0
            with contextlib.suppress(OSError, StopIteration):
                status_lines = Path(f"/proc/{processor.pid}/status").read_text().splitlines()
                rss_kb = next(line for line in status_lines if line.startswith("VmRSS:"))
                result.rss_mb = round(int(rss_kb.split()[1]) / 1024, 1)
            cores = {k: (cpu_s(p) - cpu0[k]) / wall for k, p in pids.items() if p}
            cores["processor waiting for a core"] = (waited_s(processor.pid) - wait0) / wall
            cores["bench (subscriber)"] = (time.process_time() - bench0) / wall
            assert loadgen.stdout is not None
            result.loadgen = json.loads(loadgen.stdout.read() or "{}")
            if loadgen.returncode or not result.loadgen:
                raise SystemExit(f"load generator failed; see {run_dir / 'loadgen.log'}")
            cores["loadgen"] = result.loadgen["cpu_s"] / result.loadgen["seconds"]
            result.cores = {k: round(v, 2) for k, v in cores.items()}
            log = np.load(ticks)
            start_ns, sent_ns = int(log[0]), log[1:]
            end_ns = int(sent_ns[-1])
            metas = result.loadgen["metas"]
            before = [b for b in beats if b[0] <= end_ns]
            first = next(b for b in beats if b[0] >= int(sent_ns[0]))
            if before and before[-1][0] > first[0]:
                at, handled = before[-1]
                done = int(np.searchsorted(sent_ns, at, side="right"))  # ticks sent by then
                sent = metas + sum(max(0, done - start_tick(i, stagger))
                                   for i in range(sensors))
                result.backlog_msgs = max(0, sent - handled)
                result.handled_rate = round((handled - first[1]) / ((at - first[0]) / 1e9))
            result.backlog_s = round(result.backlog_msgs / (sensors * FRAMES_PER_S), 2)
            result.sent_rate = result.loadgen["rate"]
            # let the processor drain what it still has (bounded), then stop it
            drain_until = time.monotonic() + 20
            while time.monotonic() < drain_until:
                count = len(arrivals)
                await asyncio.sleep(2.0)
                if len(arrivals) == count:
                    break
            collector.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await collector
        arrived = np.array(arrivals, dtype=np.int64).reshape(-1, 3)
        frame = np.clip((arrived[:, 1] - start_ns) // FRAME_NS, 0,
                        sent_ns.size - 1)
        latency = (arrived[:, 0] - sent_ns[frame]) / 1e6
        confirming = np.clip((arrived[:, 2] - start_ns) // FRAME_NS, 0, sent_ns.size - 1)
        after_confirm = (arrived[:, 0] - sent_ns[confirming]) / 1e6
        # (kept with --keep: each step's arrival and time, ns, for a look at the latency's tail)
        np.save(run_dir / "steps.npy", arrived)
        result.outbox = outbox
        result.steps = int(arrived.shape[0])
        result.steps_per_sensor = round(result.steps / sensors, 1)
        result.latency_ms = {"p50": round(pct(latency, 50), 1), "p95": round(pct(latency, 95), 1),
                             "max": round(float(latency.max()) if latency.size else 0.0, 1)}
        result.after_confirm_ms = {
            "p50": round(pct(after_confirm, 50), 1), "p95": round(pct(after_confirm, 95), 1),
            "max": round(float(after_confirm.max()) if after_confirm.size else 0.0, 1)}
        last = beat() or {}
        result.rejected = int(last.get("malformed", 0))
        result.sustained = (result.backlog_s <= MAX_BACKLOG_S
                            and result.latency_ms["p95"] <= MAX_P95_MS and not result.rejected)
    finally:
        processor.send_signal(signal.SIGINT)
        try:
            processor.wait(60)
        except subprocess.TimeoutExpired:
            processor.kill()
            processor.wait()
        broker.stop()
    result.load_after = round(os.getloadavg()[0], 2)
    return result


#: where the processor's time goes: each part, and the functions (file, name) that enter it
PAHO, AIOMQTT = "paho/mqtt/client.py", "aiomqtt/client.py"
PARTS = (
    ("MQTT in: socket reads, paho's packet parsing, aiomqtt's queue", ((PAHO, "loop_read"),)),
    ("analysis: SessionRouter.handle (decode, gate, detector, metrics, alerts, join)",
     (("footfall/processing/router.py", "handle"),)),
    ("journal: append + flush", (("footfall/service/journal.py", "append"),
                                 ("footfall/service/journal.py", "flush"))),
    ("derived events: InfluxDB lines, the outbox (_emit)",
     (("footfall/service/processor.py", "_emit"),)),
    ("MQTT out: publishing the outbox, writing PUBLISHes and PUBACKs",
     ((AIOMQTT, "publish"), (PAHO, "loop_write"), ("footfall/wire/mqtt.py", "ack_all"))),
    ("InfluxDB writer task", (("footfall/storage/influx.py", "_run"),)),
)


def profile_split(path: Path) -> str:
    """The processor's CPU time by part, from a ``--profile`` run (cumulative times of the
    functions that enter each part, so a part includes what they call)."""
    import pstats

    profile = pstats.Stats(str(path))
    stats = profile.stats  # type: ignore[attr-defined]
    total = profile.total_tt  # type: ignore[attr-defined]
    rows = ["| part | CPU share |", "|---|---:|"]
    counted = 0.0
    for part, entries in PARTS:
        spent = sum(ct for (f, _, name), (_, _, _, ct, _) in stats.items()
                    if any(f.endswith(file) and name == fn for file, fn in entries))
        counted += spent
        rows.append(f"| {part} | {spent / total:.0%} |")
    rows.append(f"| the rest: event loop, per-message bookkeeping, start-up | "
                f"{1 - counted / total:.0%} |")
    return "\n".join(rows)


def after(r: Result) -> str:
    a = r.after_confirm_ms  # (absent from results saved before it was measured)
    return f"{a['p50']:.0f} / {a['p95']:.0f} / {a['max']:.0f}" if a else "–"


def markdown(results: list[Result]) -> str:
    lines = ["| code | sensors | sent msg/s | handled msg/s | backlog at end | sustained | "
             "steps/sensor | step latency p50 / p95 / max (ms) | after the confirming frame "
             "p50 / p95 / max (ms) | CPU processor / broker / "
             "InfluxDB / loadgen (cores) | processor waited for a core | processor CPU per "
             "message | set aside | RSS | load avg before → after |",
             "|---|---:|---:|---:|---:|---|---:|---|---|---|---:|---:|---:|---:|---|"]
    for r in results:
        c = r.cores
        lines.append(
            f"| {r.code}{' (staggered)' if r.stagger else ''} | {r.sensors} | "
            f"{r.sent_rate:,.0f} | {r.handled_rate:,.0f} | "
            f"{r.backlog_s:.1f} s | {'yes' if r.sustained else '**no**'} | "
            f"{r.steps_per_sensor} | {r.latency_ms['p50']:.0f} / {r.latency_ms['p95']:.0f} / "
            f"{r.latency_ms['max']:.0f} | {after(r)} | "
            f"{c.get('processor', 0):.2f} / {c.get('broker', 0):.2f}"
            f" / {c.get('influxdb', 0):.2f} / {c.get('loadgen', 0):.2f} | "
            f"{c.get('processor waiting for a core', float('nan')):.2f} | "
            f"{c.get('processor', 0) * 1e6 / max(r.handled_rate, 1):.0f} µs | "
            f"{r.rejected} | {r.rss_mb:.0f} MB | {r.load_before} → {r.load_after} |")
    best: dict[str, int] = {}
    for r in results:
        if r.sustained:
            best[r.code] = max(best.get(r.code, 0), r.sensors)
    lines.append("")
    for code in dict.fromkeys(r.code for r in results):
        lines.append(f"- largest N sustained, {code}: {best.get(code, 0)}")
    for code in best.keys() - {"baseline"} if "baseline" in best else ():
        lines.append(f"- ratio {code} / baseline: {best[code] / best['baseline']:.1f}×")
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sensors", type=int, nargs="+", default=[100, 200, 400, 700, 1000])
    parser.add_argument("--seconds", type=float, default=30.0, help="sending time per run")
    parser.add_argument("--baseline", type=Path, help="a checkout of the code to compare with")
    parser.add_argument("--only-baseline", action="store_true")
    parser.add_argument("--new", nargs="+", choices=["python", "compiled"], default=["python"],
                        help="this checkout's builds to measure: plain Python (\"new\") and/or "
                        "the compiled build (\"compiled\": scripts/build-compiled, run first)")
    parser.add_argument("--from-jsonl", type=Path,
                        help="only print the table of the results saved by --out")
    parser.add_argument("--keep", action="store_true", help="keep the logs and data")
    parser.add_argument("--stagger", action="store_true",
                        help="the load generator starts the athletes at different ticks of "
                        "the first second (loadgen.py --stagger); without it all at once, "
                        "the worst case for the step latency")
    parser.add_argument("--all", action="store_true",
                        help="run every N even after one was not sustained")
    parser.add_argument("--out", type=Path, help="append each result as a JSON line here")
    parser.add_argument("--profile", type=Path,
                        help="run each processor under cProfile (CPU time), its stats saved in "
                        "this folder as <code>-<sensors>.prof")
    args = parser.parse_args()
    if args.from_jsonl:
        fields = set(Result.__dataclass_fields__)
        print(markdown([Result(**{k: v for k, v in json.loads(line).items() if k in fields})
                        for line in args.from_jsonl.read_text().splitlines() if line]))
        return
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    codes: list[tuple[str, str | None]] = []
    if args.baseline:
        codes.append(("baseline", str(args.baseline.resolve())))
    if not args.only_baseline:
        if "python" in args.new:
            codes.append(("new", None))
        if "compiled" in args.new:
            subprocess.run([str(HERE.parent / "scripts" / "build-compiled")], check=True)
            codes.append(("compiled", str(HERE.parent / "build" / "compiled")))
    results: list[Result] = []
    with contextlib.ExitStack() as cleanup:
        if args.keep:
            tmp_name = tempfile.mkdtemp(prefix="bench-scale-")
            print(f"servers' and processes' files and logs in {tmp_name}", file=sys.stderr)
        else:
            tmp_name = cleanup.enter_context(tempfile.TemporaryDirectory(prefix="bench-scale-"))
        tmp = Path(tmp_name)
        influx = Server("influxdb", tmp / "influxdb", "127.0.0.1", free_port(),
                        rpc_port=free_port())
        influx.home.mkdir()
        influx.start()
        failed: set[str] = set()
        try:
            for sensors in args.sensors:
                for code, path in codes:
                    if code in failed:
                        continue
                    result = await run_once(code, path, sensors, args.seconds, influx, tmp,
                                            args.profile, args.stagger)
                    results.append(result)
                    print(json.dumps(asdict(result)), file=sys.stderr, flush=True)
                    if args.out:
                        with args.out.open("a") as out:
                            out.write(json.dumps({"utc": time.strftime("%FT%TZ", time.gmtime()),
                                                  **asdict(result)}) + "\n")
                    if not result.sustained and not args.all:
                        failed.add(code)
        finally:
            influx.stop()
    print(markdown(results))
    for result in results if args.profile else ():
        print(f"\nprocessor CPU by part, {result.code}, {result.sensors} sensors:\n")
        print(profile_split(args.profile / f"{result.code}-{result.sensors}.prof"))


if __name__ == "__main__":
    asyncio.run(main())
