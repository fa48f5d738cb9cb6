"""Typed errors of the ingest layer."""

from __future__ import annotations


class ParseError(ValueError):
    """A notification is not a valid frame of its profile; ``reason`` says why.

    Parsers raise only this (never ``IndexError``/``struct.error``), so the gateway can count,
    log and set aside a bad packet without ever crashing on one.
    """

    def __init__(self, profile: str, reason: str) -> None:
        super().__init__(f"{profile}: {reason}")
        self.profile = profile
        self.reason = reason


class DeviceError(Exception):
    """A device refused or did not answer a command (e.g. a PMD start with a non-zero status)."""

    def __init__(self, device: str, reason: str) -> None:
        super().__init__(f"{device}: {reason}")
        self.device = device
        self.reason = reason


class SettingError(ValueError):
    """A device setting (rate, range, cadence mode, ...) is not one the device supports."""
