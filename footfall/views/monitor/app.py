"""The live monitor: MQTT in (aiomqtt 2.x), a rich screen out, keys back to the processor.

One connection owns everything: messages arrive through its async iterator and are folded
into the state (:func:`footfall.views.monitor.state.apply`); a render task redraws as soon as a
message changed something (at most ``fps`` times a second, and once a second for the clock),
so a step is on screen one render after it arrives. Keys become
:class:`~footfall.wire.control.ControlCommand` messages on the session's control topic.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TextIO

import aiomqtt
from rich.console import Console, RenderableType
from rich.live import Live

from footfall.config.analysis import AlertConfig
from footfall.config.settings import Settings
from footfall.views.monitor.state import (
    MonitorState,
    apply,
    latency_summary,
    rendered,
    topic_filters,
)
from footfall.views.monitor.view import render
from footfall.wire import mqtt
from footfall.wire.control import ControlCommand, control_topic
from footfall.wire.topics import ROOT

log = logging.getLogger(__name__)

#: ``t`` sets the target this far above the baseline (gait.md: +5–10 %; Willy 2016 cued +7.5 %)
DEFAULT_INCREASE_PCT = 7.5
RECONNECT_S = 1.0
IDLE_REFRESH_S = 1.0
#: the impact tone sounds at most this often
TONE_MIN_INTERVAL_S = 0.3


class Monitor:
    """One session's live view. ``run(stop)`` until ``stop`` is set (or ``q``)."""

    def __init__(self, settings: Settings, *, athlete: str, session: str | None,
                 console: Console | None = None, keys: bool = True, fps: float = 60.0,
                 screen: bool | None = None, alerts: AlertConfig | None = None,
                 latency_log: Path | None = None, metronome: bool = False,
                 impact_tone: bool = False,
                 clock: Callable[[], int] = time.time_ns) -> None:
        self.settings = settings
        self.athlete = athlete
        self.session = session
        #: no session given: follow the athlete's sessions, one after the other
        self.follow = session is None
        self._ended_sessions: set[str] = set()
        self._cues = (metronome, impact_tone)
        self.console = console or Console()
        self.keys = keys
        self.min_interval_s = 1.0 / fps
        self.screen = self.console.is_terminal if screen is None else screen
        self.alerts = alerts or AlertConfig()
        self.latency_log = latency_log
        self.clock = clock
        self.state = self._new_state(session or "?")
        #: the states of sessions that ended while the monitor followed the athlete
        self.finished: list[MonitorState] = []
        self.last_frame: RenderableType | None = None
        self.frames = 0
        self.connected = asyncio.Event()
        self._dirty = asyncio.Event()
        self._outbox: asyncio.Queue[ControlCommand] = asyncio.Queue()
        self._stop: asyncio.Event | None = None
        self._last_tone = 0.0
        self._log_file: TextIO | None = None

    def _new_state(self, session: str) -> MonitorState:
        state = MonitorState(self.athlete, session,
                             impact_rise_pct=self.alerts.impact_rise_pct,
                             target_tolerance_pct=self.alerts.cadence_below_target_pct,
                             metronome=self._cues[0], impact_tone=self._cues[1])
        if self.alerts.target_cadence_spm is not None:
            state.target_cadence_spm = self.alerts.target_cadence_spm
        elif self.alerts.target_increase_pct is not None:
            state.target_increase_pct = self.alerts.target_increase_pct
        return state

    # -- the loop ----------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> MonitorState:
        self._stop = stop
        if self.latency_log is not None:
            self._log_file = self.latency_log.open("a", encoding="utf-8")
            if self._log_file.tell() == 0:
                self._log_file.write("device,step_utc_ns,received_utc_ns,render_utc_ns,"
                                     "latency_ms,monitor_ms\n")
        live = Live(console=self.console, auto_refresh=False, screen=self.screen,
                    transient=False, redirect_stdout=False, redirect_stderr=False,
                    vertical_overflow="crop")
        tasks: list[asyncio.Task[None]] = []
        with live, self._keyboard():
            tasks = [asyncio.create_task(self._render_loop(live, stop)),
                     asyncio.create_task(self._metronome(stop))]
            try:
                await self._mqtt(stop)
            finally:
                stop.set()
                self._dirty.set()
                for task in tasks:
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
        if self._log_file is not None:
            self._log_file.close()
        return self.state

    async def _mqtt(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self._connected(stop)
            except aiomqtt.MqttError as exc:
                self.connected.clear()
                self.state.notice = f"broker {self.settings.mqtt_url} unreachable ({exc})"
                self._dirty.set()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), RECONNECT_S)

    async def _connected(self, stop: asyncio.Event) -> None:
        async with mqtt.client(self.settings) as client:
            while not stop.is_set():
                await self._follow(client)
                if not self.follow:
                    return

    async def _follow(self, client: aiomqtt.Client) -> None:
        """Show one session until it ends (following: then wait for the next one)."""
        if self.session is None:
            if not self.state.ended:
                self.state.notice = f"waiting for a session of {self.athlete}"
            self._dirty.set()
            await client.subscribe(f"{ROOT}/{self.athlete}/+/+/metrics", qos=1)
            assert self._stop is not None
            waiting = asyncio.create_task(self._next_session(client))
            stopper = asyncio.create_task(self._stop.wait())
            await asyncio.wait({waiting, stopper}, return_when=asyncio.FIRST_COMPLETED)
            for pending in (waiting, stopper):
                pending.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pending
            await client.unsubscribe(f"{ROOT}/{self.athlete}/+/+/metrics")
            if self.session is None:
                return  # stopped while waiting
            if self.state.devices:
                self.finished.append(self.state)
            self.state = self._new_state(self.session or "?")
        for topic in topic_filters(self.athlete, self.state.session):
            await client.subscribe(topic, qos=1)
        try:
            self.connected.set()
            self.state.notice = ""
            publisher = asyncio.create_task(self._publish(client))
            assert self._stop is not None
            stopper = asyncio.create_task(self._stop.wait())
            consumer = asyncio.create_task(self._consume(client))
            try:
                done, _ = await asyncio.wait({publisher, consumer, stopper},
                                             return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    if task is not stopper and task.exception() is not None:
                        raise task.exception()  # type: ignore[misc]
            finally:
                for task in (publisher, consumer, stopper):
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
        finally:
            for topic in topic_filters(self.athlete, self.state.session):
                with contextlib.suppress(aiomqtt.MqttError):
                    await client.unsubscribe(topic)

    async def _next_session(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            session = str(message.topic).split("/")[3]
            if session not in self._ended_sessions:
                self.session = session
                return

    async def _consume(self, client: aiomqtt.Client) -> None:
        """The session's messages, until it ends normally (when following the athlete)."""
        async for message in client.messages:
            payload = message.payload
            body = payload if isinstance(payload, bytes | bytearray) else str(payload).encode()
            if apply(self.state, str(message.topic), bytes(body), self.clock()):
                self._dirty.set()
            if self.follow and self.state.ended:
                self._ended_sessions.add(self.state.session)
                self.state.notice = (f"session {self.state.session} ended; waiting for the "
                                     f"next session of {self.athlete} (q quits)")
                self.session = None
                self._dirty.set()
                return

    async def _publish(self, client: aiomqtt.Client) -> None:
        while True:
            command = await self._outbox.get()
            await client.publish(control_topic(self.athlete, self.state.session),
                                 command.to_json(), qos=1, retain=command.retain)

    async def _render_loop(self, live: Live, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._dirty.wait(), IDLE_REFRESH_S)
            self._dirty.clear()
            self.draw(live)
            await asyncio.sleep(self.min_interval_s)

    def draw(self, live: Live | None = None) -> RenderableType:
        """Render the current state (to ``live`` if given) and account the steps it shows."""
        frame = render(self.state, self.clock(), width=self.console.width)
        new_steps = list(self.state.unrendered)
        if live is not None:
            live.update(frame, refresh=True)
        at = self.clock()
        latencies = rendered(self.state, at)
        self.last_frame, self.frames = frame, self.frames + 1
        if self._log_file is not None and latencies:
            for device, step_ns, received_ns in new_steps:
                ms = (at - step_ns) / 1e6
                if 0 <= ms <= 10_000:
                    self._log_file.write(f"{device},{step_ns},{received_ns},{at},{ms:.1f},"
                                         f"{(at - received_ns) / 1e6:.1f}\n")
            self._log_file.flush()
        if new_steps and self.state.impact_tone:
            self._impact_tone(new_steps)
        return frame

    # -- keys --------------------------------------------------------------------------------

    def handle_key(self, key: str) -> ControlCommand | None:
        """One key press; returns the command it published (if any)."""
        st = self.state
        now = self.clock()
        command: ControlCommand | None = None
        if key.isdigit() or (key == "." and st.entry):
            st.entry += key
        elif key in ("\r", "\n") and st.entry:
            with contextlib.suppress(ValueError):
                value = float(st.entry)
                if 100 <= value <= 260:
                    command = ControlCommand.set_target(now, cadence_spm=value)
                else:
                    st.notice = f"{st.entry} spm is not a running cadence (100–260)"
            st.entry = ""
        elif key in ("\x7f", "\b"):
            st.entry = st.entry[:-1]
        elif key == "\x1b":
            st.entry = ""
        elif key == "b":
            command = ControlCommand.mark_baseline(now)
        elif key == "t":
            command = ControlCommand.set_target(
                now, increase_pct=self.alerts.target_increase_pct or DEFAULT_INCREASE_PCT)
        elif key in ("+", "=", "-"):
            current = st.target_spm(now) or st.session_metric("cadence_spm", now)
            if current is not None:
                command = ControlCommand.set_target(
                    now, cadence_spm=round(current) + (1 if key != "-" else -1))
        elif key == "x":
            command = ControlCommand.set_target(now)
        elif key == "m":
            st.metronome = not st.metronome
        elif key == "i":
            st.impact_tone = not st.impact_tone
        elif key in ("q", "\x03") and self._stop is not None:
            self._stop.set()
        if command is not None:
            self._outbox.put_nowait(command)
            if command.action == "set_target":  # show it at once; the retained copy confirms
                st.target_cadence_spm, st.target_increase_pct = (command.cadence_spm,
                                                                 command.increase_pct)
            st.notice = _describe(command)
            if command.increase_pct is not None and st.baseline_state() != "set":
                st.notice += (": it starts when the baseline is set (after the warm-up and the "
                              "baseline minute; b marks the baseline now)")
        self._dirty.set()
        return command

    @contextlib.contextmanager
    def _keyboard(self) -> Iterator[None]:
        stdin = sys.stdin
        if not self.keys or not stdin.isatty():
            yield
            return
        import termios
        import tty

        fd = stdin.fileno()
        saved = termios.tcgetattr(fd)
        loop = asyncio.get_running_loop()

        def readable() -> None:
            data = os.read(fd, 64).decode(errors="ignore")
            for key in data:
                self.handle_key(key)

        tty.setcbreak(fd)
        loop.add_reader(fd, readable)
        try:
            yield
        finally:
            loop.remove_reader(fd)
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)

    # -- audible cues (off by default) -------------------------------------------------------

    async def _metronome(self, stop: asyncio.Event) -> None:
        """A terminal bell on every step at the target cadence while ``m`` is on."""
        while not stop.is_set():
            target = self.state.target_spm(self.clock()) if self.state.metronome else None
            if target is None or target <= 0:
                await asyncio.sleep(0.2)
                continue
            self._bell()
            await asyncio.sleep(60.0 / target)

    def _impact_tone(self, steps: list[tuple[str, int, int]]) -> None:
        now = time.monotonic()
        if now - self._last_tone < TONE_MIN_INTERVAL_S:
            return
        for device, _, _ in steps:
            dev = self.state.devices.get(device)
            step = dev.last_step if dev else None
            base = dev.metric("impact_baseline_g") if dev else None
            limit = self.alerts.impact_limit_g
            if step is None:
                continue
            if (limit is not None and step.impact_g >= limit) or (
                    base is not None and step.impact_g >= base * (
                        1 + self.alerts.impact_rise_pct / 100)):
                self._last_tone = now
                self._bell()
                return

    def _bell(self) -> None:
        self.console.file.write("\a")
        self.console.file.flush()

    def latency(self) -> dict[str, float] | None:
        return latency_summary(self.state.latencies_ms)


def _describe(command: ControlCommand) -> str:
    if command.action == "mark_baseline":
        return "baseline: marked now (the processor takes the next minute)"
    if command.cadence_spm is not None:
        return f"target {command.cadence_spm:.0f} spm sent"
    if command.increase_pct is not None:
        return f"target baseline +{command.increase_pct:g} % sent"
    return "target removed"
