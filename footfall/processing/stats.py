"""Small statistics on the few values a stream keeps (a window of strikes or seconds): the
same numbers as NumPy's, without its per-call cost (~10 µs for a median of 20 values)."""

from __future__ import annotations

from collections.abc import Iterable


def median(values: Iterable[float]) -> float | None:
    """NumPy's median — the middle value, or the mean of the middle two — or None if empty."""
    ordered = sorted(values)
    if not ordered:
        return None
    half = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[half])
    return float((ordered[half - 1] + ordered[half]) / 2)
