"""Run the coach app under uvicorn until Ctrl-C (or ``stop``), ending every stream at once."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from types import FrameType

import uvicorn

from footfall.config.settings import Settings
from footfall.core.errors import CommandError
from footfall.views.coach.app import Coach, create_app

#: open event streams are ended before uvicorn waits for them; this is what is left
GRACEFUL_S = 1


class _Server(uvicorn.Server):
    """uvicorn that ends the pages' event streams as soon as it is told to stop (an open SSE
    stream would otherwise hold a graceful shutdown for ever)."""

    def __init__(self, config: uvicorn.Config, coach: Coach) -> None:
        super().__init__(config)
        self.coach = coach
        self.loop: asyncio.AbstractEventLoop | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.loop is not None:
            self.loop.call_soon_threadsafe(self.coach.close)
        super().handle_exit(sig, frame)


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound now so a taken port is a clear error (not a log line)."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        raise CommandError(f"cannot listen on {host}:{port} ({exc.strerror}): pick another "
                           "--port, or stop what is using it") from None
    return sock


async def serve(settings: Settings, sock: socket.socket, *, default_athlete: str | None = None,
                stop: asyncio.Event | None = None, coach: Coach | None = None) -> Coach:
    """Serve on ``sock`` until Ctrl-C/SIGTERM, or until ``stop`` is set (tests)."""
    coach = coach or Coach(settings, default_athlete=default_athlete)
    config = uvicorn.Config(create_app(coach), log_level="warning", lifespan="on",
                            timeout_graceful_shutdown=GRACEFUL_S, access_log=False)
    server = _Server(config, coach)
    server.loop = asyncio.get_running_loop()
    watcher = None
    if stop is not None:
        async def watch() -> None:
            await stop.wait()
            coach.close()
            server.should_exit = True

        watcher = asyncio.create_task(watch())
    try:
        await server.serve(sockets=[sock])
    finally:
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
    return coach
