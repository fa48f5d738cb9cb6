"""The spool's disk full in the middle of a batch: the batch stops at the failing message
(``SessionRouter.handle_many``: what was not taken comes again, not acknowledged), so when the
broker delivers the batch again only that message's lines (and those of the frames waiting
with it) are missing, never the batch's. A write of the batch's lines at its end lost them
all: every frame of the redelivery was by then a duplicate (found in review)."""

from __future__ import annotations

from pathlib import Path

import pytest

from footfall.config.settings import load_settings
from footfall.service.processor import ProcessorService
from footfall.storage.influx import WriterStats
from tests.processing.test_batches import MESSAGES

HEAD, BATCH, TAIL = MESSAGES[:3000], MESSAGES[3000:4000], MESSAGES[4000:4600]


class Writer:
    """The InfluxDB writer's ``add``: into a list, or, while ``full``, a full disk."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.full = False
        self.stats, self.auth_error = WriterStats(), None

    def add(self, lines: list[str]) -> None:
        if self.full:
            raise OSError(28, "No space left on device")
        self.lines += lines

    async def flush(self, timeout_s: float | None = None) -> bool:
        return True


def stored(state_dir: Path, *, disk_full_once: bool) -> tuple[list[str], int]:
    writer = Writer()
    service = ProcessorService(load_settings(state_dir=state_dir), writer=writer)
    service.handle_many(HEAD)
    if disk_full_once:
        writer.full = True
        with pytest.raises(OSError):
            service.handle_many(BATCH)
        writer.full = False
    before = len(writer.lines)
    service.handle_many(BATCH)  # the broker's redelivery (or the first delivery)
    of_batch = len(writer.lines) - before
    service.handle_many(TAIL)
    return writer.lines, of_batch


def test_a_full_disk_costs_the_failing_message_not_the_batch(tmp_path: Path) -> None:
    reference, of_batch = stored(tmp_path / "reference", disk_full_once=False)
    got, _ = stored(tmp_path / "full", disk_full_once=True)
    missing = set(reference) - set(got)
    assert of_batch > 50  # the batch has lines to lose
    assert len(missing) < of_batch / 2, f"{len(missing)} of the batch's {of_batch} lines lost"
