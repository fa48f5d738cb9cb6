"""An InfluxDB client that works from 1.6 to 3 Core: line protocol on ``/write``, InfluxQL reads.

:class:`SpooledWriter` never loses a point: each batch is written to a spool file on disk
*before* it is sent, and the file is deleted only after InfluxDB answered 2xx. While the server
is unreachable, batches accumulate on disk and are sent oldest first when it is back; a process
that dies with unsent batches sends them at its next start. A batch InfluxDB rejects as bad
data (400) is moved to ``rejected/`` with the server's reason instead of being retried forever.
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
from typing import Any

import httpx

from footfall.config.settings import Settings
from footfall.core.errors import FootfallError

log = logging.getLogger(__name__)

PRECISION = "ms"
#: InfluxData's advice; larger batches only cost latency
MAX_BATCH_LINES = 5000


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
        self._pending: list[str] = []
        self._seq = 0
        self._wake = asyncio.Event()
        self._drained = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = asyncio.Event()
        self._database_ready = False

    async def __aenter__(self) -> SpooledWriter:
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        leftover = self._segments()
        if leftover:
            log.warning("found %d unsent batch(es) in %s from an earlier run; sending them",
                        len(leftover), self.spool_dir)
        self._task = asyncio.create_task(self._run(), name="influx-writer")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def add(self, lines: list[str]) -> None:
        self._pending.extend(lines)
        self.stats.lines_queued += len(lines)
        if len(self._pending) >= self.max_batch_lines:
            self._spool_pending()

    async def flush(self, timeout_s: float | None = None) -> bool:
        """Spool what is pending and wait until the spool is empty; False on timeout."""
        self._spool_pending()
        self._drained.clear()
        self._wake.set()
        if not self._segments():
            return True
        try:
            await asyncio.wait_for(self._wait_empty(), timeout_s)
        except TimeoutError:
            return False
        return True

    async def close(self, timeout_s: float = 10.0) -> None:
        """Try to send everything; whatever cannot be sent stays on disk for the next run."""
        flushed = await self.flush(timeout_s)
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
        while self._pending:
            batch, self._pending = (self._pending[: self.max_batch_lines],
                                    self._pending[self.max_batch_lines:])
            self._seq += 1
            # time_ns + a counter: names sort in creation order across restarts too
            path = self.spool_dir / f"{time.time_ns():020d}-{self._seq:06d}.lp"
            tmp = path.with_suffix(".tmp")
            tmp.write_text("\n".join(batch) + "\n")
            os.replace(tmp, path)  # atomic: a crash never leaves half a batch
            self._wake.set()
        self.stats.spooled_batches = len(self._segments())

    async def _run(self) -> None:
        backoff = self.backoff_initial_s
        while not self._closing.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.flush_interval_s)
            self._wake.clear()
            if self._closing.is_set():
                break
            self._spool_pending()
            for path in self._segments():
                try:
                    await self._send(path)
                except InfluxError as exc:
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
        try:
            await self.client.write(body)
        except InfluxError as exc:
            if exc.status == 404:  # database dropped under us: recreate next time
                self._database_ready = False
            if exc.status == 400:
                self.rejected_dir.mkdir(exist_ok=True)
                (self.rejected_dir / path.with_suffix(".reason").name).write_text(str(exc))
                os.replace(path, self.rejected_dir / path.name)
                self.stats.lines_rejected += n_lines
                log.error("InfluxDB rejected a batch of %d lines as bad data; kept in %s: %s",
                          n_lines, self.rejected_dir, exc)
                return
            raise
        path.unlink()
        self.stats.lines_written += n_lines
        self.stats.batches_written += 1


def influx_target(settings: Settings) -> InfluxTarget:
    return InfluxTarget(
        url=settings.influx_url,
        database=settings.influx_database,
        token=settings.influx_token.get_secret_value() if settings.influx_token else None,
        username=settings.influx_username,
        password=settings.influx_password.get_secret_value() if settings.influx_password else None,
    )
