"""The processor's journal: every accepted input message of each open session, on disk.

A message is acknowledged to the broker only after it is analysed and journalled, so a
processor killed at any moment loses nothing: what it had acknowledged is here, what it had
not is redelivered by the broker (and dropped as a repeat where the journal already had it:
frames by ``seq``, foot-pod samples by time). At start the journal of every open session is
replayed through the same router before the broker's backlog, so the session goes on exactly
as if the processor had never stopped — same detector state, same baseline, same sides — and
the steps written again are the same points (InfluxDB keeps one per series and time).

One append-only log per session (:class:`footfall.ingest.spool.Spool`, the gateway's outbox
format), ``<state_dir>/journal/<athlete>/<session>/``, deleted when the session finishes. A
session whose journal outgrows ``limits.journal_max_mb`` is no longer journalled (its journal
is deleted, and a restart would start it afresh), with a log line.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from footfall.ingest.spool import Spool, SpoolError

log = logging.getLogger(__name__)

SessionKey = tuple[str, str]
#: topics whose UTF-8 is kept (a session's devices send on a few)
TOPICS_CACHED = 65536


@dataclass(slots=True)
class _Log:
    spool: Spool
    size: int  # bytes on disk and waiting
    #: appended since the last flush: (topic as UTF-8, payload), written together by it
    unflushed: list[tuple[bytes, bytes]] = field(default_factory=list)


class Journal:
    def __init__(self, folder: Path, *, max_bytes: int) -> None:
        self.folder = folder
        self.max_bytes = max_bytes
        self._logs: dict[SessionKey, _Log] = {}
        self._dropped: set[SessionKey] = set()  # over the cap: not journalled any more
        self._unflushed: set[SessionKey] = set()
        self._topics: dict[str, bytes] = {}  # each topic's UTF-8, made once

    def flush(self) -> None:
        """Everything appended so far to the operating system: one write per session with
        new messages, however many came (a batch is acknowledged after this)."""
        for key in self._unflushed:
            entry = self._logs.get(key)
            if entry is not None and entry.unflushed:
                entry.spool.append_many(entry.unflushed)
                entry.unflushed = []
        self._unflushed.clear()

    def _dir(self, key: SessionKey) -> Path:
        return self.folder / key[0] / key[1]

    def append(self, key: SessionKey, topic: str, payload: bytes) -> None:
        """Journal one message; it is on disk (in the OS's hands) after :meth:`flush`, which
        must come before the message is acknowledged."""
        if key in self._dropped:
            return
        entry = self._logs.get(key)
        if entry is None:
            entry = self._logs[key] = _Log(Spool(self._dir(key)), _size(self._dir(key)))
        raw = self._topics.get(topic)
        if raw is None:
            if len(self._topics) >= TOPICS_CACHED:
                self._topics.clear()
            raw = self._topics[topic] = topic.encode()
        entry.unflushed.append((raw, payload))
        self._unflushed.add(key)
        entry.size += len(raw) + len(payload) + 12
        if entry.size > self.max_bytes:
            log.warning("session %s/%s: its journal passed %.0f MB (limits.journal_max_mb): "
                        "no longer journalled; a processor restart would start it afresh",
                        *key, self.max_bytes / 1e6)
            self._dropped.add(key)
            self.remove(key)

    def remove(self, key: SessionKey) -> None:
        """The session finished: its journal is not needed any more."""
        entry = self._logs.pop(key, None)
        if entry is not None:
            entry.spool.close()
        shutil.rmtree(self._dir(key), ignore_errors=True)
        with contextlib.suppress(OSError):
            self._dir(key).parent.rmdir()  # the athlete's folder, once empty

    def keep_only(self, open_sessions: set[SessionKey]) -> None:
        """Drop the journals of sessions that ended some other way (idle, refused)."""
        for key in [k for k in self._logs if k not in open_sessions]:
            self.remove(key)

    def sessions(self) -> list[SessionKey]:
        """Sessions with a journal on disk (from an earlier run)."""
        if not self.folder.is_dir():
            return []
        return sorted((d.parent.name, d.name) for d in self.folder.glob("*/*") if d.is_dir())

    def replay(self, key: SessionKey) -> Iterator[tuple[str, bytes]]:
        """The session's journalled messages, in order."""
        try:
            spool = Spool(self._dir(key))
        except SpoolError as exc:
            log.error("journal of %s/%s unreadable, not replayed: %s", *key, exc)
            return
        try:
            while batch := spool.read(1000)[0]:
                for record in batch:
                    yield record.topic, record.payload
        finally:
            spool.close()

    def close(self) -> None:
        self.flush()
        for entry in self._logs.values():
            entry.spool.close()
        self._logs.clear()


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.glob("*.spool")) if folder.is_dir() else 0
