"""Real servers and real processes for the fault-injection cases.

Each case gets its own Mosquitto and InfluxDB (:class:`~footfall.stack.servers.Server`, the
code and config of ``footfall stack up``), so it can kill them. The processor is the real
``footfall process`` and the gateways the real ``footfall simulate --device footfall`` (byte-
exact emulated IMUs → the ingest gateway with its disk spool → the broker), each a subprocess
that can be ``kill -9``-ed, paused (SIGSTOP) and restarted.

Steps in = what the gateway published: ``--record`` keeps every message it handed to its spool,
and the offline analysis of that file (the same router as the live processor) says which steps
the processor should have stored. :func:`compare` matches them with InfluxDB's by sensor time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiomqtt

from footfall.processing.offline import analyze_messages
from footfall.recordings.session_file import iter_messages
from footfall.service import health
from footfall.stack.servers import Server, free_port
from footfall.storage.influx import InfluxClient, InfluxTarget, rows
from tests.faults.cases import CaseResult, StepCount, record

#: the two emulated sensors every case streams (ids as `simulate --device` names them)
DEVICES = ("tibia-left", "tibia-right")
SIDES = {"tibia-left": "left", "tibia-right": "right"}
RATE_HZ = 500
CHUNK_MS = 50
#: a stored step matches an expected one within this (a strike is one per ~0.7 s per leg)
MATCH_TOLERANCE_S = 0.005


def footfall_env() -> dict[str, str]:
    """The environment without this shell's FOOTFALL_* settings (they would leak in); wide
    log lines (rich wraps at 80 columns when it writes to a file)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOOTFALL_")}
    return env | {"COLUMNS": "240"}


class Proc:
    """One footfall command as a subprocess, its output in a log file."""

    def __init__(self, name: str, argv: list[str], home: Path,
                 env: dict[str, str] | None = None) -> None:
        self.name, self.argv, self.home = name, argv, home
        self.env = env or footfall_env()
        self.log = home / f"{name}.log"
        self.popen: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.starts += 1
        with self.log.open("ab") as out:
            out.write(f"\n===== start {self.starts}: {' '.join(self.argv)}\n".encode())
            out.flush()
            self.popen = subprocess.Popen([sys.executable, "-m", "footfall", *self.argv],
                                          stdout=out, stderr=subprocess.STDOUT, env=self.env,
                                          cwd=self.home, stdin=subprocess.DEVNULL)

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    @property
    def returncode(self) -> int | None:
        return None if self.popen is None else self.popen.poll()

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def signal(self, sig: signal.Signals) -> None:
        if self.alive():
            os.kill(self.pid, sig)

    def kill(self) -> None:
        if self.popen is not None and self.alive():
            self.popen.kill()
            self.popen.wait()

    async def wait(self, timeout_s: float) -> int | None:
        """The exit code, or None if still running after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while self.alive() and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        return self.returncode

    async def terminate(self, timeout_s: float = 30.0) -> bool:
        """SIGTERM (a SIGCONT first, in case it is paused); True if it exited in time."""
        if not self.alive():
            return True
        self.signal(signal.SIGCONT)
        self.signal(signal.SIGTERM)
        if await self.wait(timeout_s) is None:
            self.kill()
            return False
        return True

    def rss_kb(self) -> int | None:
        """Resident memory from /proc (Linux)."""
        if not self.alive():
            return None
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        except OSError:
            return None
        return None

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@dataclass
class Observer:
    """A plain MQTT client watching the devices' live ``status``/``meta``, reconnecting through
    broker restarts: a gateway republishes both whenever it (re)connects, so the first live
    (non-retained) one after a restart says that gateway is back."""

    url_host: str
    url_port: int
    athlete: str
    session: str
    seen: list[tuple[float, str, str]] = field(default_factory=list)  # (monotonic, device, stream)
    connected: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        topic = f"footfall/v1/{self.athlete}/{self.session}/+/"
        while True:
            try:
                async with aiomqtt.Client(self.url_host, self.url_port, timeout=5) as client:
                    await client.subscribe(topic + "status", qos=1)
                    await client.subscribe(topic + "meta", qos=1)
                    self.connected.set()
                    async for message in client.messages:
                        if not message.retain:
                            parts = str(message.topic).split("/")
                            self.seen.append((time.monotonic(), parts[4], parts[5]))
            except aiomqtt.MqttError:
                self.connected.clear()
                await asyncio.sleep(0.1)

    def back_since(self, t: float) -> set[str]:
        return {device for at, device, _ in self.seen if at >= t}


async def until(cond: Callable[[], bool], what: str, timeout_s: float,
                step_s: float = 0.1) -> float:
    """Wait for ``cond``; the seconds it took. Raises AssertionError on timeout."""
    start = time.monotonic()
    while not cond():
        if time.monotonic() - start > timeout_s:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        await asyncio.sleep(step_s)
    return time.monotonic() - start


@dataclass
class Rig:
    """One case's servers, processor and gateways."""

    root: Path
    mosquitto: Server
    influxdb: Server
    athlete: str = "runner"
    session: str = "fault"
    database: str = "faults"
    processor: Proc | None = None
    gateways: list[Proc] = field(default_factory=list)
    timeline: list[tuple[float, str]] = field(default_factory=list)
    t0: float = field(default_factory=time.monotonic)

    @classmethod
    def create(cls, root: Path) -> Rig:
        return cls(root,
                   Server("mosquitto", root / "mosquitto", "127.0.0.1", free_port()),
                   Server("influxdb", root / "influxdb", "127.0.0.1", free_port(),
                          rpc_port=free_port()))

    def note(self, text: str) -> None:
        self.timeline.append((self.elapsed(), text))

    def elapsed(self) -> float:
        return time.monotonic() - self.t0

    @property
    def processor_state(self) -> Path:
        return self.root / "processor"

    def _connection(self) -> list[str]:
        return ["--mqtt-url", self.mosquitto.url, "--influx-url", self.influxdb.url,
                "--influx-database", self.database]

    # -- processes ---------------------------------------------------------------------------

    def start_processor(self) -> Proc:
        if self.processor is None:
            self.processor = Proc("processor", ["process", *self._connection(),
                                                "--state-dir", str(self.processor_state)],
                                  self.processor_state)
        self.processor.start()
        return self.processor

    async def processor_connected(self, since_ns: int, timeout_s: float = 30.0) -> float:
        """Wait for a heartbeat written after ``since_ns`` that says "connected"."""
        def ok() -> bool:
            beat = self.heartbeat()
            return bool(beat and beat.get("connected") and beat["time_ns"] >= since_ns)
        return await until(ok, "the processor connected to the broker", timeout_s, 0.05)

    def heartbeat(self) -> dict[str, Any] | None:
        try:
            beat: dict[str, Any] = json.loads(
                (self.processor_state / health.FILE_NAME).read_text())
        except (OSError, ValueError):
            return None
        return beat

    def start_gateway(self, duration_s: float, *, speed: float, seed: int = 1,
                      name: str = "gateway") -> Proc:
        home = self.root / name
        env = footfall_env()
        if "FOOTFALL_FAULTS_RESEND_WINDOW_S" in os.environ:  # to measure what it saves
            env["FOOTFALL_MQTT_RESEND_WINDOW_S"] = os.environ["FOOTFALL_FAULTS_RESEND_WINDOW_S"]
        proc = Proc(name, ["simulate", "--device", "footfall", "--rate", str(RATE_HZ),
                           "--chunk-ms", str(CHUNK_MS), "--duration", str(duration_s),
                           "--speed", str(speed), "--seed", str(seed),
                           "--record", str(home / "published.mcap"),
                           "--athlete", self.athlete, "--session", self.session,
                           "--mqtt-url", self.mosquitto.url, "--state-dir", str(home / "state")],
                    home, env)
        proc.start()
        self.gateways.append(proc)
        return proc

    async def gateways_done(self, timeout_s: float) -> list[int | None]:
        return [await g.wait(timeout_s) for g in self.gateways]

    async def stop_all(self) -> None:
        for proc in [*self.gateways, *([self.processor] if self.processor else [])]:
            await proc.terminate(10)
        for server in (self.mosquitto, self.influxdb):
            server.stop()

    # -- InfluxDB ----------------------------------------------------------------------------

    async def stored_steps(self) -> list[dict[str, Any]]:
        return await query_steps(self.influxdb.url, self.database, self.athlete, self.session)

    async def settled_steps(self, expected: int, timeout_s: float = 60.0,
                            quiet_s: float = 6.0) -> list[dict[str, Any]]:
        """InfluxDB's steps once they reach ``expected`` or stop changing for ``quiet_s``."""
        deadline = time.monotonic() + timeout_s
        last, since = -1, time.monotonic()
        while True:
            found = await self.stored_steps()
            if len(found) != last:
                last, since = len(found), time.monotonic()
            if len(found) >= expected or time.monotonic() - since >= quiet_s \
                    or time.monotonic() > deadline:
                return found
            await asyncio.sleep(0.5)

    async def recovery(self, since: float, baseline: int, timeout_s: float = 90.0) -> float | None:
        """Seconds from ``since`` (monotonic) until InfluxDB holds more steps than
        ``baseline``: data flows end to end again."""
        deadline = since + timeout_s
        while time.monotonic() < deadline:
            if len(await self.stored_steps()) > baseline:
                return time.monotonic() - since
            await asyncio.sleep(0.25)
        return None

    # -- what should be there ----------------------------------------------------------------

    def expected_steps(self) -> dict[str, list[float]]:
        """Each device's steps (sensor time, s) in the offline analysis of everything the
        gateways published."""
        out: dict[str, list[float]] = {d: [] for d in DEVICES}
        quiet = logging.getLogger("footfall")
        level = quiet.level
        quiet.setLevel(logging.CRITICAL)  # the reference run's own warnings are not the case's
        try:
            for gateway in self.gateways:
                path = gateway.home / "published.mcap"
                results = analyze_messages((m.topic, m.payload) for m in iter_messages(path))
                for device in DEVICES:
                    if device in results:
                        out[device] += [s.sensor_time_s for s in results[device].steps]
        finally:
            quiet.setLevel(level)
        return out


async def query_steps(url: str, database: str, athlete: str,
                      session: str) -> list[dict[str, Any]]:
    """A session's stored steps (sensor time, device, side, placement)."""
    async with InfluxClient(InfluxTarget(url, database)) as influx:
        try:
            series = await influx.query(
                'SELECT "sensor_time_s" FROM "step" WHERE '
                f"\"athlete\" = '{athlete}' AND \"session\" = '{session}' "
                'GROUP BY "device", "side", "placement"')
        except Exception:  # the database does not exist yet, or InfluxDB is down
            return []
    return rows(series)


def compare(expected: dict[str, list[float]], stored: list[dict[str, Any]]) -> StepCount:
    """Match stored steps to expected ones per device by sensor time."""
    count = StepCount()
    for device, want in expected.items():
        want = sorted(want)
        mine = [r for r in stored if r.get("device") == device]
        got = sorted(float(r["sensor_time_s"]) for r in mine)
        count.expected += len(want)
        count.stored += len(got)
        count.side_none += sum(1 for r in mine if r.get("side") != SIDES[device])
        i = j = 0
        missing, extra = [], []
        while i < len(want) or j < len(got):
            if j >= len(got) or (i < len(want) and want[i] < got[j] - MATCH_TOLERANCE_S):
                missing.append(want[i])
                i += 1
            elif i >= len(want) or got[j] < want[i] - MATCH_TOLERANCE_S:
                extra.append(got[j])
                j += 1
            else:
                i, j = i + 1, j + 1
        count.missing += len(missing)
        count.missing_last += int(bool(want) and bool(missing) and missing[-1] == want[-1])
        count.extra += len(extra)
        count.missing_at_s += [round(t, 3) for t in missing[:20]]
        count.extra_at_s += [round(t, 3) for t in extra[:20]]
    return count


@dataclass
class Checks:
    """Collects every failed expectation of a case, so its row says all of them."""

    failures: list[str] = field(default_factory=list)

    def check(self, ok: bool, text: str) -> None:
        if not ok:
            self.failures.append(text)

    def steps(self, count: StepCount) -> None:
        self.check(count.missing == 0, f"steps in = steps stored: {count.missing} of "
                                       f"{count.expected} missing (at sensor s "
                                       f"{count.missing_at_s[:8]})")
        self.check(count.extra == 0, f"no duplicates: {count.extra} extra steps (at sensor s "
                                     f"{count.extra_at_s[:8]})")
        self.check(count.side_none == 0, f"sides tagged: {count.side_none} steps without the "
                                         "sensor's side")
        self.check(count.expected > 0, "the gateways published steps at all")


@contextlib.asynccontextmanager
async def observing(rig: Rig) -> Any:
    observer = Observer(rig.mosquitto.host, rig.mosquitto.port, rig.athlete, rig.session)
    task = asyncio.create_task(observer.run())
    try:
        yield observer
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def timeline_text(rig: Rig) -> str:
    return "; ".join(f"{t:.1f} s {text}" for t, text in rig.timeline)


#: async: does the fault; returns the monotonic time when everything is back (or None)
Inject = Callable[[Rig, Observer, Proc, Proc], Any]


async def streamed_case(rig: Rig, case: str, inject: Inject, *, session_s: float, speed: float,
                        lead_s: float = 8.0, checks: Checks | None = None,
                        details: dict[str, object] | None = None) -> CaseResult:
    """The frame of every streaming case: a processor, two emulated sensors through the
    gateway; ``inject`` does the fault ``lead_s`` into the stream and returns the monotonic
    time when everything is back; then the run ends and InfluxDB is compared with what the
    gateway published. The result is recorded before anyone asserts."""
    checks = checks or Checks()
    details = {} if details is None else details  # ``inject`` may still add to it
    for server in (rig.mosquitto, rig.influxdb):
        server.start()
    processor = rig.start_processor()
    await rig.processor_connected(0)
    recovery_s: float | None = None
    async with observing(rig) as observer:
        await asyncio.wait_for(observer.connected.wait(), 10)
        gateway = rig.start_gateway(session_s, speed=speed)
        await until(lambda: observer.back_since(0) >= set(DEVICES), "both sensors streaming",
                    60)
        await asyncio.sleep(lead_s)
        if lead_s:
            checks.check(len(await rig.stored_steps()) > 0,
                         f"steps reached InfluxDB in the first {lead_s:.0f} s")
        rig.t0 = time.monotonic()
        back_at = await inject(rig, observer, gateway, processor)
        if back_at is not None:
            baseline = len(await rig.stored_steps())
            recovery_s = await rig.recovery(back_at, baseline)
            checks.check(recovery_s is not None,
                         "new steps reached InfluxDB within 90 s of the recovery")
        code = await gateway.wait((session_s / speed if speed else session_s) + 180)
        checks.check(code == 0, f"the gateway finished (exit code {code}): "
                                f"{gateway.output()[-400:]}")
    expected = rig.expected_steps()
    total = sum(len(v) for v in expected.values())
    stored = await rig.settled_steps(total)
    count = compare(expected, stored)
    checks.steps(count)
    details["processor_alive_at_end"] = processor.alive()
    checks.check(processor.alive(), f"the processor is still running (exit code "
                                    f"{processor.returncode})")
    stopped = await processor.terminate(30)
    checks.check(stopped, "the processor stops on SIGTERM within 30 s")
    happened = timeline_text(rig)
    result = CaseResult(case, not checks.failures, happened, count, recovery_s,
                        checks.failures, details)
    record(result)
    return result


def verdict(result: CaseResult, rig: Rig) -> str:
    """The assertion message: every failed expectation, and where the logs are."""
    logs = ", ".join(str(p.log) for p in [*rig.gateways, rig.processor] if p is not None)
    return (f"{result.case}: " + "\n  - ".join(["", *result.failures])
            + f"\n  what happened: {result.happened}\n  logs: {logs}")
