"""Gait analytics: step detection, cadence, impact, drift, symmetry and data quality.

:class:`~footfall.processing.session.SessionProcessor` is the entry point for live and offline
analysis alike; see docs/metrics.md for every metric's definition.
"""
