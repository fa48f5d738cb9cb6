"""Step → cue latency of footfall coach, end to end on the emulated BLE path, in Chromium.

From the impact peak's sensor time as the gateway maps it to UTC (the step's ``time_ns``) to
the moment the runner page schedules the impact cue (Web Audio), with its breakdown:

    look-ahead   the detector confirms the peak this long after it (the step's confirm_delay_ms)
    frame fill   the confirming sample waits for the rest of its BLE notification (= IMU frame)
    gateway      the notification's last sample → the frame at an MQTT subscriber (gateway,
                 clock mapping, spool, broker)
    processor    the frame at a subscriber → the step at a subscriber (footfall process: decode,
                 detector, events; broker both ways)
    server       the step at a subscriber → the coach server writes it to the page (SSE)
    browser      the event stream → the page scheduled the cue (transport, JSON, decision)

The sum is the total by construction (each part is a difference of the same clocks: one
machine). The BLE link itself (20 ms in the emulator) is before the mapped UTC: a gateway cannot
see it, so it is not in the total. Baseline, measured in the same run: the step at a plain MQTT
subscriber (what any view, the terminal monitor included, gets at best).

Everything runs as a user would run it, each in its own process: a private Mosquitto and
InfluxDB, ``footfall process``, ``footfall coach``, ``footfall simulate --device footfall``
(two emulated open-frame tibia IMUs at 1 kHz through the real gateway), and headless Chromium
on /runner with every step over the impact target (10 % of baseline), so each step is cued.

    .venv/bin/python benchmarks/bench_coach_latency.py                 # 60 s, prints the table
    .venv/bin/python benchmarks/bench_coach_latency.py --duration 120 --markdown
    .venv/bin/python benchmarks/bench_coach_latency.py --chunk-ms 10   # smaller notifications
    .venv/bin/python benchmarks/bench_coach_latency.py --lookahead-study

``--lookahead-study`` measures what a shorter detector look-ahead (the largest part) would cost
in accuracy, through ``AnalysisConfig.detector.lookahead_ms`` (the placement constants in
processing/tuning.py stay as they are): on the real sacral recordings with force-plate truth
(tests/data/sacral-grf-alcantarar), and on synthetic 1 kHz tibia runs (strikes against the
runner's truth, PTA against the published 375-ms method).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiomqtt

from footfall.processing.tuning import PLACEMENT_TUNING
from footfall.stack.servers import Server, find_binary, free_port
from footfall.wire import frame as wire_frame
from footfall.wire.events import StepEvent

ATHLETE, SESSION = "bench", "latency"
TARGET_MEDIAN_MS, TARGET_P95_MS = 100.0, 150.0
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic", "--autoplay-policy=no-user-gesture-required"]
PARTS = ("look-ahead", "frame fill", "gateway", "processor", "server", "browser")


@dataclass
class Frame:
    first_ns: int
    last_ns: int
    recv_ns: int


def footfall(*args: str, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "footfall", *args],
                            stdout=log.open("w"), stderr=subprocess.STDOUT)


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def post_json(url: str, body: object) -> Any:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


async def wait_for(check: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        with contextlib.suppress(OSError, ValueError):
            if check():
                return
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


async def run(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    chromium = os.environ.get("FOOTFALL_CHROMIUM") or find_binary("chromium")
    if chromium is None:
        raise SystemExit("chromium is not installed: run scripts/setup")
    broker = Server("mosquitto", tmp / "mosquitto", "127.0.0.1", free_port())
    influx = Server("influxdb", tmp / "influxdb", "127.0.0.1", free_port(), rpc_port=free_port())
    for server in (broker, influx):
        server.home.mkdir()
        server.start()
    common = ["--mqtt-url", broker.url, "--influx-url", influx.url, "--athlete", ATHLETE,
              "--session", SESSION]
    port = free_port()
    coach_url = f"http://127.0.0.1:{port}"
    if args.lookahead_ms is None:
        processor = footfall("process", "--warmup-s", "1", "--baseline-s", "3", *common,
                             "--state-dir", str(tmp / "process"), log=tmp / "process.log")
    else:  # the same service, with the detector's look-ahead set (what a shorter one buys)
        processor = subprocess.Popen(
            [sys.executable, __file__, "--serve-processor", str(args.lookahead_ms), broker.url,
             influx.url, str(tmp / "process")], stdout=(tmp / "process.log").open("w"),
            stderr=subprocess.STDOUT)
    procs = [processor,
             footfall("coach", "--port", str(port), *common, "--state-dir", str(tmp / "coach"),
                      log=tmp / "coach.log")]
    frames: dict[str, list[Frame]] = {}
    steps: dict[str, tuple[StepEvent, int]] = {}
    try:
        await wait_for(lambda: get_json(f"{coach_url}/api/health")["connected"], 30, "coach")
        async with aiomqtt.Client("127.0.0.1", broker.port) as sub, async_playwright() as pw:
            await sub.subscribe(f"footfall/v1/{ATHLETE}/{SESSION}/+/imu", qos=1)
            await sub.subscribe(f"footfall/v1/{ATHLETE}/{SESSION}/+/step", qos=1)

            async def listen() -> None:
                async for message in sub.messages:
                    at = time.time_ns()
                    device, stream = str(message.topic).split("/")[4:6]
                    payload = bytes(message.payload)  # type: ignore[arg-type]
                    if stream == "imu":
                        f = wire_frame.decode(payload)
                        last = f.utc_ns + round((f.n_samples - 1) * 1e9 / f.sample_rate_hz)
                        frames.setdefault(device, []).append(Frame(f.utc_ns, last, at))
                    else:
                        step = StepEvent.from_json(payload)
                        steps[f"{device}:{step.time_ns}"] = (step, at)

            listener = asyncio.create_task(listen())
            browser = await pw.chromium.launch(executable_path=chromium, headless=True,
                                               args=CHROMIUM_ARGS)
            page = await browser.new_page(viewport={"width": 1280, "height": 720})
            await page.goto(f"{coach_url}/runner?athlete={ATHLETE}")
            await page.wait_for_function("footfall.ctx && footfall.ctx.state === 'running'")
            sim = footfall("simulate", "--device", "footfall", "--rate", "1000", "--duration",
                           str(args.duration), "--chunk-ms", str(args.chunk_ms), *common,
                           "--state-dir", str(tmp / "simulate"), log=tmp / "simulate.log")
            procs.append(sim)
            await page.wait_for_function("Object.values(footfall.session.metrics).filter("
                                         "m => m.impact_baseline_g).length === 2",
                                         timeout=30_000)
            session = {"athlete": ATHLETE, "session": SESSION}
            for command in ({"action": "set_impact_target", "impact_pct": 10.0},
                            {"action": "set_feedback", "channel": "impact",
                             "mode": "continuous"}):
                post_json(f"{coach_url}/api/control", {**session, "command": command})
            while sim.poll() is None:
                await asyncio.sleep(0.5)
            await asyncio.sleep(2.0)
            data = await page.evaluate("() => ({cues: footfall.cues.filter(c => c.kind === "
                                       "'impact'), steps: footfall.steps, stale: footfall.stale,"
                                       " outputLatency: footfall.ctx.outputLatency})")
            await browser.close()
            listener.cancel()
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(10)
        for server in (broker, influx):
            server.stop()
    return analyse(data, frames, steps)


def analyse(data: dict[str, Any], frames: dict[str, list[Frame]],
            steps: dict[str, tuple[StepEvent, int]]) -> dict[str, Any]:
    page_steps = {s["id"]: s for s in data["steps"]}
    rows: list[dict[str, float]] = []
    for cue in data["cues"]:
        sid = cue["step"]["id"]
        step, sub_ns = steps[sid]
        device = sid.split(":")[0]
        confirm_ns = step.time_ns + round((step.confirm_delay_ms or 0.0) * 1e6)
        frame = next(f for f in frames[device] if f.first_ns - 500_000 <= confirm_ns
                     <= f.last_ns + 500_000)
        sent_ms = page_steps[sid]["sendNs"] / 1e6
        peak_ms = step.time_ns / 1e6
        rows.append({
            "total": cue["scheduledAtMs"] - peak_ms,
            "look-ahead": (confirm_ns - step.time_ns) / 1e6,
            "frame fill": (frame.last_ns - confirm_ns) / 1e6,
            "gateway": (frame.recv_ns - frame.last_ns) / 1e6,
            "processor": (sub_ns - frame.recv_ns) / 1e6,
            "server": sent_ms - sub_ns / 1e6,
            "browser": cue["scheduledAtMs"] - sent_ms,
            "baseline": (sub_ns - step.time_ns) / 1e6,
            "audible": cue["audibleMs"] - peak_ms,
        })
    return {"rows": rows, "stale": data["stale"], "steps": len(steps),
            "output_latency_ms": 1000 * (data["outputLatency"] or 0.0)}


def report(result: dict[str, Any], args: argparse.Namespace) -> bool:
    rows = result["rows"]
    if not rows:
        raise SystemExit("no cue was scheduled: see the logs")
    tibia_ms = PLACEMENT_TUNING["tibia"].lookahead_ms
    ahead = f"the tibia's {tibia_ms:g} ms" if args.lookahead_ms is None \
        else f"{args.lookahead_ms:g} ms"
    lines = [f"{len(rows)} cues for {result['steps']} steps ({len(result['stale'])} steps too "
             f"old to cue); chunk {args.chunk_ms:g} ms at 1 kHz; look-ahead {ahead}; run "
             f"{args.duration:g} s; load average {os.getloadavg()[0]:.1f}", "",
             "| part | median ms | p95 ms | max ms |", "|---|---:|---:|---:|"]
    for name in (*PARTS, "total", "baseline", "audible"):
        xs = [r[name] for r in rows]
        label = {"total": "**total: peak → cue scheduled**",
                 "baseline": "baseline: peak → step at an MQTT subscriber",
                 "audible": "peak → cue's first sample at the output"}.get(name, name)
        lines.append(f"| {label} | {statistics.median(xs):.1f} | {pct(xs, 0.95):.1f} | "
                     f"{max(xs):.1f} |")
    total = [r["total"] for r in rows]
    base = [r["baseline"] for r in rows]
    median, p95 = statistics.median(total), pct(total, 0.95)
    ok = median <= TARGET_MEDIAN_MS and p95 <= TARGET_P95_MS
    lines += ["", f"coach / baseline (median): {median / statistics.median(base):.2f}×; "
              f"output latency {result['output_latency_ms']:.0f} ms; target median ≤ "
              f"{TARGET_MEDIAN_MS:.0f} ms, p95 ≤ {TARGET_P95_MS:.0f} ms: "
              f"{'met' if ok else 'NOT met'}"]
    print("\n".join(lines))
    return ok


def lookahead_study(values: list[float]) -> None:
    import numpy as np

    from footfall.config.analysis import AnalysisConfig, DetectorConfig
    from footfall.processing.offline import analyze_accel
    from footfall.processing.reference import match_contacts
    from footfall.processing.validation import pta_agreement, quantised_resultant, step_indices
    from footfall.recordings.alcantara import SAMPLE_RATE_HZ, grf_contacts, load_trials
    from footfall.simulators.runner import RunnerParams, synthesize

    root = Path(__file__).resolve().parents[1]
    trials = load_trials(root / "tests" / "data" / "sacral-grf-alcantarar")
    runs = [synthesize(RunnerParams(placement="tibia", side=side, sample_rate_hz=1000.0,
                                    accel_range_g=32, speed_mps=speed, seed=seed), 120.0)
            for seed, speed, side in ((1, 2.7, "left"), (2, 3.0, "right"), (3, 3.3, "left"),
                                      (4, 3.7, "right"), (5, 4.2, "left"))]
    ankle, hip = (np.loadtxt(root.parent / "shared" / "data" / "ankle-hip-adeptdata" /
                             f"acc_running_left_{name}.csv.gz", delimiter=",", skiprows=1)
                  for name in ("ankle", "hip"))
    reference: dict[int, float] = {}
    print("| look-ahead ms | sacral (real): hits / false / missed of contacts | sacral median "
          "confirm ms | ankle (real, 100 Hz): strides; hip steps / 2 | ankle PTA as at 75 ms |"
          " tibia (synthetic): hits / false / missed of strikes | tibia PTA = 375-ms method |"
          " tibia median confirm ms |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for value in values:
        config = AnalysisConfig(detector=DetectorConfig(lookahead_ms=value))
        tp = fp = fn = 0
        sacral_delays: list[float] = []
        for trial in trials:
            result = analyze_accel(trial.accel_g, SAMPLE_RATE_HZ, placement="sacrum",
                                   config=config)
            score = match_contacts(step_indices(result, SAMPLE_RATE_HZ),
                                   grf_contacts(trial.grf_bw))
            tp, fp, fn = tp + score.true_pos, fp + score.false_pos, fn + score.false_neg
            sacral_delays += [s.confirm_delay_ms or 0.0 for s in result.steps]
        hits = false = missed = equal = compared = 0
        tibia_delays: list[float] = []
        for run in runs:
            result = analyze_accel(run.accel_g, 1000.0, accel_range_g=32, placement="tibia",
                                   side=run.side, config=config)
            truth = run.truth.own().time_s
            used = np.zeros(truth.size, dtype=bool)
            for step in result.steps:
                k = int(np.argmin(np.abs(truth - step.sensor_time_s)))
                if abs(truth[k] - step.sensor_time_s) <= 0.020 and not used[k]:
                    used[k] = True
                    hits += 1
                else:
                    false += 1
            missed += int((~used).sum())
            eq, comp = pta_agreement(result, quantised_resultant(run.accel_g, 32), 1000.0)
            equal, compared = equal + eq, compared + comp
            tibia_delays += [s.confirm_delay_ms or 0.0 for s in result.steps]
        strides = analyze_accel(ankle[:, 1:], 100.0, accel_range_g=8, placement="foot",
                                time_s=ankle[:, 0], config=config).steps
        hip_steps = len(analyze_accel(hip[:, 1:], 100.0, accel_range_g=8, placement="sacrum",
                                      time_s=hip[:, 0], config=config).steps)
        impacts = {round(st.sensor_time_s * 100): st.impact_g for st in strides}
        reference = reference or impacts
        same = sum(reference.get(k) == g for k, g in impacts.items())
        print(f"| {value:g} | {tp} / {fp} / {fn} of {tp + fn} | "
              f"{statistics.median(sacral_delays):.0f} | {len(strides)}; {hip_steps / 2:g} | "
              f"{100 * same / max(len(reference), 1):.1f} % | {hits} / {false} / {missed} of "
              f"{hits + missed} | {100 * equal / max(compared, 1):.1f} % of {compared} | "
              f"{statistics.median(tibia_delays):.0f} |")


def serve_processor(lookahead_ms: float, mqtt_url: str, influx_url: str, state: str) -> None:
    """``footfall process`` with ``DetectorConfig(lookahead_ms=...)`` (it has no flag for it)."""
    import signal

    from footfall.config.analysis import AnalysisConfig, DetectorConfig
    from footfall.config.settings import load_settings
    from footfall.service.processor import ProcessorService
    from footfall.storage.influx import InfluxClient, SpooledWriter, influx_target

    settings = load_settings(mqtt_url=mqtt_url, influx_url=influx_url, state_dir=Path(state))
    analysis = AnalysisConfig(warmup_s=1.0, baseline_s=3.0,
                              detector=DetectorConfig(lookahead_ms=lookahead_ms))

    async def serve() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        async with InfluxClient(influx_target(settings)) as influx, \
                SpooledWriter(influx, settings.spool_dir) as writer:
            await ProcessorService(settings, writer=writer, analysis=analysis).run(stop)

    asyncio.run(serve())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of running")
    parser.add_argument("--chunk-ms", type=float, default=25.0,
                        help="signal per BLE notification (default 25, the gateway's default)")
    parser.add_argument("--markdown", action="store_true", help="(the table is markdown)")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows here")
    parser.add_argument("--lookahead-study", nargs="*", type=float, metavar="MS", default=None,
                        help="instead: accuracy by detector look-ahead (default 75 60 50 40 30)")
    parser.add_argument("--lookahead-ms", type=float, default=None,
                        help="run the processor with this detector look-ahead (default: the "
                             "placement's, 75 ms for a tibia)")
    parser.add_argument("--serve-processor", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_processor:
        value, mqtt_url, influx_url, state = args.serve_processor
        serve_processor(float(value), mqtt_url, influx_url, state)
        return
    if args.lookahead_study is not None:
        lookahead_study(args.lookahead_study or [75.0, 60.0, 50.0, 40.0, 30.0])
        return
    with tempfile.TemporaryDirectory() as tmp:
        result = asyncio.run(run(args, Path(tmp)))
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=1))
    report(result, args)


if __name__ == "__main__":
    main()
