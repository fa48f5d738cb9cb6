"""Polar PMD accelerometer emulator (H10 by default): control point answers, raw/delta frames."""

from __future__ import annotations

import itertools
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

from footfall.devices import polar_pmd as pmd
from footfall.devices.errors import ParseError
from footfall.simulators.devices.base import Notification

STATUS_OK = 0
STATUS_INVALID_PARAMETER = 5  # the value the emulator answers for a setting it does not support
STATUS_NOT_SUPPORTED = 2
VERITY_RATES_HZ = (52,)
_WIDTHS = {0: 1, 1: 2, 2: 3}

Sample = tuple[int, int, int]


def _header(timestamp_ns: int, frame_type_byte: int,
            measurement_type: int = pmd.MEASUREMENT_ACC) -> bytes:
    return struct.pack("<BQB", measurement_type, timestamp_ns, frame_type_byte)


def _sample_bytes(sample: Sequence[int], width: int) -> bytes:
    return b"".join(int(v).to_bytes(width, "little", signed=True) for v in sample)


def encode_raw(timestamp_ns: int, samples: Sequence[Sample], *, frame_type: int = 1,
               measurement_type: int = pmd.MEASUREMENT_ACC) -> bytes:
    """A raw frame; ``timestamp_ns`` (since 2000) is the time of the LAST sample."""
    width = _WIDTHS[frame_type]
    return _header(timestamp_ns, frame_type, measurement_type) + b"".join(
        _sample_bytes(s, width) for s in samples)


def _bits_for(deltas: Sequence[int]) -> int:
    bits = 1
    for d in deltas:
        while not -(1 << (bits - 1)) <= d < (1 << (bits - 1)):
            bits += 1
    return bits


def encode_delta(timestamp_ns: int, samples: Sequence[Sample], *, frame_type: int = 1,
                 block_size: int = 255, bits: int | None = None,
                 measurement_type: int = pmd.MEASUREMENT_ACC) -> bytes:
    """A delta-compressed frame: reference sample, then blocks of ``block_size`` deltas.

    ``bits`` forces the delta width (the golden vector uses 6); by default each block uses the
    fewest bits that hold its deltas.
    """
    width = _WIDTHS[frame_type]
    out = bytearray(_header(timestamp_ns, 0x80 | frame_type, measurement_type))
    out += _sample_bytes(samples[0], width)
    deltas = [tuple(b - a for a, b in zip(p, q, strict=True))
              for p, q in itertools.pairwise(samples)]
    for start in range(0, len(deltas), block_size):
        block = deltas[start: start + block_size]
        flat = [d for sample in block for d in sample]
        nbits = bits if bits is not None else _bits_for(flat)
        stream = 0
        for i, d in enumerate(flat):
            stream |= (d & ((1 << nbits) - 1)) << (i * nbits)
        nbytes = (nbits * len(flat) + 7) // 8
        out += bytes([nbits, len(block)]) + stream.to_bytes(nbytes, "little")
    return bytes(out)


def control_response(opcode: int, measurement_type: int, status: int,
                     params: bytes = b"") -> bytes:
    return bytes([pmd.RESPONSE, opcode, measurement_type, status]) + params


@dataclass
class PolarAcc:
    """A Polar H10 (or, with ``rates_hz=(52,)``, a Verity Sense) accelerometer stream."""

    name: str = "Polar H10 EMU0001"
    rates_hz: tuple[int, ...] = pmd.H10_RATES_HZ
    ranges_g: tuple[int, ...] = pmd.H10_RANGES_G
    compressed: bool = False
    profile: str = pmd.PROFILE
    streaming_acc: bool = False
    sample_rate_hz: int = 0
    range_g: int = 0
    commands: list[bytes] = field(default_factory=list)
    notifying: set[str] = field(default_factory=set)
    last_timestamp_ns: int | None = None

    @property
    def streaming(self) -> bool:
        return self.streaming_acc

    def on_notify_enabled(self, char_uuid: str) -> None:
        self.notifying.add(char_uuid)

    def on_read(self, char_uuid: str) -> bytes:
        return b""

    def on_disconnect(self) -> None:
        self.streaming_acc = False
        self.notifying.clear()

    def on_write(self, char_uuid: str, data: bytes) -> list[Notification]:
        if char_uuid != pmd.CONTROL_POINT_UUID or len(data) < 2:
            return []
        self.commands.append(bytes(data))
        op, mtype = data[0], data[1]
        cp = pmd.CONTROL_POINT_UUID
        if mtype != pmd.MEASUREMENT_ACC:
            return [(cp, control_response(op, mtype, STATUS_NOT_SUPPORTED))]
        if op == pmd.OP_GET_SETTINGS:
            params = b"".join([
                struct.pack(f"<BB{len(self.rates_hz)}H", pmd.SETTING_SAMPLE_RATE,
                            len(self.rates_hz), *self.rates_hz),
                struct.pack("<BBH", pmd.SETTING_RESOLUTION, 1, 16),
                struct.pack(f"<BB{len(self.ranges_g)}H", pmd.SETTING_RANGE,
                            len(self.ranges_g), *self.ranges_g),
            ])
            return [(cp, control_response(op, mtype, STATUS_OK, params))]
        if op == pmd.OP_START:
            try:
                settings = pmd.parse_settings(bytes(data[2:]))
            except ParseError:
                return [(cp, control_response(op, mtype, STATUS_INVALID_PARAMETER))]
            rate = settings.get(pmd.SETTING_SAMPLE_RATE, (0,))[0]
            rng = settings.get(pmd.SETTING_RANGE, (self.ranges_g[-1],))[0]
            resolution = settings.get(pmd.SETTING_RESOLUTION, (16,))[0]
            if (rate not in self.rates_hz or rng not in self.ranges_g or resolution != 16
                    or pmd.DATA_UUID not in self.notifying):
                return [(cp, control_response(op, mtype, STATUS_INVALID_PARAMETER))]
            self.streaming_acc, self.sample_rate_hz, self.range_g = True, rate, rng
            self.last_timestamp_ns = None
            return [(cp, control_response(op, mtype, STATUS_OK, b"\x00"))]
        if op == pmd.OP_STOP:
            self.streaming_acc = False
            return [(cp, control_response(op, mtype, STATUS_OK))]
        return [(cp, control_response(op, mtype, STATUS_NOT_SUPPORTED))]

    def frame(self, samples_mg: Sequence[Sample], last_timestamp_ns: int) -> list[Notification]:
        """The data notification for these samples (the last one at ``last_timestamp_ns``)."""
        if not self.streaming_acc:
            return []
        self.last_timestamp_ns = last_timestamp_ns
        encoder = encode_delta if self.compressed else encode_raw
        return [(pmd.DATA_UUID, encoder(last_timestamp_ns, samples_mg))]
