"""Hostile messages, as a client with the ``ingest`` login (or a flaky network) could send them.

Every message of issue 11 is here, and more. Each goes to its own device of the attacker's
athlete, so that one message's effect cannot hide another's. ``must_quarantine``: the processor
must set the message aside with a reason (it reaches the processor and is malformed). Messages
with ``must_quarantine=False`` are well-formed but absurd (a sensor clock jumping by a year or
to 2⁶⁴−1): handling them as a gap or setting them aside are both fine — what is not fine is to
hang on them. The first frame of a clock-jump pair is valid (``must_quarantine=False`` too).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass

import numpy as np

from footfall.wire.frame import HEADER, MAGIC, VERSION, ImuFrame, encode

ATHLETE = "mallory"
SESSION = "attack"
NOW_NS = 1_796_000_000_000_000_000  # late 2026
BROKER_MAX_PACKET = 262_144  # footfall/deploy/mosquitto/conf.d/footfall.conf


@dataclass(frozen=True)
class Hostile:
    name: str
    topic: str
    payload: bytes
    retain: bool = False
    must_quarantine: bool = True
    reaches_processor: bool = True  # False: the broker itself drops it


def topic(device: str, stream: str, *, athlete: str = ATHLETE, session: str = SESSION) -> str:
    return f"footfall/v1/{athlete}/{session}/{device}/{stream}"


def frame(seq: int, sensor_time_us: int, *, rate_hz: float = 500.0, n: int = 25,
          utc_ns: int = NOW_NS) -> bytes:
    counts = np.zeros((n, 3), dtype=np.int16)
    counts[:, 2] = 2048  # 1 g at ±16 g
    return encode(ImuFrame(seq, sensor_time_us, utc_ns, rate_hz, 16, counts))


def raw_frame(*, seq: int = 0, sensor_time_us: int = 0, utc_ns: int = NOW_NS,
              rate_hz: float = 500.0, range_g: int = 16, channels: int = 3,
              n_samples: int = 25, flags: int = 0, body: bytes | None = None) -> bytes:
    """A frame header packed by hand, so that any field can be anything."""
    header = HEADER.pack(MAGIC, VERSION, channels, seq, sensor_time_us, utc_ns, rate_hz,
                         range_g, 0, n_samples, flags)
    return header + (body if body is not None else bytes(2 * channels * n_samples))


def rsc(**fields: object) -> bytes:
    event = {"v": 1, "type": "rsc", "time_ns": NOW_NS, "speed_mps": 3.0, "cadence_spm": 170.0}
    event.update(fields)
    return json.dumps(event).encode()


def meta(**fields: object) -> bytes:
    event = {"v": 1, "type": "meta", "profile": "footfall", "placement": "tibia",
             "side": "left", "sample_rate_hz": 500.0, "accel_range_g": 16}
    event.update(fields)
    return json.dumps(event).encode()


def nested(total_bytes: int) -> bytes:
    return b"[" * (total_bytes // 2) + b"]" * (total_bytes // 2)


def corpus(seed: int = 11) -> list[Hostile]:
    rng = random.Random(seed)
    out: list[Hostile] = []

    def add(name: str, stream: str, payload: bytes) -> None:
        # control goes to the session's own device id (the only one the processor reads)
        device = "session" if stream == "control" else f"evil-{len(out):02d}"
        out.append(Hostile(name, topic(device, stream), payload))

    # -- the crashers: rsc, meta, frames, nesting
    add("rsc time_ns \"abc\"", "rsc", rsc(time_ns="abc"))
    add("rsc cadence_spm \"y\"", "rsc", rsc(cadence_spm="y"))
    add("rsc time_ns NaN", "rsc", rsc().replace(str(NOW_NS).encode(), b"NaN"))
    add("rsc speed Infinity", "rsc", rsc().replace(b"3.0", b"Infinity", 1))
    add("rsc time_ns in 1823", "rsc", rsc(time_ns=-4_600_000_000_000_000_000))
    add("rsc time_ns in 2262", "rsc", rsc(time_ns=9_200_000_000_000_000_000))
    add("rsc time_ns float", "rsc", rsc(time_ns=1.796e18))
    add("rsc time_ns of 5000 digits", "rsc", rsc().replace(str(NOW_NS).encode(), b"7" * 5000))
    add("rsc cadence -1", "rsc", rsc(cadence_spm=-1))
    add("rsc a list", "rsc", b"[1, 2, 3]")
    add("meta placement [\"x\"]", "meta", meta(placement=["x"]))
    add("meta rate 1e30 Hz", "meta", meta(sample_rate_hz=1e30))
    add("meta side \"both\"", "meta", meta(side="both"))
    add("frame at 1e30 Hz", "imu", raw_frame(rate_hz=1e30))
    add("frame at 1e-30 Hz", "imu", raw_frame(rate_hz=1e-30))
    add("frame at NaN Hz", "imu", raw_frame(rate_hz=float("nan")))
    add("200 kB of nested brackets (meta)", "meta", nested(200_000))
    add("200 kB of nested brackets (rsc)", "rsc", nested(200_000))
    add("200 kB of nested brackets (control)", "control", nested(200_000))
    add("10 kB of nested brackets (status)", "status", nested(10_000))
    # -- sensor clock jumps (well-formed frames, absurd time): must not cost O(jump)
    device = f"evil-{len(out):02d}"
    out.append(Hostile("clock jump: first frame", topic(device, "imu"), frame(0, 1_000_000),
                       must_quarantine=False))
    out.append(Hostile("sensor clock jumps to 2^64-1", topic(device, "imu"),
                       frame(1, 2**64 - 1), must_quarantine=False))
    device = f"evil-{len(out):02d}"
    out.append(Hostile("clock jump: first frame", topic(device, "imu"), frame(0, 1_000_000),
                       must_quarantine=False))
    out.append(Hostile("sensor clock jumps by a year", topic(device, "imu"),
                       frame(1, 1_000_000 + 365 * 86_400 * 10**6), must_quarantine=False))
    # -- sizes
    add("meta of 250 kB", "meta", meta(model="x" * 250_000))
    add("rsc of 100 kB", "rsc", rsc(padding="y" * 100_000))
    add("frame header says 65535 samples, body has 25", "imu", raw_frame(n_samples=65535,
                                                                        body=bytes(150)))
    add("frame of 7 channels", "imu", raw_frame(channels=7))
    add("frame 1 byte short", "imu", frame(0, 0)[:-1])
    add("frame with UTC in 1970", "imu", raw_frame(utc_ns=0))
    add("frame range 0 g", "imu", raw_frame(range_g=0))
    # -- random bytes and empties on every input stream
    for stream in ("imu", "rsc", "meta", "status", "control"):
        add(f"random bytes on {stream}", stream, rng.randbytes(rng.randint(1, 4000)))
    add("empty imu payload", "imu", b"")
    add("empty rsc payload", "rsc", b"")
    add("not UTF-8 (meta)", "meta", b"\xff\xfe" + meta())
    add("status online \"yes\"", "status", b'{"v":1,"type":"status","online":"yes"}')
    add("control unknown command", "control",
        b'{"v":1,"type":"control","command":"rm -rf"}')
    add("10 000 keys of junk (meta)", "meta",
        json.dumps({f"k{i}": i for i in range(10_000)}).encode())
    # -- topics
    out.append(Hostile("athlete id with spaces", f"footfall/v1/mal lory/{SESSION}/d/imu",
                       frame(0, 0)))
    out.append(Hostile("a derived stream's name as the device", topic("session", "imu"),
                       frame(0, 0)))
    out.append(Hostile("an athlete id of 20 kB", f"footfall/v1/{'a' * 20_000}/{SESSION}/d/meta",
                       meta()))
    # -- a retained bad meta: the processor meets it again at every (re)start
    out.append(Hostile("retained bad meta", topic("evil-retained", "meta"),
                       meta(placement=["x"]), retain=True))
    # -- beyond the broker's max_packet_size: the broker drops it (and the sender)
    out.append(Hostile("300 kB frame (over the broker's limit)", topic("evil-huge", "imu"),
                       raw_frame(n_samples=50_000), must_quarantine=False,
                       reaches_processor=False))
    assert len(out[-1].payload) > BROKER_MAX_PACKET
    return out
