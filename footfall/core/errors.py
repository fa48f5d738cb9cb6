"""The one exception root of footfall, and the errors shared across layers.

Every error footfall raises on purpose derives from :class:`FootfallError`, so the command line
can print its message instead of a traceback. Input that came from outside (a device, the
broker, a file) and is malformed is an :class:`InputError`: its ``reason`` is what the
quarantine records.
"""

from __future__ import annotations


class FootfallError(Exception):
    """Root of every error footfall raises on purpose; the message says what to do."""


class InputError(FootfallError, ValueError):
    """Malformed input from a device, the network or a file; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CommandError(FootfallError):
    """A command failed in a way the user can fix; the message says how."""


class SettingError(FootfallError, ValueError):
    """A setting (a device's rate or range, a cadence mode, a flag) is not one that is
    supported; the message names what is."""
