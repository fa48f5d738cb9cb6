"""The processor's journal: every accepted input message of each open session, on disk.

A message is acknowledged to the broker only after it is analysed and journalled, so a
processor killed at any moment loses nothing: what it had acknowledged is here, what it had
not is redelivered by the broker (and dropped as a repeat where the journal already had it:
frames by ``seq``, foot-pod samples by time). At start the journal is replayed through the
same router before the broker's backlog, so every session goes on exactly as if the processor
had never stopped — same detector state, same baseline, same sides — and the steps written
again are the same points (InfluxDB keeps one per series and time).

One append-only log for all sessions (:class:`footfall.ingest.spool.Spool`, the gateway's
outbox format), ``<state_dir>/journal/*.spool``, in the order the messages came: a batch is
one write, whatever the number of sessions in it (one write per session per batch cost the
processor 12 % at 500 sensors: docs/benchmarks.md). A session that finishes gets an end
record (topic ``$journal/ended/<athlete>/<session>``), and the oldest segment files are
deleted while every session with records in them has ended, so the disk holds the log from
the oldest open session's first message on. A session whose journalled bytes outgrow
``limits.journal_max_mb`` is no longer journalled (it is ended here, and a restart would start
it afresh), with a log line. Journals in the layout before this one (a log per session,
``<state_dir>/journal/<athlete>/<session>/``) are replayed and moved into the log at start.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from footfall.ingest.spool import SEGMENT_BYTES, Spool, SpoolError

log = logging.getLogger(__name__)

SessionKey = tuple[str, str]
#: topics whose UTF-8 is kept (a session's devices send on a few)
TOPICS_CACHED: Final = 65536
#: the journal's own records (not footfall topics, which start with ``footfall/``): a session's
#: end, and an older per-session journal moved into the log
OWN: Final = "$journal/"
ENDED: Final = OWN + "ended/"
MIGRATED: Final = OWN + "migrated/"


def _key(topic: str) -> SessionKey:
    parts = topic.split("/")
    return (parts[2], parts[3]) if len(parts) > 3 else ("", "")


@dataclass(slots=True)
class _Open:
    """A session with records in the log since it (last) began."""

    size: int = 0  # its bytes in the log and waiting
    segments: set[int] = field(default_factory=set)  # where its records are


class Journal:
    def __init__(self, folder: Path, *, max_bytes: int,
                 segment_bytes: int = SEGMENT_BYTES) -> None:
        self.folder = folder
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes
        self._log: Spool | None = None  # opened at the first write or replay
        self._open: dict[SessionKey, _Open] = {}
        self._dropped: set[SessionKey] = set()  # over the cap: not journalled any more
        #: appended since the last flush: (topic as UTF-8, payload), written together by it
        self._unflushed: list[tuple[bytes, bytes]] = []
        self._in_batch: set[SessionKey] = set()  # sessions among them
        self._topics: dict[str, bytes] = {}  # each topic's UTF-8, made once
        #: per segment: the sessions with records in it that have not ended since
        self._segments: dict[int, set[SessionKey]] = {}
        self._migrated: set[SessionKey] = set()  # older journals already in the log

    def _spool(self) -> Spool:
        if self._log is None:
            self._log = Spool(self.folder, segment_bytes=self.segment_bytes,
                              count_pending=False)
        return self._log

    def flush(self) -> None:
        """Everything appended so far to the operating system, in one write (a batch is
        acknowledged after this)."""
        if not self._unflushed:
            return
        spool = self._spool()
        segment = spool.segment
        spool.append_many(self._unflushed)
        self._unflushed = []
        live = self._segments.setdefault(segment, set())
        for key in self._in_batch:
            entry = self._open.get(key)
            if entry is not None:
                entry.segments.add(segment)
                live.add(key)
        self._in_batch.clear()

    def append(self, key: SessionKey, topic: str, payload: bytes) -> None:
        """Journal one message; it is on disk (in the OS's hands) after :meth:`flush`, which
        must come before the message is acknowledged."""
        if key in self._dropped:
            return
        entry = self._open.get(key)
        if entry is None:
            entry = self._open[key] = _Open()
        raw = self._topics.get(topic)
        if raw is None:
            if len(self._topics) >= TOPICS_CACHED:
                self._topics.clear()
            raw = self._topics[topic] = topic.encode()
        self._unflushed.append((raw, payload))
        self._in_batch.add(key)
        entry.size += len(raw) + len(payload) + 12
        if entry.size > self.max_bytes:
            log.warning("session %s/%s: its journal passed %.0f MB (limits.journal_max_mb): "
                        "no longer journalled; a processor restart would start it afresh",
                        *key, self.max_bytes / 1e6)
            self.remove(key)
            self._dropped.add(key)

    def remove(self, key: SessionKey) -> None:
        """The session finished: its records are not needed any more (an end record says so;
        the segments only it still held are deleted)."""
        self._dropped.discard(key)  # a session of that name later is journalled again
        entry = self._open.pop(key, None)
        if entry is None:
            return
        self._unflushed.append(((ENDED + "/".join(key)).encode(), b""))
        self.flush()
        spool = self._spool()
        if not self._open:  # every session ended: nothing in the log is needed any more
            spool.close()
            self._log = None
            self._segments.clear()
            # oldest first: killed halfway, what is left still has the end records it needs
            for path in sorted(self.folder.glob("*.spool")):
                path.unlink(missing_ok=True)
            return
        for segment in entry.segments:
            self._segments.get(segment, set()).discard(key)
        self._drop_ended(spool)

    def _drop_ended(self, spool: Spool) -> None:
        """Delete the oldest segments while no open session has records in them (only from
        the oldest on: a segment with an end record stays while records it ends do)."""
        for segment in spool.segments():
            if segment == spool.segment or self._segments.get(segment):
                return
            self._segments.pop(segment, None)
            spool.drop_segment(segment)

    def keep_only(self, open_sessions: set[SessionKey]) -> None:
        """End the journals of sessions that ended some other way (idle, refused)."""
        for key in [k for k in self._open if k not in open_sessions]:
            self.remove(key)

    def replay(self) -> Iterator[tuple[str, bytes]]:
        """The journalled messages of every session that had not ended when the processor
        last stopped, in the order they came (then those of older per-session journals:
        they are moved into the log as they are read)."""
        if any(self.folder.glob("*.spool")):
            yield from self._scan()
        yield from self._migrate()

    def _scan(self) -> Iterator[tuple[str, bytes]]:
        spool = self._spool()
        ended: dict[SessionKey, int] = {}  # per session: the position of its last end
        try:
            for at, (_, record) in enumerate(spool.scan()):
                if record.topic.startswith(ENDED):
                    athlete, _, session = record.topic[len(ENDED):].partition("/")
                    ended[(athlete, session)] = at
                elif record.topic.startswith(MIGRATED):
                    athlete, _, session = record.topic[len(MIGRATED):].partition("/")
                    self._migrated.add((athlete, session))
        except SpoolError as exc:  # a damaged disk: what comes before it, in a new log
            yield from self._salvage(spool, exc)
            return
        for at, (segment, record) in enumerate(spool.scan()):
            if record.topic.startswith(OWN):
                continue
            key = _key(record.topic)
            if ended.get(key, 0) > at:
                continue  # a session that finished later
            entry = self._open.get(key)
            if entry is None:
                entry = self._open[key] = _Open()
            entry.size += len(record.topic) + len(record.payload) + 12
            entry.segments.add(segment)
            self._segments.setdefault(segment, set()).add(key)
            yield record.topic, record.payload
        self._drop_ended(spool)

    def _salvage(self, spool: Spool, error: SpoolError) -> Iterator[tuple[str, bytes]]:
        """The log has a damaged record: its segments go to ``unreadable-<UTC>/`` (for a
        person to look at), and the messages of open sessions in every readable segment are
        replayed and journalled again in a new log (a damaged segment is a gap in them)."""
        spool.close()
        self._log = None
        aside = self.folder / f"unreadable-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}"
        aside.mkdir(parents=True, exist_ok=True)
        for path in self.folder.glob("*.spool"):
            path.rename(aside / path.name)
        log.error("journal %s: %s; replaying the segments that can be read (the files are "
                  "kept in %s)", self.folder, error, aside)
        old = Spool(aside, count_pending=False)
        records: list[tuple[str, bytes]] = []
        try:
            for segment in old.segments():
                try:
                    records += [(r.topic, r.payload) for r in old.segment_records(segment)]
                except SpoolError as exc:  # that segment is lost: a gap in its sessions
                    log.error("journal %s: segment %d unreadable (%s): not replayed", aside,
                              segment, exc)
        finally:
            old.close()
        ended = {_key(t.replace(ENDED, "footfall/v1/", 1)): at for at, (t, _) in
                 enumerate(records) if t.startswith(ENDED)}
        for at, (topic, payload) in enumerate(records):
            key = _key(topic)
            if topic.startswith(OWN) or ended.get(key, -1) > at:
                continue
            self.append(key, topic, payload)
            yield topic, payload
        self.flush()

    def _migrate(self) -> Iterator[tuple[str, bytes]]:
        """Per-session journals of the layout before the shared log: replayed, appended to the
        log (flushed), then deleted."""
        if not self.folder.is_dir():
            return
        for folder in sorted(d for d in self.folder.glob("*/*") if d.is_dir()):
            try:
                old = Spool(folder)
            except SpoolError as exc:
                log.error("journal %s unreadable, not replayed: %s", folder, exc)
                continue
            key = (folder.parent.name, folder.name)
            if key in self._migrated:  # moved already (the last start stopped before this)
                old.close()
                shutil.rmtree(folder, ignore_errors=True)
                continue
            try:
                for _, record in old.scan():
                    self.append(key, record.topic, record.payload)
                    yield record.topic, record.payload
            except SpoolError as exc:  # what came before the damage is replayed
                log.error("journal %s: %s: not replayed past it", folder, exc)
            finally:
                old.close()
            self._unflushed.append(((MIGRATED + "/".join(key)).encode(), b""))
            self.flush()
            shutil.rmtree(folder, ignore_errors=True)
            with contextlib.suppress(OSError):
                folder.parent.rmdir()

    def close(self) -> None:
        self.flush()
        if self._log is not None:
            self._log.close()
            self._log = None
