"""The host clock, injected: nothing that needs "now" reads the wall clock itself, so a test or
an offline replay can drive time by hand (:class:`ManualClock`)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol


class Clock(Protocol):
    """The host's time: monotonic for intervals, UTC for stamping."""

    def monotonic_ns(self) -> int: ...

    def utc_ns(self) -> int: ...


class SystemClock:
    """UTC anchored once to the system clock and advanced by the monotonic clock.

    So host time never jumps backwards when NTP steps the wall clock during a session.
    """

    def __init__(self) -> None:
        self._mono0 = time.monotonic_ns()
        self._utc0 = time.time_ns()

    def monotonic_ns(self) -> int:
        return time.monotonic_ns()

    def utc_ns(self) -> int:
        return self._utc0 + (time.monotonic_ns() - self._mono0)


@dataclass
class ManualClock:
    """A clock for tests and offline replays: it only moves when told to."""

    now_ns: int = 1_795_000_000 * 1_000_000_000  # 2026-11-18T...Z

    def monotonic_ns(self) -> int:
        return self.now_ns

    def utc_ns(self) -> int:
        return self.now_ns

    def advance(self, seconds: float) -> None:
        self.now_ns += round(seconds * 1e9)
