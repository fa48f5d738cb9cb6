"""Where a sensor is worn, decided once for every layer.

- **Leg** placements (``tibia``, ``foot``) see their own leg's strikes (one per stride) and
  take a side: ``left``, ``right`` (or ``none`` when unknown: no symmetry then).
- **Trunk** placements (``sacrum``, ``chest``) see every step; their side is always ``none``.
- A **wrist** sensor is refused everywhere: arm swing is not foot strike, and a wrist sees no
  tibial impact (docs/metrics.md). A watch's own step count arrives as its FIT file or foot-pod
  cadence instead.
"""

from __future__ import annotations

from enum import StrEnum

from footfall.core.errors import SettingError


class Placement(StrEnum):
    TIBIA = "tibia"
    FOOT = "foot"
    SACRUM = "sacrum"
    CHEST = "chest"

    @property
    def is_leg(self) -> bool:
        return self in (Placement.TIBIA, Placement.FOOT)


class Side(StrEnum):
    LEFT = "left"
    RIGHT = "right"
    NONE = "none"

    @property
    def other(self) -> Side:
        return {Side.LEFT: Side.RIGHT, Side.RIGHT: Side.LEFT}.get(self, Side.NONE)


PLACEMENTS: tuple[str, ...] = tuple(p.value for p in Placement)
SIDES: tuple[str, ...] = tuple(s.value for s in Side)
WRIST_REFUSAL = ("a wrist sensor cannot be analysed: arm swing is not foot strike and the wrist "
                 "sees no tibial impact; wear it on the tibia (impact), foot or sacrum")


def worn(placement: str, side: str) -> tuple[Placement, Side]:
    """``placement`` and ``side`` checked together; raises :class:`SettingError` saying what
    is accepted."""
    if placement == "wrist":
        raise SettingError(WRIST_REFUSAL)
    try:
        where = Placement(placement)
    except ValueError:
        raise SettingError(f"placement must be one of {', '.join(PLACEMENTS)} "
                           f"(got {placement!r})") from None
    try:
        which = Side(side)
    except ValueError:
        raise SettingError(f"side must be one of {', '.join(SIDES)} (got {side!r})") from None
    if not where.is_leg and which is not Side.NONE:
        raise SettingError(f"a {where} sensor sees both legs: its side is 'none', not {side!r}")
    return where, which
