"""The coach web app: Starlette routes, server-sent events, the therapist's commands.

``/`` is the therapist view, ``/runner`` the runner view (static HTML, CSS and JS shipped in the
package: no front-end build step). ``/events`` streams a session's messages to a page (SSE: one
way, the browser reconnects by itself); commands come back as plain POSTs to ``/api/control``
and go out on the session's control topic, so the processor, the recordings and the report all
see them. The browser does the sound (Web Audio), so the server needs no audio device.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from sse_starlette.sse import EventSourceResponse
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from footfall.config.settings import Settings
from footfall.core.ids import IdError, check_id
from footfall.core.quarantine import Quarantine
from footfall.views.coach import STATIC
from footfall.views.coach.bridge import Bridge, BrokerUnavailable
from footfall.views.coach.hub import END, Hub
from footfall.views.coach.state import Sessions
from footfall.wire.control import ControlCommand
from footfall.wire.events import EventError

#: a command is a few hundred bytes; anything much larger is not one
MAX_COMMAND_BYTES = 8 * 1024
#: keeps proxies and the browser's EventSource from timing out an idle stream
SSE_PING_S = 15
NO_STORE = {"Cache-Control": "no-store"}


class Coach:
    """The app's parts: sessions, pages, the MQTT bridge."""

    def __init__(self, settings: Settings, *, default_athlete: str | None = None) -> None:
        self.settings = settings
        self.sessions = Sessions()
        self.hub = Hub(self.sessions, default_athlete=default_athlete)
        self.quarantine = Quarantine(settings.state_dir / "quarantine" / "coach")
        self.bridge = Bridge(settings, self.hub, self.sessions, self.quarantine)
        self.stop = asyncio.Event()

    def close(self) -> None:
        """End every page's stream and the MQTT connection (server shutdown)."""
        self.stop.set()
        self.hub.close()


def create_app(coach: Coach) -> Starlette:
    async def therapist(request: Request) -> Response:
        return FileResponse(STATIC / "therapist.html", headers=NO_STORE)

    async def runner(request: Request) -> Response:
        return FileResponse(STATIC / "runner.html", headers=NO_STORE)

    async def events(request: Request) -> Response:
        try:
            athlete = _id(request, "athlete")
            session = _id(request, "session")
        except IdError as exc:
            return JSONResponse({"error": exc.reason}, 400)
        page = coach.hub.connect(athlete, session)

        async def stream() -> AsyncIterator[dict[str, str]]:
            try:
                while True:
                    message = await page.queue.get()
                    if message is END:
                        return
                    yield {"data": _stamped(message)}
            finally:
                coach.hub.disconnect(page)

        return EventSourceResponse(stream(), ping=SSE_PING_S,
                                   headers={**NO_STORE, "X-Accel-Buffering": "no"})

    async def sessions(request: Request) -> Response:
        return JSONResponse({"sessions": coach.sessions.listing(time.time_ns()),
                             "connected": coach.bridge.connected.is_set()}, headers=NO_STORE)

    async def health(request: Request) -> Response:
        return JSONResponse({"connected": coach.bridge.connected.is_set(),
                             "pages": len(coach.hub.pages),
                             "dropped": sum(p.dropped for p in coach.hub.pages),
                             "messages": coach.bridge.messages,
                             "malformed": coach.quarantine.total}, headers=NO_STORE)

    async def control(request: Request) -> Response:
        """``{"athlete", "session", "command": {"action": …, …}}`` → the control topic."""
        if request.headers.get("content-type", "").split(";")[0] != "application/json":
            return JSONResponse({"error": "send the command as application/json"}, 415)
        origin = request.headers.get("origin")
        if origin is not None and origin.split("://", 1)[-1] != request.headers.get("host"):
            return JSONResponse({"error": "commands are taken from the coach's own pages"}, 403)
        body = await request.body()
        if len(body) > MAX_COMMAND_BYTES:
            return JSONResponse({"error": f"a command is at most {MAX_COMMAND_BYTES} bytes"}, 413)
        try:
            command, athlete, session = _command(body)
        except (EventError, IdError) as exc:
            return JSONResponse({"error": exc.reason}, 400)
        try:
            await coach.bridge.send(athlete, session, command)
        except BrokerUnavailable as exc:
            return JSONResponse({"error": f"{exc}: the command was not sent"}, 503)
        return JSONResponse({"sent": command.to_dict()})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(coach.bridge.run(coach.stop))
        try:
            yield
        finally:
            coach.close()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return Starlette(
        routes=[
            Route("/", therapist),
            Route("/runner", runner),
            Route("/events", events),
            Route("/api/sessions", sessions),
            Route("/api/health", health),
            Route("/api/control", control, methods=["POST"]),
            Route("/favicon.ico", lambda _request: Response(status_code=204)),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ],
        lifespan=lifespan,
    )


def _id(request: Request, name: str) -> str | None:
    value = request.query_params.get(name) or None
    return check_id(name, value) if value is not None else None


def _command(body: bytes) -> tuple[ControlCommand, str, str]:
    """The POSTed command, stamped with the server's clock; raises EventError / IdError."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise EventError("the body is not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("command"), dict):
        raise EventError('expected {"athlete": …, "session": …, "command": {"action": …}}')
    athlete = check_id("athlete", str(data.get("athlete", "")))
    session = check_id("session", str(data.get("session", "")))
    fields = {k: v for k, v in data["command"].items() if k not in ("v", "type", "time_ns")}
    command = ControlCommand.from_dict({**fields, "v": 1, "type": "control",
                                        "time_ns": time.time_ns(), "source": "coach"})
    return command, athlete, session


def _stamped(message: dict[str, Any]) -> str:
    """The message as sent, with the server's send time; a step also carries its age on the
    server's clock (a page on another device need not have a synced clock to judge it)."""
    now = time.time_ns()
    extra: dict[str, Any] = {"send_ns": now}
    if message.get("kind") == "step":
        extra["age_ms"] = (now - message["event"]["time_ns"]) / 1e6
        # JavaScript numbers hold ns since 1970 only to ~256 ns: the step's exact identity
        extra["step_id"] = f"{message['device']}:{message['event']['time_ns']}"
    return json.dumps({**message, **extra}, separators=(",", ":"), allow_nan=False)
