"""Movesense GATT SensorData Protocol (GSP).

Commands written to ``34800001-…``: ``[cmd u8][ref u8][…]`` with 0 HELLO, 1 SUBSCRIBE + ASCII
path (``/Meas/Acc/208``), 2 UNSUBSCRIBE. Messages notified on ``34800002-…``:
``[type u8][ref u8][payload]`` with 1 command result, 2 DATA, 3 DATA_PART2 (the rest of the
previous DATA: append ``part2[2:]``). Acc payload: u32 timestamp (ms, sensor clock, of the first
sample) + N × 3 × float32 in m/s².

Unconfirmed (no primary source found): the result payload is read as a u16 status (HTTP-like,
200 = OK), and the timestamp as that of the first sample. Both are one-line changes here.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field

from footfall.devices.errors import ParseError

PROFILE = "movesense"
SERVICE_UUID = "34802252-7185-4d5d-b431-630e7050e8f0"
WRITE_UUID = "34800001-7185-4d5d-b431-630e7050e8f0"
NOTIFY_UUID = "34800002-7185-4d5d-b431-630e7050e8f0"

CMD_HELLO = 0
CMD_SUBSCRIBE = 1
CMD_UNSUBSCRIBE = 2
MSG_RESULT = 1
MSG_DATA = 2
MSG_DATA_PART2 = 3
STATUS_OK = 200
ACC_RATES_HZ = (13, 26, 52, 104, 208, 416, 833, 1666)
STANDARD_GRAVITY = 9.80665

_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_XYZ = struct.Struct("<3f")

Vector = tuple[float, float, float]


@dataclass(frozen=True, slots=True)
class GspMessage:
    """One notification: ``[type][ref][payload]``."""

    type: int
    ref: int
    payload: bytes

    @property
    def status(self) -> int | None:
        """For a result message, its u16 status code (unconfirmed layout); else None."""
        if self.type != MSG_RESULT or len(self.payload) < 2:
            return None
        return int(_U16.unpack_from(self.payload)[0])


@dataclass(frozen=True, slots=True)
class AccData:
    """``/Meas/Acc/<rate>`` data: sensor timestamp and samples in m/s²."""

    timestamp_ms: int
    samples: tuple[Vector, ...]


def parse(data: bytes | bytearray | memoryview) -> GspMessage:
    """Split a notification into type, reference and payload; raises :class:`ParseError`."""
    data = bytes(data)
    if len(data) < 2:
        raise ParseError(PROFILE, f"{len(data)} bytes, a GSP message needs at least 2")
    if data[0] not in (MSG_RESULT, MSG_DATA, MSG_DATA_PART2):
        raise ParseError(PROFILE, f"unknown GSP message type {data[0]}")
    return GspMessage(data[0], data[1], data[2:])


def parse_acc(payload: bytes | bytearray | memoryview) -> AccData:
    """Decode a complete Acc payload (after DATA_PART2 reassembly); raises :class:`ParseError`."""
    payload = bytes(payload)
    if len(payload) < _U32.size + _XYZ.size:
        raise ParseError(PROFILE, f"acc payload of {len(payload)} bytes holds no sample")
    if (len(payload) - _U32.size) % _XYZ.size:
        raise ParseError(PROFILE, f"acc payload of {len(payload)} bytes is not a timestamp plus "
                                  "whole 12-byte samples")
    (ts,) = _U32.unpack_from(payload)
    samples = tuple(_XYZ.iter_unpack(payload[_U32.size:]))
    if not all(math.isfinite(v) for s in samples for v in s):
        raise ParseError(PROFILE, "acc sample is NaN or infinite")
    return AccData(ts, samples)


@dataclass
class GspAssembler:
    """Join DATA + DATA_PART2 into whole payloads.

    Rule: a DATA whose payload is not a timestamp plus whole samples is held until its
    DATA_PART2 (same reference) arrives. A DATA_PART2 with nothing held, or a held DATA that is
    followed by anything else, is an error (the caller counts and logs it).
    """

    sample_size: int = _XYZ.size
    pending: GspMessage | None = field(default=None)

    def feed(self, msg: GspMessage) -> tuple[list[tuple[int, bytes]], list[str]]:
        """Return (complete (ref, payload) pairs, reasons for anything discarded)."""
        done: list[tuple[int, bytes]] = []
        errors: list[str] = []
        if msg.type == MSG_DATA_PART2:
            if self.pending is None or self.pending.ref != msg.ref:
                errors.append(f"DATA_PART2 for reference {msg.ref} without its first part")
                return done, errors
            # the part-2 payload starts after its own 2 header bytes, already stripped here
            done.append((msg.ref, self.pending.payload + msg.payload))
            self.pending = None
            return done, errors
        if self.pending is not None:
            errors.append(f"DATA for reference {self.pending.ref} never got its DATA_PART2")
            self.pending = None
        if msg.type == MSG_DATA:
            if (len(msg.payload) - _U32.size) % self.sample_size:
                self.pending = msg
            else:
                done.append((msg.ref, msg.payload))
        return done, errors


def build_hello(ref: int = 0) -> bytes:
    return bytes([CMD_HELLO, ref])


def build_subscribe(ref: int, path: str) -> bytes:
    return bytes([CMD_SUBSCRIBE, ref]) + path.encode("ascii")


def build_unsubscribe(ref: int) -> bytes:
    return bytes([CMD_UNSUBSCRIBE, ref])


def acc_path(rate_hz: int) -> str:
    return f"/Meas/Acc/{rate_hz}"


def to_dict(msg: GspMessage) -> dict[str, object]:
    out: dict[str, object] = {"profile": PROFILE, "type": msg.type, "ref": msg.ref}
    if msg.type == MSG_RESULT:
        out["status"] = msg.status
        out["payload_hex"] = msg.payload.hex()
    elif msg.type == MSG_DATA:
        acc = parse_acc(msg.payload)
        out["timestamp_ms"] = acc.timestamp_ms
        out["n_samples"] = len(acc.samples)
        out["samples_mps2"] = [list(s) for s in acc.samples]
    else:
        out["payload_hex"] = msg.payload.hex()
    return out
