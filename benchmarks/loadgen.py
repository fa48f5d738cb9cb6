"""A cheap MQTT load generator: N tibia sensors at 1 kHz in 25-sample frames, in real time.

    .venv/bin/python benchmarks/loadgen.py --port 1883 --sensors 400 --seconds 30 --log ticks.npy

It stands in for many gateways on other machines. A paho QoS 1 publish costs ~70 µs of CPU
(40 k messages/s, 1,000 sensors, would need ~2.8 cores), so this one writes pre-encoded MQTT
3.1.1 PUBLISH packets straight to one TCP connection, a few µs each:

- first, per device, its real ``DeviceMeta`` (QoS 1, retained, as every gateway sends it);
- then every 25 ms one *tick*: frame k of every sensor (QoS 1), each a real footfall v1 frame
  (``footfall.wire.frame``: 36-byte header + 25 × 3 int16) of a synthetic runner
  (``footfall.simulators.runner``), two leg sensors per athlete, session ``s1``;
- frame k covers the samples [start + 25k ms, start + 25(k+1) ms) and is sent once its last
  sample is due (start + 25(k+1) ms on the wall clock), as a sensor would; ``utc_ns`` in its
  header is its first sample's wall time;
- with ``--stagger`` athlete a's two sensors start at tick (17 a) mod 40 of the first second
  (their frame 0 then; the same wall clock), as sensors switched on one by one do. Without it
  every sensor starts at once, so every stream's per-second metrics fall due in the same 25 ms
  tick: the worst case for the step latency (docs/benchmarks.md, "The ninth round").

QoS 1 packet ids cycle 1…65535 with at most ``--window`` unacknowledged; PUBACKs are counted
by bytes (4 each; keep-alive 0, so the broker sends nothing else). ``--log`` saves, per tick, the
wall time (ns) at which its last PUBLISH was handed to the socket: the publish time of every
frame, for the step latency. The summary is one JSON line on stdout.
"""

from __future__ import annotations

import argparse
import json
import select
import socket
import struct
import sys
import time

import numpy as np

from footfall.core.vocab import Side
from footfall.simulators.runner import RunnerParams, synthesize
from footfall.wire.events import DeviceMeta
from footfall.wire.frame import HEADER, MAGIC, VERSION
from footfall.wire.intake import remaining_length, utf8_field
from footfall.wire.topics import Stream, Topic

RATE_HZ = 1000
RANGE_G = 32
FRAME_SAMPLES = 25
FRAME_NS = FRAME_SAMPLES * 1_000_000
#: distinct gaits (each rendered for both legs); sensors reuse them at different offsets
GAITS = 2
MAX_OFFSET = 4000  # samples


def start_tick(i: int, stagger: bool) -> int:
    """The tick at which sensor ``i`` sends its first frame (its frame k at tick start + k)."""
    return (i // 2) * 17 % (1_000_000_000 // FRAME_NS) if stagger else 0


def device(i: int) -> tuple[str, str, str, Side]:
    """Sensor ``i``: athlete, session, device, side (two leg sensors per athlete)."""
    side = Side.LEFT if i % 2 == 0 else Side.RIGHT
    return f"a{i // 2:04d}", "s1", f"tibia-{side.value}", side


def _connect(port: int, client_id: str) -> socket.socket:
    body = utf8_field("MQTT") + bytes([4, 0x02]) + struct.pack(">H", 0) + utf8_field(client_id)
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.sendall(b"\x10" + remaining_length(len(body)) + body)
    ack = sock.recv(4)
    if ack[:2] != b"\x20\x02" or ack[3] != 0:
        raise SystemExit(f"broker refused the connection: CONNACK {ack!r}")
    return sock


class Publisher:
    """QoS 1 PUBLISH packets on one socket, at most ``window`` unacknowledged."""

    def __init__(self, sock: socket.socket, window: int) -> None:
        self.sock = sock
        self.window = window
        self.sent = self.acked = 0
        self._partial = 0
        sock.setblocking(False)

    def read_acks(self, wait_s: float = 0.0) -> None:
        while select.select([self.sock], [], [], wait_s)[0]:
            try:
                data = self.sock.recv(1 << 16)
            except BlockingIOError:
                return
            if not data:
                raise SystemExit("broker closed the connection")
            self._partial += len(data)
            self.acked += self._partial // 4
            self._partial %= 4
            wait_s = 0.0

    def send(self, packets: list[bytes]) -> None:
        while self.sent + len(packets) - self.acked > self.window:
            self.read_acks(0.01)
        view = memoryview(b"".join(packets))
        while view:
            try:
                view = view[self.sock.send(view):]
            except BlockingIOError:
                select.select([], [self.sock], [], 0.05)
                self.read_acks()
        self.sent += len(packets)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--sensors", type=int, required=True)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--window", type=int, default=20000, help="unacked QoS 1 PUBLISHes")
    parser.add_argument("--log", help="save each tick's publish wall time (ns) here (.npy)")
    parser.add_argument("--client-id", default="footfall-loadgen")
    parser.add_argument("--stagger", action="store_true",
                        help="start the athletes at different ticks of the first second")
    args = parser.parse_args()

    ticks = int(args.seconds * 1000 / (FRAME_NS / 1e6))
    samples = ticks * FRAME_SAMPLES + MAX_OFFSET
    signals = {}  # (gait, side) → the whole run's int16 counts as bytes
    for gait in range(GAITS):
        for side in (Side.LEFT, Side.RIGHT):
            run = synthesize(RunnerParams(sample_rate_hz=RATE_HZ, accel_range_g=RANGE_G,
                                          seed=gait, cadence_spm=164.0 + 6 * gait, side=side),
                             samples / RATE_HZ)
            signals[gait, side] = np.ascontiguousarray(run.counts[:samples, :3]).tobytes()
    sensors = []  # (PUBLISH head up to the packet id, signal bytes, byte offset)
    metas = []
    pid = 0

    def next_pid() -> bytes:
        nonlocal pid
        pid = pid % 65535 + 1
        return struct.pack(">H", pid)

    frame_len = HEADER.size + FRAME_SAMPLES * 3 * 2
    for i in range(args.sensors):
        athlete, session, name, side = device(i)
        topic = utf8_field(str(Topic(athlete, session, name, Stream.IMU)))
        head = b"\x32" + remaining_length(len(topic) + 2 + frame_len) + topic
        offset = (i // 2) * 37 % MAX_OFFSET
        sensors.append((head, signals[(i // 2) % GAITS, side], offset * 6,
                        start_tick(i, args.stagger)))
        meta = DeviceMeta(profile="sim", placement="tibia", side=side, sample_rate_hz=RATE_HZ,
                          accel_range_g=RANGE_G, model="loadgen").to_json()
        meta_topic = utf8_field(str(Topic(athlete, session, name, Stream.META)))
        metas.append((b"\x33" + remaining_length(len(meta_topic) + 2 + len(meta)) + meta_topic,
                      meta))

    pub = Publisher(_connect(args.port, args.client_id), args.window)
    pub.send([head + next_pid() + body for head, body in metas])
    while pub.acked < pub.sent:
        pub.read_acks(0.05)

    sent_ns = np.zeros(ticks, dtype=np.int64)
    frame_bytes = FRAME_SAMPLES * 6
    cpu0 = time.process_time()
    start_ns = time.time_ns() + 50_000_000
    late = 0
    for k in range(ticks):
        due_ns = start_ns + (k + 1) * FRAME_NS
        if due_ns < time.time_ns():
            late += 1
        while (wait := (due_ns - time.time_ns()) / 1e9) > 0:
            pub.read_acks(wait)
        headers: dict[int, bytes] = {}  # by the sensors' frame number (k − start tick)
        packets = []
        for head, body, off, first in sensors:
            if (j := k - first) < 0:
                continue
            if (header := headers.get(j)) is None:
                header = headers[j] = HEADER.pack(MAGIC, VERSION, 3, j, j * FRAME_NS // 1000,
                                                  start_ns + k * FRAME_NS, float(RATE_HZ),
                                                  RANGE_G, 0, FRAME_SAMPLES, 0)
            at = off + j * frame_bytes
            packets.append(head + next_pid() + header + body[at:at + frame_bytes])
        pub.send(packets)
        sent_ns[k] = time.time_ns()
        pub.read_acks()
    end = time.monotonic() + 30
    while pub.acked < pub.sent and time.monotonic() < end:
        pub.read_acks(0.05)
    cpu = time.process_time() - cpu0
    pub.sock.setblocking(True)
    pub.sock.sendall(b"\xe0\x00")  # DISCONNECT
    pub.sock.close()
    if args.log:
        np.save(args.log, np.concatenate(([start_ns], sent_ns)))
    elapsed = (sent_ns[-1] - start_ns) / 1e9
    frames = sum(ticks - first for *_, first in sensors)
    print(json.dumps({"sensors": args.sensors, "frames": frames, "metas": len(metas),
                      "sent": pub.sent, "acked": pub.acked, "seconds": round(elapsed, 3),
                      "rate": round(frames / elapsed), "late_ticks": late,
                      "cpu_s": round(cpu, 3),
                      "cpu_us_per_msg": round(cpu / max(frames, 1) * 1e6, 2)}), flush=True)


if __name__ == "__main__":
    sys.exit(main())
