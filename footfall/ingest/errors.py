"""Typed errors of the ingest layer."""

from __future__ import annotations

from footfall.core.errors import FootfallError


class DeviceError(FootfallError):
    """A device refused or did not answer a command (e.g. a PMD start with a non-zero status)."""

    def __init__(self, device: str, reason: str) -> None:
        super().__init__(f"{device}: {reason}")
        self.device = device
        self.reason = reason
