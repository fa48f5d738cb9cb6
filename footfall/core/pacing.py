"""One pacer for everything that plays recorded or synthetic time back: ``speed`` × real
time, or as fast as the receiver takes it.

The convention is the same everywhere: ``speed`` is a positive time factor (1 = as recorded,
20 = twenty times faster), and ``None`` means as fast as possible. On the command line that is
``--speed X``, and ``--speed 0`` (or ``--fast``) for as fast as possible.
"""

from __future__ import annotations

import asyncio
import time

from footfall.core.errors import SettingError


def check_speed(speed: float | None) -> float | None:
    """``speed`` as the pacer takes it; 0 from a command line means as fast as possible."""
    if speed is None or speed == 0:
        return None
    if not speed > 0:
        raise SettingError(f"speed must be a positive time factor (or 0 for as fast as "
                           f"possible), got {speed}")
    return float(speed)


class Pacer:
    """Waits until the moment a piece of session time is due.

    ``start()`` anchors session time ``t0_s`` to now; ``await wait_until(t_s)`` sleeps until
    ``t_s`` is due at ``speed`` (never for ``speed=None``) and returns how far behind it is.
    """

    def __init__(self, speed: float | None) -> None:
        self.speed = check_speed(speed)
        self._wall0: float | None = None
        self._t0_s = 0.0

    @property
    def started(self) -> bool:
        return self._wall0 is not None

    def start(self, t0_s: float = 0.0) -> None:
        self._wall0 = time.monotonic()
        self._t0_s = t0_s

    def delay_s(self, t_s: float) -> float:
        """Seconds until ``t_s`` is due (≤ 0: due already); 0 when as fast as possible."""
        if self.speed is None:
            return 0.0
        if self._wall0 is None:
            self.start(t_s)
            return 0.0
        return self._wall0 + (t_s - self._t0_s) / self.speed - time.monotonic()

    async def wait_until(self, t_s: float) -> None:
        delay = self.delay_s(t_s)
        if delay > 0:
            await asyncio.sleep(delay)
