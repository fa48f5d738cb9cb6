"""Fan-out of page messages to the connected pages, each following one session.

Every page has its own bounded queue: a page that stalls (a tab in the background, a slow
tablet) loses its oldest messages, and never holds up the others or the MQTT connection.
A page follows a fixed session, or the latest live session (of one athlete, or of any): when a
newer one starts, the page is told (a ``follow`` message, then that session's snapshot).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from footfall.views.coach.state import PageMessage, Sessions, SessionView

#: messages a page may fall behind by before its oldest are dropped
QUEUE_SIZE = 512
#: the end-of-stream marker (server shutdown)
END: dict[str, Any] = {"kind": "end"}


@dataclass(eq=False)
class Page:
    """One connected page: what it follows and its queue of outgoing messages."""

    athlete: str | None  # follow this athlete's latest session (None: anyone's)
    session: str | None  # a fixed session (None: the latest live one)
    queue: asyncio.Queue[dict[str, Any]] = field(
        default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    current: tuple[str, str] | None = None
    dropped: int = 0

    def put(self, message: dict[str, Any]) -> None:
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(message)


class Hub:
    """The connected pages and the sessions they follow."""

    def __init__(self, sessions: Sessions, *, default_athlete: str | None = None) -> None:
        self.sessions = sessions
        self.default_athlete = default_athlete
        self.pages: set[Page] = set()
        self.closed = False

    def connect(self, athlete: str | None, session: str | None) -> Page:
        page = Page(athlete if athlete else self.default_athlete, session)
        if session is not None and page.athlete is not None:
            self._follow(page, (page.athlete, session))
        else:
            latest = self.sessions.latest(page.athlete)
            if latest is not None:
                self._follow(page, (latest.athlete, latest.session))
            else:
                page.put({"kind": "waiting", "athlete": page.athlete})
        self.pages.add(page)
        return page

    def disconnect(self, page: Page) -> None:
        self.pages.discard(page)

    def publish(self, msg: PageMessage, view: SessionView, started: bool) -> None:
        """One message of ``view``'s session; ``started``: that session just became live."""
        data = msg.to_dict()
        for page in self.pages:
            if started and page.session is None and page.current != msg.key and \
                    page.athlete in (None, msg.athlete):
                self._follow(page, msg.key)  # its snapshot holds the message, as state;
                page.put(data)  # as an event (a step to cue) it comes next
            elif page.current == msg.key:
                page.put(data)

    def close(self) -> None:
        """Shutdown: end every stream, so the server can stop at once."""
        self.closed = True
        for page in self.pages:
            page.put(END)

    def _follow(self, page: Page, key: tuple[str, str]) -> None:
        page.current = key
        view = self.sessions.get(*key)
        page.put({"kind": "follow", "athlete": key[0], "session": key[1],
                  "server_ns": time.time_ns()})
        if view is not None:
            page.put(view.snapshot())
