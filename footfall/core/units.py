"""Time and speed units. Times are integer nanoseconds since the Unix epoch (UTC) unless a
name says otherwise; speeds are m/s inside footfall, km/h where people read or type them."""

from __future__ import annotations

#: nanoseconds per second
NS = 1_000_000_000
#: m/s per km/h
MPS_PER_KMH = 1 / 3.6


def kmh_to_mps(speed_kmh: float) -> float:
    return speed_kmh * MPS_PER_KMH


def mps_to_kmh(speed_mps: float) -> float:
    return speed_mps / MPS_PER_KMH
