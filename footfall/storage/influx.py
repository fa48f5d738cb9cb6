"""An InfluxDB client that works from 1.6 to 3 Core: line protocol on ``/write``, InfluxQL reads.

:class:`SpooledWriter` never loses a point: every line is appended to a spool file on disk
as it is added (so even ``kill -9`` loses none), batches are sent oldest first, and a batch file
is deleted only after InfluxDB answered 2xx. While the server is unreachable, batches accumulate
on disk and are sent when it is back; a process that dies with unsent batches sends them at its
next start. A batch InfluxDB refuses as bad data (400, also a "partial write") is split in
halves until the bad lines are alone: the good ones are stored, each bad one is moved to
``rejected/`` with the server's reason. Refused credentials (401/403) are not an outage: the
writer stops sending, says so (``auth_error``, which makes the processor's health unhealthy),
and keeps everything on disk for a restart with the right credentials.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final, Protocol

import httpx

from footfall.config.settings import Settings
from footfall.core.errors import FootfallError

log = logging.getLogger(__name__)

PRECISION: Final = "ms"
#: InfluxData's advice; larger batches only cost latency
MAX_BATCH_LINES: Final = 5000


class InfluxError(FootfallError):
    """InfluxDB refused a request; ``status`` is the HTTP status (0: unreachable)."""

    def __init__(self, message: str, status: int = 0, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after_s = retry_after_s


@dataclass(frozen=True, slots=True)
class InfluxTarget:
    url: str
    database: str
    token: str | None = None
    username: str | None = None
    password: str | None = None

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.token}"} if self.token else {}

    def params(self, **extra: str) -> dict[str, str]:
        params = {"db": self.database, **extra}
        if self.username and not self.token:
            params["u"] = self.username
            params["p"] = self.password or ""
        return params


class InfluxClient:
    """Thin async HTTP client: write lines, run InfluxQL."""

    def __init__(self, target: InfluxTarget, *, timeout_s: float = 10.0) -> None:
        self.target = target
        self._http = httpx.AsyncClient(base_url=target.url, headers=target.headers(),
                                       timeout=timeout_s)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> InfluxClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def ping(self) -> bool:
        try:
            response = await self._http.get("/ping")
        except httpx.HTTPError:
            return False
        return response.status_code == 204

    async def create_database(self) -> None:
        """``CREATE DATABASE`` (idempotent); 1.x needs it before the first write."""
        await self._post_query(f'CREATE DATABASE "{self.target.database}"')

    async def write(self, body: bytes) -> None:
        try:
            response = await self._http.post(
                "/write", params=self.target.params(precision=PRECISION), content=body
            )
        except httpx.HTTPError as exc:
            raise InfluxError(f"InfluxDB at {self.target.url} unreachable: {exc!r}") from exc
        if response.status_code >= 300:
            retry_after = response.headers.get("Retry-After", "")
            raise InfluxError(
                f"write refused ({response.status_code}): {response.text.strip()[:500]}",
                response.status_code,
                float(retry_after) if retry_after.replace(".", "", 1).isdigit() else None,
            )

    async def _post_query(self, q: str) -> dict[str, Any]:
        try:
            response = await self._http.post("/query", params=self.target.params(q=q))
        except httpx.HTTPError as exc:
            raise InfluxError(f"InfluxDB at {self.target.url} unreachable: {exc!r}") from exc
        return self._check(response, q)

    async def query(self, q: str, *, epoch: str | None = "ms") -> list[dict[str, Any]]:
        """Run InfluxQL; returns the series of the first statement (``[]`` when empty)."""
        params = self.target.params(q=q, **({"epoch": epoch} if epoch else {}))
        try:
            response = await self._http.get("/query", params=params)
        except httpx.HTTPError as exc:
            raise InfluxError(f"InfluxDB at {self.target.url} unreachable: {exc!r}") from exc
        data = self._check(response, q)
        result = data.get("results", [{}])[0]
        series: list[dict[str, Any]] = result.get("series", [])
        return series

    @staticmethod
    def _check(response: httpx.Response, q: str) -> dict[str, Any]:
        if response.status_code >= 300:
            raise InfluxError(f"query {q!r} refused ({response.status_code}): "
                              f"{response.text.strip()[:500]}", response.status_code)
        data: dict[str, Any] = response.json()
        for result in data.get("results", []):
            if "error" in result:
                raise InfluxError(f"query {q!r} failed: {result['error']}", 400)
        return data


def rows(series: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Flatten InfluxQL series into dicts (tags merged in)."""
    out = []
    for s in series:
        tags = s.get("tags") or {}
        for values in s.get("values", []):
            out.append({**tags, **dict(zip(s["columns"], values, strict=True))})
    return out


@dataclass
class WriterStats:
    lines_queued: int = 0
    lines_written: int = 0
    lines_rejected: int = 0
    batches_written: int = 0
    write_failures: int = 0
    spooled_batches: int = 0  # batches currently waiting on disk
    batches_split: int = 0  # batches InfluxDB refused in part, sent again in halves
    lines_recovered: int = 0  # lines an earlier run left in the spool

    @property
    def lines_done(self) -> int:
        """Lines of this run that InfluxDB has taken (or refused as bad data): every line
        queued before the ``lines_done``-th one is stored (batches go in order)."""
        return self.lines_written + self.lines_rejected - self.lines_recovered


class LineSink(Protocol):
    """What the processor writes its lines to: a :class:`SpooledWriter` (a test's stand-in
    too: the compiled build checks the types it is given, docs/architecture.md)."""

    stats: WriterStats
    auth_error: str | None

    def add(self, lines: list[str]) -> None: ...

    async def flush(self, timeout_s: float | None = None) -> bool: ...


class SpooledWriter:
    """Batches lines, spools every batch to disk first, drains the spool in order with backoff."""

    def __init__(
        self,
        client: InfluxClient,
        spool_dir: Path,
        *,
        flush_interval_s: float = 1.0,
        max_batch_lines: int = MAX_BATCH_LINES,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 30.0,
    ) -> None:
        self.client = client
        self.spool_dir = spool_dir
        self.rejected_dir = spool_dir / "rejected"
        self.flush_interval_s = flush_interval_s
        self.max_batch_lines = max_batch_lines
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.stats = WriterStats()
        #: the batch being filled: lines are appended to its ``.part`` file as they come
        self._part: IO[str] | None = None
        self._part_path: Path | None = None
        self._part_lines = 0
        self._part_started = 0.0
        self._seq = 0
        #: set when InfluxDB refused the credentials: nothing more is sent until a restart
        self.auth_error: str | None = None
        self._failing = False  # the last write attempt failed (InfluxDB away)
        self._wake = asyncio.Event()
        self._drained = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = asyncio.Event()
        self._database_ready = False

    async def __aenter__(self) -> SpooledWriter:
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        self._recover_parts()
        leftover = self._segments()
        # sent first (names sort by time): lines_written counts them before this run's lines
        self.stats.lines_recovered = sum(p.read_bytes().count(b"\n") for p in leftover)
        if leftover:
            log.warning("found %d unsent batch(es) in %s from an earlier run; sending them",
                        len(leftover), self.spool_dir)
        self._task = asyncio.create_task(self._run(), name="influx-writer")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def add(self, lines: list[str]) -> None:
        """Append lines to the spool on disk now (flushed to the OS: a crash of the process
        loses none); they are sent within ``flush_interval_s``."""
        self.stats.lines_queued += len(lines)
        while lines:
            if self._part is None:
                self._seq += 1
                # time_ns + a counter: names sort in creation order across restarts too
                self._part_path = (self.spool_dir /
                                   f"{time.time_ns():020d}-{self._seq:06d}.part")
                self._part = self._part_path.open("a")
                self._part_started = time.monotonic()
            room = self.max_batch_lines - self._part_lines
            now, lines = lines[:room], lines[room:]
            self._part.write("\n".join(now) + "\n")
            self._part.flush()
            self._part_lines += len(now)
            if self._part_lines >= self.max_batch_lines:
                self._spool_pending()

    async def flush(self, timeout_s: float | None = None) -> bool:
        """Spool what is pending and wait until the spool is empty; False on timeout."""
        self._spool_pending()
        self._drained.clear()
        self._wake.set()
        if not self._segments():
            return True
        if self.auth_error is not None:
            return False  # nothing is sent until a restart with working credentials
        try:
            await asyncio.wait_for(self._wait_empty(), timeout_s)
        except TimeoutError:
            return False
        return True

    async def close(self, timeout_s: float = 10.0) -> None:
        """Try to send everything; whatever cannot be sent stays on disk for the next run.
        While InfluxDB is failing, it waits only a moment: Ctrl-C must not hang."""
        flushed = await self.flush(1.0 if self._failing else timeout_s)
        if not flushed:
            log.warning("InfluxDB did not take %d batch(es) before exit; they stay in %s and "
                        "are sent at the next start", len(self._segments()), self.spool_dir)
        # a flag, not Task.cancel(): 3.11's wait_for can swallow a cancel that races its timeout
        self._closing.set()
        self._wake.set()
        if self._task is not None:
            await self._task

    async def _wait_empty(self) -> None:
        while self._segments():
            self._drained.clear()
            await self._drained.wait()

    def _segments(self) -> list[Path]:
        return sorted(self.spool_dir.glob("*.lp"))

    def _spool_pending(self) -> None:
        """The batch being filled becomes a batch to send."""
        if self._part is not None and self._part_path is not None:
            self._part.close()
            os.replace(self._part_path, self._part_path.with_suffix(".lp"))
            self._part, self._part_path, self._part_lines = None, None, 0
            self._wake.set()
        self.stats.spooled_batches = len(self._segments())

    def _recover_parts(self) -> None:
        """Batches a killed process was filling: cut a torn last line, then send them."""
        for part in sorted(self.spool_dir.glob("*.part")):
            data = part.read_bytes()
            complete = data[: data.rfind(b"\n") + 1]
            if len(complete) != len(data):
                log.warning("%s: cutting a torn last line (%d bytes)", part,
                            len(data) - len(complete))
            if complete:
                part.write_bytes(complete)
                os.replace(part, part.with_suffix(".lp"))
            else:
                part.unlink()

    async def _run(self) -> None:
        backoff = self.backoff_initial_s
        while not self._closing.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.flush_interval_s)
            self._wake.clear()
            if self._closing.is_set():
                break
            if self._part is not None and \
                    time.monotonic() - self._part_started >= self.flush_interval_s:
                self._spool_pending()
            if self.auth_error is not None:
                continue  # refused credentials: keep everything on disk, send nothing
            for path in self._segments():
                try:
                    await self._send(path)
                except InfluxError as exc:
                    self._failing = True
                    if exc.status in (401, 403):
                        self.auth_error = (f"InfluxDB at {self.client.target.url} refused the "
                                           f"credentials ({exc.status}): check influx_token "
                                           "(or influx_username/influx_password) and restart; "
                                           f"{len(self._segments())} batch(es) are kept in "
                                           f"{self.spool_dir} and sent then")
                        log.error("%s", self.auth_error)
                        break
                    self.stats.write_failures += 1
                    delay = exc.retry_after_s or (
                        min(backoff, self.backoff_max_s) * (0.8 + 0.4 * random.random()))
                    log.warning("InfluxDB write failed, %d batch(es) kept on disk, retry in "
                                "%.1f s: %s", len(self._segments()), delay, exc)
                    with contextlib.suppress(TimeoutError):  # close() ends the wait early
                        await asyncio.wait_for(self._closing.wait(), delay)
                    backoff = min(backoff * 2, self.backoff_max_s)
                    self._wake.set()
                    break
                backoff = self.backoff_initial_s
                self._failing = False
            self.stats.spooled_batches = len(self._segments())
            if not self._segments():
                self._drained.set()

    async def _send(self, path: Path) -> None:
        body = path.read_bytes()
        n_lines = body.count(b"\n")
        if not self._database_ready:
            try:
                await self.client.create_database()
            except InfluxError as exc:
                # a write-only user may not create databases; the write below says whether
                # the database exists
                if exc.status not in (401, 403):
                    raise
                log.info("cannot create database %r (%s); assuming it exists",
                         self.client.target.database, exc)
            self._database_ready = True
        rejected = await self._write_or_split(path.name, body.splitlines(keepends=True))
        path.unlink()
        self.stats.lines_written += n_lines - rejected
        self.stats.batches_written += 1

    async def _write_or_split(self, name: str, lines: list[bytes]) -> int:
        """Write ``lines``; a 400 (bad data, or a partial write that stored the rest) is
        bisected until each bad line is alone in ``rejected/``. Writing a line again is
        harmless: InfluxDB keeps one point per series and time. Returns the lines rejected."""
        try:
            await self.client.write(b"".join(lines))
            return 0
        except InfluxError as exc:
            if exc.status == 404:  # database dropped under us: recreate next time
                self._database_ready = False
            if exc.status != 400:
                raise
            if len(lines) > 1:
                self.stats.batches_split += 1
                half = len(lines) // 2
                return (await self._write_or_split(name, lines[:half]) +
                        await self._write_or_split(name, lines[half:]))
            self.rejected_dir.mkdir(exist_ok=True)
            with (self.rejected_dir / name).open("ab") as out:
                out.write(lines[0])
            with (self.rejected_dir / f"{Path(name).stem}.reason").open("a") as out:
                out.write(f"{exc}\n")
            self.stats.lines_rejected += 1
            log.error("InfluxDB refused a line as bad data; kept in %s: %s",
                      self.rejected_dir, exc)
            return 1


def influx_target(settings: Settings) -> InfluxTarget:
    return InfluxTarget(
        url=settings.influx_url,
        database=settings.influx_database,
        token=settings.influx_token.get_secret_value() if settings.influx_token else None,
        username=settings.influx_username,
        password=settings.influx_password.get_secret_value() if settings.influx_password else None,
    )
