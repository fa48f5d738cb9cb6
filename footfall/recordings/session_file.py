"""Session files: one MCAP file holding a session's MQTT traffic and its metadata.

Layout (docs/session-format.md is the reference for other tools):

- header profile ``footfall``; zstd-compressed, indexed chunks with statistics and summary;
- one MCAP *channel per MQTT topic* (``footfall/v1/<athlete>/<session>/<device>/<stream>``),
  channel metadata ``athlete``, ``session``, ``device``, ``stream`` and ``mqtt_retain``;
- messages are the exact MQTT payloads: ``imu`` channels use message encoding
  ``footfall.frame.v1`` (the binary ImuFrame of docs/wire.md), every other stream ``json``
  with a JSON Schema; ``log_time`` is when the message was received (or, for imports and
  simulations, when a live device would have delivered it), ``publish_time`` the data's own
  UTC (the frame's first sample, the event's ``time_ns``), ``sequence`` counts per channel;
- metadata record ``footfall.session`` (format version, source, creation time, athletes,
  sessions, footfall version, anything the source adds) and one ``footfall.device`` record per
  device (profile, placement, side, rates, from its retained ``meta``);
- optional attachments, e.g. ``truth/<device>.json`` (ground truth of a simulation).
"""

from __future__ import annotations

import json
import logging
import struct
import time
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

from mcap.reader import make_reader
from mcap.records import Channel, Message, Metadata, Schema
from mcap.stream_reader import StreamReader
from mcap.writer import CompressionType, Writer

from footfall import __version__
from footfall.core.errors import FootfallError
from footfall.wire.events import DeviceMeta, EventError, utc_iso
from footfall.wire.frame import HEADER, HEADER_SIZE, MAGIC
from footfall.wire.topics import RETAINED_STREAMS, Stream, Topic, TopicError

log = logging.getLogger(__name__)

PROFILE = "footfall"
FORMAT_VERSION = "1"
SESSION_METADATA = "footfall.session"
DEVICE_METADATA = "footfall.device"
IMU_ENCODING = "footfall.frame.v1"
#: raw BLE notifications (``footfall ingest --record``): one channel per device and
#: characteristic, ``ble/<device>/<characteristic UUID>``, the bytes as the device sent them
BLE_ENCODING = "footfall.ble.v1"
BLE_PREFIX = "ble/"
BLE_DEVICE_METADATA = "footfall.ble_device"
#: 1 MiB chunks: a few seconds of several 1 kHz sensors; small enough for quick seeks
DEFAULT_CHUNK_SIZE = 1 << 20
_UTC_NS = struct.Struct("<q")
_UTC_NS_OFFSET = struct.calcsize("<2sBBIQ")  # after magic, version, channels, seq, sensor_time_us

IMU_SCHEMA_TEXT = f"""footfall binary IMU frame, version 1 (docs/wire.md).
Header: struct '{HEADER.format}' ({HEADER_SIZE} bytes, little-endian): magic 'FF', version,
channels (3 or 6), seq, sensor_time_us, utc_ns, sample_rate_hz (float32), accel_range_g,
gyro_range_dps, n_samples, flags (bit 0: gap before this frame). Then n_samples x channels
int16 little-endian counts, interleaved ax ay az [gx gy gz]; g = counts * accel_range_g / 32768.
""".encode()


BLE_SCHEMA_TEXT = b"""A raw BLE notification, the bytes exactly as the device sent them; the
channel's metadata names the device and the characteristic, the device's spec (address, profile,
placement, side, rate, range) is a footfall.ble_device metadata record. log_time is its
receive time (UTC ns)."""


class SessionFileError(FootfallError):
    """A session file cannot be read or written; the message says which file and why."""


def json_schema(stream: Stream) -> bytes:
    if stream is Stream.ALERTS_ACTIVE:
        body: dict[str, Any] = {"description": "active alerts (docs/wire.md)"}
    else:
        body = {"type": "object", "required": ["v", "type"],
                "properties": {"v": {"const": 1}, "type": {"const": stream.value}}}
    return json.dumps({"$schema": "https://json-schema.org/draft/2020-12/schema",
                       "title": f"footfall {stream.value} event", **body}).encode()


def payload_time_ns(stream: Stream, payload: bytes) -> int | None:
    """The data's own UTC time: an IMU frame's first sample, or an event's ``time_ns``."""
    if stream is Stream.IMU:
        if len(payload) < HEADER_SIZE or payload[:2] != MAGIC:
            return None
        return int(_UTC_NS.unpack_from(payload, _UTC_NS_OFFSET)[0])
    if stream in (Stream.META, Stream.STATUS, Stream.ALERTS_ACTIVE):
        return None
    try:
        value = json.loads(payload).get("time_ns")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, int) else None


@dataclass(frozen=True, slots=True)
class SessionMessage:
    topic: Topic
    log_time_ns: int
    publish_time_ns: int
    payload: bytes

    @property
    def retain(self) -> bool:
        return self.topic.stream in RETAINED_STREAMS


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    device: str
    profile: str = ""
    placement: str = ""
    side: str = ""
    sample_rate_hz: float = 0.0
    accel_range_g: int = 0
    model: str = ""
    streams: tuple[str, ...] = ()
    message_count: int = 0


@dataclass(frozen=True, slots=True)
class SessionInfo:
    path: Path
    source: str
    created_utc: str
    athletes: tuple[str, ...]
    sessions: tuple[str, ...]
    devices: dict[str, DeviceInfo]
    start_ns: int
    end_ns: int
    message_count: int
    channel_counts: dict[str, int]  # MQTT topics only
    extra: dict[str, str] = field(default_factory=dict)
    notification_count: int = 0  # raw BLE notifications (``footfall ingest --record``)
    #: False for a file cut off while it was written (no summary section): everything up to
    #: its last complete record was read by scanning it
    complete: bool = True

    @property
    def duration_s(self) -> float:
        return (self.end_ns - self.start_ns) / 1e9

    @property
    def athlete(self) -> str:
        return self.athletes[0] if len(self.athletes) == 1 else ",".join(self.athletes)

    @property
    def session(self) -> str:
        return self.sessions[0] if len(self.sessions) == 1 else ",".join(self.sessions)


class SessionWriter:
    """Write a session file; use as a context manager (metadata is written on close)."""

    def __init__(
        self,
        path: Path | str,
        *,
        source: str,
        extra: Mapping[str, str] | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        compression: CompressionType = CompressionType.ZSTD,
        created_ns: int | None = None,
    ) -> None:
        """``created_ns`` fixes the creation time (default now), for reproducible files."""
        self.path = Path(path)
        self.created_ns = created_ns
        self.source = source
        self.extra = dict(extra or {})
        self._file: IO[bytes] = self.path.open("wb")
        self._writer = Writer(self._file, chunk_size=chunk_size, compression=compression)
        self._writer.start(profile=PROFILE, library=f"footfall {__version__}")
        self._schemas: dict[Stream, int] = {}
        self._raw_schema: dict[str, int] = {}
        self._channels: dict[str, int] = {}
        self._sequence: dict[int, int] = {}
        self._meta: dict[str, bytes] = {}
        self._device_streams: dict[str, dict[str, int]] = {}
        self._athletes: set[str] = set()
        self._sessions: set[str] = set()
        self.message_count = 0
        self._closed = False

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _channel(self, topic: Topic) -> int:
        name = str(topic)
        channel_id = self._channels.get(name)
        if channel_id is not None:
            return channel_id
        stream = topic.stream
        if stream not in self._schemas:
            if stream is Stream.IMU:
                self._schemas[stream] = self._writer.register_schema(
                    "footfall.ImuFrame", "footfall.frame", IMU_SCHEMA_TEXT)
            else:
                self._schemas[stream] = self._writer.register_schema(
                    f"footfall.{stream.value}", "jsonschema", json_schema(stream))
        channel_id = self._writer.register_channel(
            name, IMU_ENCODING if stream is Stream.IMU else "json", self._schemas[stream],
            {"athlete": topic.athlete, "session": topic.session, "device": topic.device,
             "stream": stream.value, "mqtt_retain": str(stream in RETAINED_STREAMS).lower()})
        self._channels[name] = channel_id
        self._sequence[channel_id] = 0
        self._athletes.add(topic.athlete)
        self._sessions.add(topic.session)
        return channel_id

    def write(self, topic: Topic | str, payload: bytes, *, log_time_ns: int,
              publish_time_ns: int | None = None) -> None:
        """Add one MQTT message; ``topic`` must follow the footfall scheme."""
        parsed = topic if isinstance(topic, Topic) else Topic.parse(topic)
        channel_id = self._channel(parsed)
        if publish_time_ns is None:
            publish_time_ns = payload_time_ns(parsed.stream, payload) or log_time_ns
        self._sequence[channel_id] += 1
        self._writer.add_message(channel_id, log_time=log_time_ns, data=bytes(payload),
                                 publish_time=publish_time_ns,
                                 sequence=self._sequence[channel_id] & 0xFFFFFFFF)
        self.message_count += 1
        counts = self._device_streams.setdefault(parsed.device, {})
        counts[parsed.stream.value] = counts.get(parsed.stream.value, 0) + 1
        if parsed.stream is Stream.META:
            self._meta[parsed.device] = bytes(payload)

    def write_notification(self, device: str, char_uuid: str, data: bytes, *,
                           log_time_ns: int) -> None:
        """One raw BLE notification as received (``log_time_ns``: its receive time, UTC)."""
        name = f"{BLE_PREFIX}{device}/{char_uuid}"
        channel_id = self._channels.get(name)
        if channel_id is None:
            if BLE_PREFIX not in self._raw_schema:
                self._raw_schema[BLE_PREFIX] = self._writer.register_schema(
                    "footfall.BleNotification", "footfall.ble", BLE_SCHEMA_TEXT)
            channel_id = self._writer.register_channel(
                name, BLE_ENCODING, self._raw_schema[BLE_PREFIX],
                {"device": device, "characteristic": char_uuid})
            self._channels[name] = channel_id
            self._sequence[channel_id] = 0
        self._sequence[channel_id] += 1
        self._writer.add_message(channel_id, log_time=log_time_ns, data=bytes(data),
                                 publish_time=log_time_ns,
                                 sequence=self._sequence[channel_id] & 0xFFFFFFFF)
        self.message_count += 1

    def add_ble_device(self, spec: Mapping[str, str]) -> None:
        """What a raw channel's device is (``footfall ingest``'s device spec, as strings)."""
        self._writer.add_metadata(BLE_DEVICE_METADATA, dict(spec))

    def attach(self, name: str, data: bytes, *, media_type: str = "application/json") -> None:
        now = self.created_ns if self.created_ns is not None else time.time_ns()
        self._writer.add_attachment(create_time=now, log_time=now, name=name,
                                    media_type=media_type, data=data)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._writer.add_metadata(SESSION_METADATA, {
                "format_version": FORMAT_VERSION,
                "source": self.source,
                "created_utc": utc_iso(self.created_ns if self.created_ns is not None
                                       else time.time_ns()),
                "footfall_version": __version__,
                "athletes": ",".join(sorted(self._athletes)),
                "sessions": ",".join(sorted(self._sessions)),
                **self.extra,
            })
            for device, counts in sorted(self._device_streams.items()):
                self._writer.add_metadata(DEVICE_METADATA, _device_record(
                    device, self._meta.get(device), counts))
            self._writer.finish()  # type: ignore[no-untyped-call]
        finally:
            self._file.close()


def _device_record(device: str, meta_payload: bytes | None,
                   counts: Mapping[str, int]) -> dict[str, str]:
    record = {"device": device, "streams": ",".join(sorted(counts)),
              "message_count": str(sum(counts.values()))}
    if meta_payload is None:
        return record
    try:
        meta = DeviceMeta.from_json(meta_payload)
    except EventError as exc:
        log.warning("device %s: meta payload not recorded in metadata: %s", device, exc.reason)
        return record
    record.update(profile=meta.profile, placement=meta.placement, side=meta.side,
                  sample_rate_hz=repr(float(meta.sample_rate_hz)),
                  accel_range_g=str(meta.accel_range_g), model=meta.model)
    return record


def _open(path: Path | str) -> IO[bytes]:
    try:
        return Path(path).open("rb")
    except OSError as exc:
        raise SessionFileError(f"cannot open session file {path}: {exc.strerror}") from exc


_WARNED_CUT_OFF: set[str] = set()


@dataclass(slots=True)
class _Scan:
    """What a pass over the records of a file without a summary section found."""

    channels: dict[int, Channel] = field(default_factory=dict)
    counts: dict[int, int] = field(default_factory=dict)
    metadata: list[Metadata] = field(default_factory=list)
    start_ns: int = 0
    end_ns: int = 0


def _stream_records(path: Path | str, f: IO[bytes],
                    scan: _Scan | None = None) -> Iterator[tuple[Schema | None, Channel, Message]]:
    """The messages of a file cut off while it was written, in the order written (the
    recorder writes in receive order), up to its last complete record."""
    f.seek(0)
    schemas: dict[int, Schema] = {}
    channels: dict[int, Channel] = {} if scan is None else scan.channels
    try:
        for record in StreamReader(f).records:
            if isinstance(record, Schema):
                schemas[record.id] = record
            elif isinstance(record, Channel):
                channels[record.id] = record
            elif isinstance(record, Metadata) and scan is not None:
                scan.metadata.append(record)
            elif isinstance(record, Message) and record.channel_id in channels:
                if scan is not None:
                    scan.counts[record.channel_id] = scan.counts.get(record.channel_id, 0) + 1
                    scan.start_ns = (record.log_time if not scan.start_ns
                                     else min(scan.start_ns, record.log_time))
                    scan.end_ns = max(scan.end_ns, record.log_time)
                channel = channels[record.channel_id]
                yield schemas.get(channel.schema_id), channel, record
    except Exception as exc:  # a torn last record: mcap raises several unrelated types
        key = str(path)
        if key not in _WARNED_CUT_OFF:  # once per file, not once per pass over it
            _WARNED_CUT_OFF.add(key)
            log.warning("%s ends early (cut off while it was written?): read up to its last "
                        "complete record, %d bytes in (%s)", path, f.tell(),
                        str(exc) or type(exc).__name__)


def _has_summary(path: Path | str, f: IO[bytes]) -> bool:
    f.seek(0)
    try:
        return make_reader(f).get_summary() is not None
    except Exception:  # no footer: the file was cut off
        return False


def _records(path: Path | str) -> Iterator[tuple[Schema | None, Channel, Message]]:
    """Every message with its channel: in log-time order from a complete file's index, in
    the order written from a file that was cut off."""
    with _open(path) as f:
        if _has_summary(path, f):
            f.seek(0)
            yield from make_reader(f).iter_messages(log_time_order=True)
        else:
            yield from _stream_records(path, f)


def read_info(path: Path | str) -> SessionInfo:
    """Metadata and statistics, from the summary section (no message is decoded); a file
    cut off while it was written is scanned instead (``complete`` is then False)."""
    with _open(path) as f:
        try:
            reader = make_reader(f)
            header = reader.get_header()
        except Exception as exc:  # mcap raises several unrelated types for a bad file
            raise SessionFileError(f"{path} is not a readable MCAP file: {exc}") from exc
        if header.profile != PROFILE:
            raise SessionFileError(f"{path} is an MCAP file but not a footfall session "
                                   f"(profile {header.profile!r})")
        complete = _has_summary(path, f)
        if complete:
            f.seek(0)
            reader = make_reader(f)
            summary = reader.get_summary()
            assert summary is not None and summary.statistics is not None
            metadata = list(reader.iter_metadata())
            channels = dict(summary.channels)
            counts = dict(summary.statistics.channel_message_counts)
            start_ns = summary.statistics.message_start_time
            end_ns = summary.statistics.message_end_time
        else:
            scan = _Scan()
            for _ in _stream_records(path, f, scan):
                pass
            metadata, channels, counts = scan.metadata, scan.channels, scan.counts
            start_ns, end_ns = scan.start_ns, scan.end_ns
    session: dict[str, str] = {}
    devices: dict[str, DeviceInfo] = {}
    for record in metadata:
        if record.name == SESSION_METADATA:
            session = dict(record.metadata)
        elif record.name == DEVICE_METADATA:
            m = record.metadata
            devices[m["device"]] = DeviceInfo(
                device=m["device"], profile=m.get("profile", ""),
                placement=m.get("placement", ""), side=m.get("side", ""),
                sample_rate_hz=float(m.get("sample_rate_hz", 0.0)),
                accel_range_g=int(m.get("accel_range_g", 0)), model=m.get("model", ""),
                streams=tuple(s for s in m.get("streams", "").split(",") if s),
                message_count=int(m.get("message_count", 0)))
    if not complete:  # the per-device records are written at the end: take the channels'
        for channel in channels.values():
            device = channel.metadata.get("device", "")
            if device and device not in devices and not channel.topic.startswith(BLE_PREFIX):
                devices[device] = DeviceInfo(device=device)
    known = {"format_version", "source", "created_utc", "footfall_version", "athletes",
             "sessions"}
    athletes = session.get("athletes", "") or ",".join(sorted(
        {c.metadata.get("athlete", "") for c in channels.values()} - {""}))
    sessions = session.get("sessions", "") or ",".join(sorted(
        {c.metadata.get("session", "") for c in channels.values()} - {""}))
    return SessionInfo(
        path=Path(path),
        source=session.get("source", ""),
        created_utc=session.get("created_utc", ""),
        athletes=tuple(a for a in athletes.split(",") if a),
        sessions=tuple(s for s in sessions.split(",") if s),
        devices=devices,
        start_ns=start_ns,
        end_ns=end_ns,
        message_count=sum(counts.values()),
        channel_counts={channels[cid].topic: n for cid, n in counts.items()
                        if not channels[cid].topic.startswith(BLE_PREFIX)},
        notification_count=sum(n for cid, n in counts.items()
                               if channels[cid].topic.startswith(BLE_PREFIX)),
        extra={k: v for k, v in session.items() if k not in known},
        complete=complete,
    )


@dataclass(frozen=True, slots=True)
class Notification:
    """A raw BLE notification of a session file."""

    device: str
    char_uuid: str
    data: bytes
    recv_utc_ns: int


def iter_notifications(path: Path | str) -> Iterator[Notification]:
    """The raw BLE notifications (``footfall ingest --record``), in receive order."""
    for _schema, channel, message in _records(path):
        if channel.topic.startswith(BLE_PREFIX):
            yield Notification(channel.metadata.get("device", ""),
                                   channel.metadata.get("characteristic", ""),
                                   bytes(message.data), message.log_time)


def read_ble_devices(path: Path | str) -> list[dict[str, str]]:
    """The device specs of the raw channels (the last one per device id wins)."""
    with _open(path) as f:
        if _has_summary(path, f):
            f.seek(0)
            records = list(make_reader(f).iter_metadata())
        else:
            scan = _Scan()
            for _ in _stream_records(path, f, scan):
                pass
            records = scan.metadata
    specs = {r.metadata.get("device_id") or r.metadata.get("address", ""): dict(r.metadata)
             for r in records if r.name == BLE_DEVICE_METADATA}
    return list(specs.values())


def iter_messages(path: Path | str,
                  streams: Collection[Stream] | None = None) -> Iterator[SessionMessage]:
    """Every MQTT message in log-time order, optionally only some streams (raw BLE
    notifications are :func:`iter_notifications`)."""
    for _schema, channel, message in _records(path):
        if channel.topic.startswith(BLE_PREFIX):
            continue
        try:
            topic = Topic.parse(channel.topic)
        except TopicError as exc:
            log.warning("%s: skipping channel %r: %s", path, channel.topic, exc)
            continue
        if streams is not None and topic.stream not in streams:
            continue
        yield SessionMessage(topic, message.log_time, message.publish_time, message.data)


def data_span_ns(path: Path | str) -> tuple[int, int] | None:
    """First and last data time of the device data (``imu``, ``rsc``): each message's
    ``publish_time``, i.e. a frame's first sample or a foot-pod sample, in UTC ns.

    Unlike :attr:`SessionInfo.start_ns`/``end_ns`` (when the recorder *received* messages), it
    does not shrink when the session was recorded from a faster-than-real-time replay or
    simulation. ``None`` when the file holds no device data.
    """
    first: int | None = None
    last: int | None = None
    for message in iter_messages(path, (Stream.IMU, Stream.RSC)):
        t = message.publish_time_ns
        first = t if first is None else min(first, t)
        last = t if last is None else max(last, t)
    return None if first is None or last is None else (first, last)


def read_attachments(path: Path | str) -> dict[str, bytes]:
    with _open(path) as f:
        return {a.name: a.data for a in make_reader(f).iter_attachments()}
