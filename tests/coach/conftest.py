"""The coach's test stack: real Mosquitto and InfluxDB (tests/conftest.py), the live processor
and the coach server in a background event loop, and Debian's Chromium driven by Playwright.

Playwright drives the system browser through its executable path (``FOOTFALL_CHROMIUM``, else
``chromium`` on PATH); it never downloads one. Without Chromium the browser tests are skipped
locally and fail under ``CI=true``, like every missing server.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest

from footfall.config.analysis import AnalysisConfig
from footfall.config.settings import Settings, load_settings
from footfall.processing.session import Event
from footfall.service.processor import ProcessorService
from footfall.stack.servers import Server, find_binary, free_port
from footfall.storage.influx import InfluxClient, SpooledWriter, influx_target
from footfall.views.coach.app import Coach
from footfall.views.coach.server import bind, serve
from footfall.wire.topics import Topic
from tests.conftest import IN_CI

T = TypeVar("T")
#: Playwright adds --headless, --no-sandbox, a temporary profile and the background-networking
#: switches itself; listed here so the set is explicit. The autoplay switch lets the page's
#: AudioContext run without a click (a real screen needs one: the "tap for sound" button).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic", "--autoplay-policy=no-user-gesture-required"]
#: the processor's baseline comes quickly in tests (the default is 60 s + 60 s)
ANALYSIS = AnalysisConfig(warmup_s=1.0, baseline_s=3.0)


def chromium_path() -> str:
    """The system Chromium, or skip (fail under CI=true)."""
    path = os.environ.get("FOOTFALL_CHROMIUM") or find_binary("chromium")
    problem = None
    if path is None:
        problem = ("chromium is not installed: run scripts/setup (it installs the Debian "
                   "packages chromium and chromium-driver) or set FOOTFALL_CHROMIUM")
    else:
        try:
            import playwright  # noqa: F401
        except ImportError:
            problem = "playwright is not installed: run scripts/setup (pip install -e '.[dev]')"
    if problem is not None:
        if IN_CI:
            pytest.fail(f"CI=true and {problem}", pytrace=False)
        pytest.skip(problem)
    assert path is not None
    return path


class LoopThread:
    """An asyncio loop in a thread: the live services run there while a test (and its
    synchronous Playwright) runs in the main thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="coach-stack",
                                       daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout_s: float = 60.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout_s)

    def spawn(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def start(self, coro: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        """A task on the loop, for :meth:`stop` (a spawned future's ``cancel`` returns at
        once, before the coroutine has run its ``finally``)."""
        async def create() -> asyncio.Task[T]:
            return asyncio.create_task(coro)

        return self.run(create(), 10)

    def stop(self, task: asyncio.Task[Any], timeout_s: float = 10.0) -> None:
        """Cancel ``task`` and wait until it has finished (its files closed)."""
        async def cancel() -> None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

        self.run(cancel(), timeout_s)

    def close(self) -> None:
        async def cancel_rest() -> None:
            rest = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in rest:
                task.cancel()
            await asyncio.gather(*rest, return_exceptions=True)

        self.run(cancel_rest(), 10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@dataclass
class Stack:
    """The servers, the processor and the coach, and every event the processor emitted."""

    base: Settings
    thread: LoopThread
    coach_url: str = ""
    events: list[tuple[Topic, Event]] = field(default_factory=list)
    processor: ProcessorService | None = None
    writer: SpooledWriter | None = None
    coach: Coach | None = None
    _stop_processor: asyncio.Event | None = None
    _processor_task: concurrent.futures.Future[None] | None = None

    def session_settings(self) -> Settings:
        """Settings of a fresh athlete and session on this stack."""
        unique = uuid.uuid4().hex[:8]
        return self.base.model_copy(update={"athlete": f"a{unique}", "session": f"s{unique}"})

    def of(self, settings: Settings, cls: type[T]) -> list[T]:
        """The processor's events of one session, of one type, in the order emitted."""
        return [e for t, e in list(self.events) if isinstance(e, cls)
                and (t.athlete, t.session) == (settings.athlete, settings.session)]

    def start_processor(self) -> None:
        async def start() -> tuple[asyncio.Event, ProcessorService]:
            stop = asyncio.Event()
            service = ProcessorService(self.base, writer=self.writer, analysis=ANALYSIS,
                                       client_id=f"coach-test-processor-{id(self)}",
                                       on_event=lambda t, e: self.events.append((t, e)))
            return stop, service

        self._stop_processor, self.processor = self.thread.run(start())
        self._processor_task = self.thread.spawn(self.processor.run(self._stop_processor))
        self.thread.run(asyncio.wait_for(self.processor.connected.wait(), 30))

    def stop_processor(self) -> None:
        if self._stop_processor is not None and self._processor_task is not None:
            self.thread.loop.call_soon_threadsafe(self._stop_processor.set)
            self._processor_task.result(30)
            self._stop_processor = self._processor_task = None

    def post(self, settings: Settings, command: dict[str, Any]) -> dict[str, Any]:
        """A command as the therapist's page sends it (POST /api/control)."""
        return post_json(f"{self.coach_url}/api/control", {
            "athlete": settings.athlete, "session": settings.session, "command": command})


def post_json(url: str, body: object, headers: dict[str, str] | None = None
              ) -> dict[str, Any]:
    data = json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="POST", headers={
        "content-type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return {"status": response.status, **json.loads(response.read())}
    except urllib.error.HTTPError as exc:
        return {"status": exc.code, **json.loads(exc.read())}


@pytest.fixture(scope="module")
def stack(mosquitto: Server, influxdb: Server, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[Stack]:
    home = tmp_path_factory.mktemp("coach")
    base = load_settings(mqtt_url=mosquitto.url, influx_url=influxdb.url,
                         influx_database=f"coach_{uuid.uuid4().hex[:8]}", state_dir=home)
    thread = LoopThread()
    stack = Stack(base, thread)
    influx = InfluxClient(influx_target(base))
    stop_coach = asyncio.Event()

    async def open_writer() -> SpooledWriter:
        await influx.__aenter__()
        writer = SpooledWriter(influx, base.spool_dir)
        await writer.__aenter__()
        return writer

    stack.writer = thread.run(open_writer())
    stack.start_processor()
    port = free_port()
    stack.coach = Coach(base)
    coach_task = thread.spawn(serve(base, bind("127.0.0.1", port), stop=stop_coach,
                                    coach=stack.coach))
    stack.coach_url = f"http://127.0.0.1:{port}"
    thread.run(asyncio.wait_for(stack.coach.bridge.connected.wait(), 30))
    try:
        yield stack
    finally:
        stack.stop_processor()
        thread.loop.call_soon_threadsafe(stop_coach.set)
        coach_task.result(10)

        async def close_writer() -> None:
            assert stack.writer is not None
            await stack.writer.__aexit__(None, None, None)
            await influx.__aexit__(None, None, None)

        thread.run(close_writer())
        thread.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    path = chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS,
                                     timeout=30_000)
        yield launched
        launched.close()


def until(check: Callable[[], object], timeout_s: float, what: str) -> None:
    """Poll ``check`` (in the test thread) until it is truthy."""
    import time

    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def shots_dir() -> Path | None:
    """``FOOTFALL_SHOTS=docs/img`` makes the browser tests save the documentation's
    screenshots there."""
    value = os.environ.get("FOOTFALL_SHOTS")
    return Path(value) if value else None
