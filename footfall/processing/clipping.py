"""Clipping: when a strike's peak reached the sensor's range, its impact is only a lower bound.

Three rules, each on every axis of the strike's peak region (docs/metrics.md, "Clipping"):

- ``full_scale``: a sample within :data:`RAIL_TOLERANCE` of the frame's full scale — the
  device's rail, as declared with every frame (a CSV's range is the one its reader took);
- ``rail``: a level the peaks pile up against, whatever range was declared: once
  :data:`RAIL_HITS` strikes have stopped at exactly the same most extreme value (of any axis,
  per sign: one sensor has one range; ≥ :data:`MIN_FULL_SCALE_G`), that value is the sensor's
  real rail, and a strike within :data:`RAIL_TOLERANCE` of it on any axis clipped. A true
  peak height varies from strike to strike; a converter's last code does not;
- ``flat``: :data:`FLAT_SAMPLES` equal samples in a row at the region's extreme of an axis
  (≥ :data:`MIN_FULL_SCALE_G`): a flat top, what clipping looks like at ≥ 500 Hz.

All three look only at the strike's own samples and at strikes before it, in order, so the
verdict is the same however the stream is cut into frames.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, TypeAlias

import numpy as np
import numpy.typing as npt

from footfall.wire.events import ClipRule
from footfall.wire.frame import INT16_FULL_SCALE

#: samples × axes in g (the detector keeps them as float32)
FloatArray: TypeAlias = npt.NDArray[np.floating[Any]]
BoolArray: TypeAlias = npt.NDArray[np.bool_]

#: the last two steps of a 12-bit converter (each 1/2048 of the range): a sample this close to
#: the rail sat on it, or passed it between two samples
RAIL_TOLERANCE: Final = 0.001
#: the smallest full-scale range accelerometers have (±2 g): nothing below it is a rail (the
#: sacral data set's vertical axis is floored at 0 g by its authors, which is no clipping)
MIN_FULL_SCALE_G: Final = 2.0
#: strikes stopping at exactly the same extreme value before it counts as a rail
RAIL_HITS: Final = 3
#: equal samples in a row at the extreme that make a flat top
FLAT_SAMPLES: Final = 3


#: int16 counts within ``RAIL_TOLERANCE`` of full scale: |count| ≥ this
RAIL_COUNTS: Final = int(np.ceil((1.0 - RAIL_TOLERANCE) * INT16_FULL_SCALE))


def full_scale_mask(counts: npt.NDArray[np.int16]) -> BoolArray:
    """Per sample: any axis within ``RAIL_TOLERANCE`` of the int16 full scale."""
    if counts.size == 0 or (int(counts.max()) < RAIL_COUNTS
                            and int(counts.min()) > -RAIL_COUNTS):
        return np.zeros(counts.shape[:-1], dtype=np.bool_)  # the usual frame: nowhere near
    return np.asarray(((counts >= RAIL_COUNTS) | (counts <= -RAIL_COUNTS)).any(axis=-1),
                      dtype=np.bool_)


@dataclass(slots=True)
class RailState:
    """Per stream: per sign, the most extreme value any axis of a strike reached so far and how
    many strikes reached exactly it; ``rail_g`` once one of them is a rail."""

    levels: dict[int, tuple[float, int]] = field(default_factory=dict)
    rail_g: float | None = None

    def copy(self) -> RailState:
        return RailState(dict(self.levels), self.rail_g)


def _extremes(axes_g: FloatArray) -> list[tuple[int, float]]:
    """(sign, magnitude): the region's largest value and its most negative one (any axis)."""
    # (the reductions called directly: ndarray.max goes through a Python-level wrapper)
    return [(1, float(np.maximum.reduce(axes_g, axis=None))),
            (-1, -float(np.minimum.reduce(axes_g, axis=None)))]


def judge(axes_g: FloatArray, at_full_scale: BoolArray, rails: RailState) -> ClipRule | None:
    """Which rule (if any) finds the peak region ``axes_g`` (samples × axes, g) clipped;
    ``at_full_scale`` is :func:`full_scale_mask` of the same samples. ``rails`` is read, not
    changed (:func:`remember` adds an accepted strike)."""
    if np.logical_or.reduce(at_full_scale, axis=None):
        return "full_scale"
    extremes = _extremes(axes_g)
    top = max(m for _, m in extremes)  # a clipped axis sits at the rail: the region's top
    rail = rails.rail_g
    for key, magnitude in extremes:
        level, hits = rails.levels.get(key, (0.0, 0))
        if magnitude == level and hits + 1 >= RAIL_HITS and magnitude >= MIN_FULL_SCALE_G:
            rail = max(rail or 0.0, magnitude)
    if rail is not None and top >= (1.0 - RAIL_TOLERANCE) * rail:
        return "rail"
    if top >= MIN_FULL_SCALE_G:
        at_top = np.abs(axes_g) == top
        for axis in (np.add.reduce(at_top, axis=0) >= FLAT_SAMPLES).nonzero()[0].tolist():
            if _longest_run(at_top[:, axis]) >= FLAT_SAMPLES:
                return "flat"
    return None


def remember(axes_g: FloatArray, rails: RailState) -> None:
    """An accepted strike's peak region: update the extremes and the rail (a value beyond a
    "rail" shows it was none)."""
    if rails.rail_g is not None and float(np.maximum.reduce(np.abs(axes_g), axis=None)) \
            > (1.0 + RAIL_TOLERANCE) * rails.rail_g:
        rails.rail_g = None
    for key, magnitude in _extremes(axes_g):
        level, hits = rails.levels.get(key, (0.0, 0))
        if magnitude > level:
            rails.levels[key] = (magnitude, 1)
        elif magnitude == level:
            rails.levels[key] = (level, hits + 1)
            if hits + 1 >= RAIL_HITS and level >= MIN_FULL_SCALE_G:
                rails.rail_g = max(rails.rail_g or 0.0, level)


def _longest_run(mask: BoolArray) -> int:
    """The longest run of True in ``mask``."""
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    starts, ends = (edges == 1).nonzero()[0], (edges == -1).nonzero()[0]
    return int((ends - starts).max()) if starts.size else 0
