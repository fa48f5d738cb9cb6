"""A small append-only on-disk spool: outgoing MQTT messages wait here until the broker acks them.

Every message is appended (and flushed to the OS) before it is published, so a broker outage,
or a restart of the gateway itself, loses nothing: publishing resumes in order from the last
acknowledged record. Delivery is at-least-once (a record whose PUBACK was lost is sent again);
consumers drop repeats by the frame ``seq``.

Layout: ``<dir>/<segment:08d>.spool`` files of records
``[u32 length][u32 crc32][u8 qos][u8 retain][u16 topic length][topic utf-8][payload]`` (length
and crc cover everything after the crc), and ``<dir>/ack`` = ``"<segment> <offset>"``, the
position after the last acknowledged record, replaced atomically. A torn record at the tail
(the process died mid-write) is cut off, with a warning. Fully acknowledged segments are
deleted. Writes are not fsync'ed: a process crash loses nothing, a power cut may lose the
last seconds.
"""

from __future__ import annotations

import asyncio
import logging
import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Final

from footfall.core.errors import FootfallError

log = logging.getLogger(__name__)

_FRAME: Final = struct.Struct("<II")
_META: Final = struct.Struct("<BBH")
#: topics whose record start (meta and topic) and its crc append_many keeps
HEADS_CACHED: Final = 4096
SEGMENT_BYTES: Final = 4 * 1024 * 1024
_READ_CHUNK: Final = 64 * 1024


class SpoolError(FootfallError):
    """The spool directory is unusable (not writable, or its ack file is corrupt)."""


@dataclass(frozen=True, slots=True)
class Record:
    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = False


Position = tuple[int, int]  # (segment, byte offset)


class Spool:
    """Append-only message log with a persistent read/ack position; single process, one loop."""

    def __init__(self, directory: Path, *, segment_bytes: int = SEGMENT_BYTES,
                 count_pending: bool = True) -> None:
        """``count_pending`` False: a log read whole by :meth:`scan` (the processor's journal),
        which need not be read through at start."""
        self.directory = directory
        self.segment_bytes = segment_bytes
        self._heads: dict[bytes, tuple[bytes, int, int]] = {}  # per topic: append_many's
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SpoolError(f"cannot create spool directory {directory}: {exc}") from exc
        self._acked: Position = self._read_ack()
        segments = self._segments()
        self._write_segment = max([*segments, self._acked[0]])
        self._writer: BinaryIO = self._open_writer()
        self._cursor: Position = self._acked
        self._pending = self._count_from(self._acked) if count_pending else 0
        self._wakeup = asyncio.Event()
        self.appended = 0
        if self._pending:
            log.info("spool %s holds %d unpublished message(s) from an earlier run",
                     directory, self._pending)

    # ---------------------------------------------------------------- files
    def _path(self, segment: int) -> Path:
        return self.directory / f"{segment:08d}.spool"

    def _segments(self) -> list[int]:
        return sorted(int(p.stem) for p in self.directory.glob("*.spool") if p.stem.isdigit())

    def _read_ack(self) -> Position:
        path = self.directory / "ack"
        if not path.exists():
            first = self._segments()
            return (first[0] if first else 0, 0)
        try:
            seg, off = path.read_text().split()
            return int(seg), int(off)
        except ValueError as exc:
            raise SpoolError(f"corrupt spool ack file {path}: delete it to resend "
                             "everything in the spool") from exc

    def _write_ack(self) -> None:
        tmp = self.directory / "ack.tmp"
        tmp.write_text(f"{self._acked[0]} {self._acked[1]}")
        os.replace(tmp, self.directory / "ack")

    def _open_writer(self) -> BinaryIO:
        path = self._path(self._write_segment)
        good = self._scan_valid_end(path)
        if path.exists() and path.stat().st_size > good:
            log.warning("spool %s: cutting %d bytes of a torn record at the end", path,
                        path.stat().st_size - good)
            with path.open("r+b") as fh:
                fh.truncate(good)
        return path.open("ab")

    @staticmethod
    def _scan_valid_end(path: Path) -> int:
        if not path.exists():
            return 0
        data = path.read_bytes()
        pos = 0
        while pos + _FRAME.size <= len(data):
            length, crc = _FRAME.unpack_from(data, pos)
            body = data[pos + _FRAME.size: pos + _FRAME.size + length]
            if len(body) != length or zlib.crc32(body) != crc:
                break
            pos += _FRAME.size + length
        return pos

    def _count_from(self, start: Position) -> int:
        count = 0
        pos = start
        while True:
            found = self._read(pos, 10_000)
            if not found:
                return count
            count += len(found)
            pos = found[-1][1]

    # ---------------------------------------------------------------- API
    @property
    def pending(self) -> int:
        """Messages appended but not yet acknowledged."""
        return self._pending

    def append(self, record: Record, *, flush: bool = True) -> None:
        """Append ``record``; with ``flush=False`` it may stay in this process's buffer until
        :meth:`flush` (or the next flushing append): one write for many records."""
        topic = record.topic.encode()
        body = _META.pack(record.qos, int(record.retain), len(topic)) + topic + record.payload
        self._writer.write(_FRAME.pack(len(body), zlib.crc32(body)) + body)
        if flush:
            self._writer.flush()
        self._pending += 1
        self.appended += 1
        if self._writer.tell() >= self.segment_bytes:
            self._writer.close()
            self._write_segment += 1
            self._writer = self._path(self._write_segment).open("ab")
        self._wakeup.set()

    def append_many(self, messages: list[tuple[bytes, bytes]]) -> None:
        """Append QoS 1, not retained records (topic as UTF-8 bytes, payload) in one write,
        flushed to the OS: the processor's journal, a batch of a session's messages a call
        (:meth:`append` costs ~1.5 µs more per record)."""
        if not messages:
            return
        frame, crc, heads = _FRAME.pack, zlib.crc32, self._heads
        parts: list[bytes] = []
        for topic, payload in messages:
            head = heads.get(topic)
            if head is None:  # a record's qos, retain and topic: the same for a topic's records
                if len(heads) >= HEADS_CACHED:
                    heads.clear()
                start = _META.pack(1, 0, len(topic)) + topic
                head = heads[topic] = (start, crc(start), len(start))
            start, start_crc, start_len = head
            parts += (frame(start_len + len(payload), crc(payload, start_crc)), start, payload)
        self._writer.write(b"".join(parts))
        self._writer.flush()
        self._pending += len(messages)
        self.appended += len(messages)
        if self._writer.tell() >= self.segment_bytes:
            self._writer.close()
            self._write_segment += 1
            self._writer = self._path(self._write_segment).open("ab")
        self._wakeup.set()

    async def wait(self) -> None:
        """Return when there may be something to read."""
        if self._pending and self._cursor != self._write_position():
            return
        self._wakeup.clear()
        await self._wakeup.wait()

    def _write_position(self) -> Position:
        return (self._write_segment, self._writer.tell())

    def read(self, max_records: int) -> tuple[list[Record], Position]:
        """The next records after the read cursor, and the position after them."""
        found = self.read_each(max_records)
        return [r for r, _ in found], (found[-1][1] if found else self._cursor)

    def read_each(self, max_records: int) -> list[tuple[Record, Position]]:
        """The next records after the read cursor, each with the position after it."""
        found = self._read(self._cursor, max_records)
        if found:
            self._cursor = found[-1][1]
        return found

    @property
    def acked(self) -> Position:
        """The position after the last acknowledged record."""
        return self._acked

    @property
    def cursor(self) -> Position:
        """Where the next read starts."""
        return self._cursor

    def rewind(self, to: Position | None = None) -> None:
        """Read again from the last acknowledged record (after a failed publish), or from an
        earlier position ``to`` still on disk (the resend window, see ``keep_from``)."""
        self._cursor = self._acked if to is None else min(to, self._acked)

    def ack(self, position: Position, count: int, *, keep_from: Position | None = None) -> None:
        """Everything before ``position`` is published (``count`` records new among them).
        Fully acknowledged segments are deleted, except from ``keep_from`` on: what the
        publisher may have to send again."""
        if position > self._acked:
            self._acked = position
            self._write_ack()
        self._pending -= count
        keep = self._acked[0] if keep_from is None else min(keep_from[0], self._acked[0])
        for seg in self._segments():
            if seg < keep:
                self._path(seg).unlink(missing_ok=True)

    def _read(self, start: Position, max_records: int, *,
              follow: bool = True) -> list[tuple[Record, Position]]:
        """Records from ``start``, on into the next segments unless ``follow`` is False."""
        seg, off = start
        out: list[tuple[Record, Position]] = []
        while len(out) < max_records:
            path = self._path(seg)
            if not path.exists():
                break
            with path.open("rb") as fh:
                fh.seek(off)
                data = fh.read(_READ_CHUNK)
                pos = 0
                while len(out) < max_records:
                    if pos + _FRAME.size > len(data) or \
                            pos + _FRAME.size + _FRAME.unpack_from(data, pos)[0] > len(data):
                        more = fh.read(_READ_CHUNK)  # a record longer than what we hold
                        if not more:
                            break
                        data = data[pos:] + more
                        off, pos = off + pos, 0
                        continue
                    length, crc = _FRAME.unpack_from(data, pos)
                    body = data[pos + _FRAME.size: pos + _FRAME.size + length]
                    if zlib.crc32(body) != crc:
                        raise SpoolError(f"spool record at {path}:{off + pos} fails its "
                                         "checksum")
                    qos, retain, tlen = _META.unpack_from(body)
                    topic = body[_META.size: _META.size + tlen].decode()
                    pos += _FRAME.size + length
                    out.append((Record(topic, body[_META.size + tlen:], qos, bool(retain)),
                                (seg, off + pos)))
                off += pos
                at_end = pos == len(data) and not fh.read(1)
            if follow and len(out) < max_records and seg < self._write_segment and at_end:
                seg, off = seg + 1, 0
                continue
            break
        return out

    # ------------------------------------------------- a log read whole (the journal's)
    @property
    def segment(self) -> int:
        """The segment being written."""
        return self._write_segment

    def segments(self) -> list[int]:
        """The segments on disk, in order."""
        return self._segments()

    def scan(self) -> Iterator[tuple[int, Record]]:
        """Every record on disk, acknowledged or not, with its segment, in order (segments
        deleted out of order by :meth:`drop_segment` are simply not there)."""
        self.flush()
        for seg in self._segments():
            for record in self.segment_records(seg):
                yield seg, record

    def segment_records(self, segment: int) -> list[Record]:
        """The records of one segment (``SpoolError`` if one of them is damaged)."""
        return [record for record, _ in self._read((segment, 0), 1 << 62, follow=False)]

    def drop_segment(self, segment: int) -> None:
        """Delete a segment that is no longer written to (one a log's reader no longer
        needs, whatever comes before or after it)."""
        if segment == self._write_segment:
            raise ValueError(f"segment {segment} is being written")
        self._path(segment).unlink(missing_ok=True)

    def last_record(self) -> Record | None:
        """The most recently appended record still on disk (acknowledged or not), if any."""
        for seg in reversed(self._segments()):
            found = self._read((seg, 0), 1 << 62)
            if found:
                return found[-1][0]
        return None

    def flush(self) -> None:
        """Hand every appended record to the operating system (a kill -9 keeps it then)."""
        self._writer.flush()

    def close(self) -> None:
        self._writer.close()
