"""The one error a device parser raises."""

from __future__ import annotations

from footfall.core.errors import InputError


class ParseError(InputError):
    """A notification is not a valid frame of its profile; ``reason`` says why.

    Parsers raise only this (never ``IndexError``/``struct.error``), so the gateway can count,
    log and set aside a bad packet without ever crashing on one.
    """

    def __init__(self, profile: str, reason: str) -> None:
        super().__init__(reason)
        self.args = (f"{profile}: {reason}",)
        self.profile = profile
