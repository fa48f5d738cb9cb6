"""Binary IMU frame, version 1: a header and interleaved little-endian int16 samples.

Decoding is zero-copy: the samples are a NumPy view on the payload bytes, and every header
field is bounded (rate, range, UTC), so no frame can make the processor loop or overflow. The
full-scale range travels with every frame, so the processor knows exactly when a sample sits
at the rail (clipping) and how to scale counts to g without any side channel.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from footfall.core.errors import InputError

MAGIC: Final = b"FF"
VERSION: Final = 1
#: magic, version, channels, seq, sensor_time_us, utc_ns, sample_rate_hz, accel_range_g,
#: gyro_range_dps, n_samples, flags
HEADER: Final = struct.Struct("<2sBBIQqfHHHH")
HEADER_SIZE: Final = HEADER.size  # 36 bytes
INT16_FULL_SCALE: Final = 32768
MAX_SAMPLES: Final = 65535
ACCEL_CHANNELS: Final = 3
ACCEL_GYRO_CHANNELS: Final = 6
#: bounds of a frame's header: no sensor samples faster, no accelerometer has a wider range
MAX_RATE_HZ: Final = 100_000.0
#: … and none that steps can be found in slower (a stride lasts ~0.7 s)
MIN_RATE_HZ: Final = 1.0
MAX_RANGE_G: Final = 2000
#: 2000-01-01 … 2100-01-01 (the same bounds as every JSON event's time)
MIN_TIME_NS: Final = 946_684_800 * 10**9
MAX_TIME_NS: Final = 4_102_444_800 * 10**9
_INT16_LE: Final = np.dtype("<i2")
#: flag bit: the sample counter/timestamp of this frame does not follow the previous one
FLAG_GAP_BEFORE: Final = 0x0001
#: what :meth:`ImuFrame.replace` copies: the constructor's arguments
_FIELDS: Final = ("seq", "sensor_time_us", "utc_ns", "sample_rate_hz", "accel_range_g", "counts",
          "gyro_range_dps", "flags")
_NO_SAMPLES: Final = np.zeros((0, ACCEL_CHANNELS), dtype=_INT16_LE)  # (replaced by the payload's)


class FrameError(InputError):
    """A payload is not a valid footfall IMU frame; ``reason`` says why."""


class ImuFrame:
    """One chunk of consecutive samples from one sensor (a value: never changed once made;
    :meth:`replace` makes a changed copy).

    ``sensor_time_us`` is the sensor's own clock at the first sample; ``utc_ns`` is that same
    instant mapped to UTC by whoever owned the sensor connection (the gateway or a simulator).
    ``counts`` has shape (n_samples, channels): ax, ay, az[, gx, gy, gz] in int16 counts of
    ±``accel_range_g`` g and ±``gyro_range_dps`` °/s.

    A decoded frame keeps its payload and makes ``counts`` (a view on it) only when asked:
    the live processor analyses the frames of many streams together from their payloads
    (:func:`stack_counts`): a NumPy view per frame, then ``np.stack`` over them, were ~2 µs
    a frame, ~6 % of the compiled processor's instructions (docs/benchmarks.md, sixth round).
    """

    __slots__ = ("_counts", "_payload", "accel_range_g", "channels", "flags", "gyro_range_dps",
                 "n_samples", "sample_rate_hz", "sensor_time_us", "seq", "utc_ns")

    def __init__(self, seq: int, sensor_time_us: int, utc_ns: int, sample_rate_hz: float,
                 accel_range_g: int, counts: npt.NDArray[np.int16], gyro_range_dps: int = 0,
                 flags: int = 0) -> None:
        self.seq = seq
        self.sensor_time_us = sensor_time_us
        self.utc_ns = utc_ns
        self.sample_rate_hz = sample_rate_hz
        self.accel_range_g = accel_range_g
        self.gyro_range_dps = gyro_range_dps
        self.flags = flags
        if counts is _NO_SAMPLES:  # decode's: it sets the shape from the header (NumPy's
            self.n_samples, self.channels = 0, ACCEL_CHANNELS  # attributes ~1 k instructions)
        else:
            self.n_samples = int(counts.shape[0])
            self.channels = int(counts.shape[1]) if counts.ndim > 1 else 0
        self._counts: npt.NDArray[np.int16] | None = counts
        self._payload: bytes | bytearray | memoryview | None = None

    @property
    def counts(self) -> npt.NDArray[np.int16]:
        counts = self._counts
        if counts is None:  # a decoded frame: a read-only view on its payload
            counts = self._counts = np.ndarray((self.n_samples, self.channels),
                                               dtype=_INT16_LE, buffer=self._payload,
                                               offset=HEADER_SIZE)
        return counts

    @property
    def payload(self) -> bytes | bytearray | memoryview | None:
        """The wire payload the frame was decoded from (None: made from counts)."""
        return self._payload

    def replace(self, **changes: Any) -> ImuFrame:
        """A copy with some fields changed (the header fields and ``counts``)."""
        fields: dict[str, Any] = {name: getattr(self, name) for name in _FIELDS}
        fields.update(changes)
        return ImuFrame(**fields)

    def __repr__(self) -> str:
        return (f"ImuFrame(seq={self.seq}, sensor_time_us={self.sensor_time_us}, "
                f"utc_ns={self.utc_ns}, sample_rate_hz={self.sample_rate_hz}, "
                f"accel_range_g={self.accel_range_g}, n_samples={self.n_samples}, "
                f"channels={self.channels}, gyro_range_dps={self.gyro_range_dps}, "
                f"flags={self.flags})")

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.sample_rate_hz

    def accel_g(self) -> npt.NDArray[np.float64]:
        """Acceleration in g, shape (n_samples, 3)."""
        return self.counts[:, :3].astype(np.float64) * (self.accel_range_g / INT16_FULL_SCALE)

    def gyro_dps(self) -> npt.NDArray[np.float64] | None:
        if self.channels < ACCEL_GYRO_CHANNELS:
            return None
        return self.counts[:, 3:6].astype(np.float64) * (self.gyro_range_dps / INT16_FULL_SCALE)


def g_to_counts(accel_g: npt.ArrayLike, accel_range_g: int) -> npt.NDArray[np.int16]:
    """Quantise acceleration in g to int16 counts, saturating at the rails like a real sensor."""
    scaled = np.rint(np.asarray(accel_g, dtype=np.float64) * (INT16_FULL_SCALE / accel_range_g))
    return np.clip(scaled, -INT16_FULL_SCALE, INT16_FULL_SCALE - 1).astype(np.int16)


def encode(frame: ImuFrame) -> bytes:
    counts = np.ascontiguousarray(frame.counts, dtype="<i2")
    if counts.ndim != 2 or counts.shape[1] not in (ACCEL_CHANNELS, ACCEL_GYRO_CHANNELS):
        raise FrameError(f"counts must have shape (n, 3) or (n, 6), got {counts.shape}")
    if counts.shape[0] > MAX_SAMPLES:
        raise FrameError(f"at most {MAX_SAMPLES} samples per frame, got {counts.shape[0]}")
    header = HEADER.pack(
        MAGIC,
        VERSION,
        counts.shape[1],
        frame.seq & 0xFFFFFFFF,
        frame.sensor_time_us,
        frame.utc_ns,
        frame.sample_rate_hz,
        frame.accel_range_g,
        frame.gyro_range_dps,
        counts.shape[0],
        frame.flags,
    )
    return header + counts.tobytes()


def decode(payload: bytes | bytearray | memoryview) -> ImuFrame:
    """Decode a frame; raises :class:`FrameError` with the reason for anything malformed."""
    if len(payload) < HEADER_SIZE:
        raise FrameError(f"payload of {len(payload)} bytes is shorter than the header")
    # (typed: the compiled build compares native ints, not Python objects)
    magic: bytes
    version: int
    channels: int
    seq: int
    sensor_time_us: int
    utc_ns: int
    rate_hz: float
    range_g: int
    gyro_dps: int
    n_samples: int
    flags: int
    (magic, version, channels, seq, sensor_time_us, utc_ns, rate_hz, range_g, gyro_dps,
     n_samples, flags) = HEADER.unpack_from(payload)
    if magic != MAGIC:
        raise FrameError(f"bad magic {bytes(magic)!r}")
    if version != VERSION:
        raise FrameError(f"unsupported frame version {version} (this build reads {VERSION})")
    if channels not in (ACCEL_CHANNELS, ACCEL_GYRO_CHANNELS):
        raise FrameError(f"unsupported channel count {channels}")
    if not (MIN_RATE_HZ <= rate_hz <= MAX_RATE_HZ):  # also NaN
        raise FrameError(f"sample rate {rate_hz:g} Hz is not within {MIN_RATE_HZ:g}–"
                         f"{MAX_RATE_HZ:g} Hz")
    if not 0 < range_g <= MAX_RANGE_G:
        raise FrameError(f"accelerometer full-scale range {range_g} g is not 1–{MAX_RANGE_G} g")
    if not MIN_TIME_NS <= utc_ns <= MAX_TIME_NS:
        raise FrameError(f"UTC {utc_ns} ns is not between 2000 and 2100: the gateway's clock "
                         "is wrong")
    expected = HEADER_SIZE + 2 * channels * n_samples
    if len(payload) != expected:
        raise FrameError(f"payload is {len(payload)} bytes, header says {expected}")
    frame = ImuFrame(seq, sensor_time_us, utc_ns, float(rate_hz), range_g, _NO_SAMPLES,
                     gyro_dps, flags)  # (positional: keywords cost a tenth of a µs a frame)
    frame.n_samples, frame.channels = n_samples, channels
    frame._counts, frame._payload = None, payload  # counts: a view made when asked
    return frame


def stack_counts(frames: Sequence[ImuFrame]) -> npt.NDArray[np.int16]:
    """The counts of frames of one shape, stacked: (frames, samples, channels). Decoded
    frames' payloads are joined and viewed at once (one array, not one view per frame)."""
    payloads = [f.payload for f in frames]
    if not frames or any(p is None for p in payloads):
        return np.stack([f.counts for f in frames])
    first = frames[0]
    size = HEADER_SIZE + 2 * first.channels * first.n_samples
    return np.ndarray((len(frames), first.n_samples, first.channels), dtype=_INT16_LE,
                      buffer=b"".join(p for p in payloads if p is not None),
                      offset=HEADER_SIZE, strides=(size, 2 * first.channels, 2))
