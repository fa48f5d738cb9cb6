"""The processor's per-message cost without a broker: ``ProcessorService.handle`` and the
journal, for N synthetic 1 kHz tibia sensors in 25-sample frames, in-process.

    .venv/bin/python benchmarks/bench_handle.py                    # 200 sensors, 20 s of data
    .venv/bin/python benchmarks/bench_handle.py --sensors 100 --seconds 10 --profile out.prof
    PYTHONPATH=/tmp/old .venv/bin/python benchmarks/bench_handle.py   # another checkout

The frames are the load generator's (benchmarks/loadgen.py: two gaits, both legs, each
athlete at another offset), handed over one tick (one frame of every sensor) at a time, as a
batch: each message handled and journalled, then the journal flushed, as the processor does.
Printed: CPU per message (process time), the number of derived events and a SHA-256 of all of
them (topic and JSON, in order). A change that leaves the analysis alone must leave the
digest alone: the digest is how issue 16's optimisations were checked, commit after commit.
``--tuned`` applies the collector setting ``footfall process`` uses (service.processor
``tune_collector``). Timings on a shared machine vary by ±5–10 %: compare in alternation.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import loadgen

from footfall.config.limits import Limits
from footfall.config.settings import Settings
from footfall.core.vocab import Side
from footfall.simulators.runner import RunnerParams, synthesize
from footfall.wire.events import DeviceMeta
from footfall.wire.frame import HEADER, MAGIC, VERSION
from footfall.wire.topics import Stream, Topic

#: a fixed clock for the frames' UTC, so the digest does not depend on the day
START_NS = 1_800_000_000_000_000_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sensors", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20.0, help="of data per sensor")
    parser.add_argument("--tuned", action="store_true", help="footfall process's gc setting")
    parser.add_argument("--batch", type=int, default=1000,
                        help="messages a batch (the processor's MAX_BATCH)")
    parser.add_argument("--one-by-one", action="store_true",
                        help="ProcessorService.handle per message (before: handle_many)")
    parser.add_argument("--profile", type=Path, help="write a cProfile of the handling here")
    parser.add_argument("--batch-times", type=Path, metavar="NPY",
                        help="save each batch's CPU time (s) here, in order: a batch that "
                        "takes far longer than the others holds up the steps behind it")
    parser.add_argument("--lose-pct", type=float, default=0.0,
                        help="drop this share of the frames at random (seeded), as a broker "
                        "whose queue for the processor is full drops what comes in: what "
                        "a message costs past the processor's capacity")
    args = parser.parse_args()

    from footfall.service.processor import ProcessorService

    rate, range_g, n = loadgen.RATE_HZ, loadgen.RANGE_G, loadgen.FRAME_SAMPLES
    ticks = int(args.seconds * 1000 / n)
    samples = ticks * n + loadgen.MAX_OFFSET
    signals = {}
    for gait in range(loadgen.GAITS):
        for side in (Side.LEFT, Side.RIGHT):
            run = synthesize(RunnerParams(sample_rate_hz=rate, accel_range_g=range_g,
                                          seed=gait, cadence_spm=164.0 + 6 * gait, side=side),
                             samples / rate)
            signals[gait, side] = np.ascontiguousarray(run.counts[:samples, :3]).tobytes()
    digest = hashlib.sha256()
    events = 0

    def on_event(topic: Topic, event: object) -> None:
        nonlocal events
        digest.update(str(topic).encode())
        digest.update(event.to_json())  # type: ignore[attr-defined]
        events += 1

    with tempfile.TemporaryDirectory(prefix="bench-handle-") as tmp:
        # two sensors a session: past 400 the default limits.max_sessions would refuse some
        limits = Limits(max_sessions=max(200, args.sensors))
        service = ProcessorService(Settings(state_dir=Path(tmp), limits=limits), writer=None,
                                   on_event=on_event)
        sensors = []
        for i in range(args.sensors):
            athlete, session, name, side = loadgen.device(i)
            meta = DeviceMeta(profile="sim", placement="tibia", side=side, sample_rate_hz=rate,
                              accel_range_g=range_g, model="bench").to_json()
            service.handle(str(Topic(athlete, session, name, Stream.META)), meta)
            offset = (i // 2) * 37 % loadgen.MAX_OFFSET
            sensors.append((str(Topic(athlete, session, name, Stream.IMU)),
                            signals[(i // 2) % loadgen.GAITS, side], offset * 6))
        frame_bytes = n * 6
        batches = []
        for k in range(ticks):
            header = HEADER.pack(MAGIC, VERSION, 3, k, k * loadgen.FRAME_NS // 1000,
                                 START_NS + k * loadgen.FRAME_NS, float(rate), range_g, 0, n, 0)
            at = k * frame_bytes
            batches.append([(topic, header + body[off + at:off + at + frame_bytes])
                            for topic, body, off in sensors])

        if args.lose_pct:  # (each frame on its own: a full queue drops what arrives)
            keep = np.random.default_rng(0).random((ticks, args.sensors)) >= args.lose_pct / 100
            batches = [[m for m, kept in zip(batch, row, strict=True) if kept]
                       for batch, row in zip(batches, keep, strict=True)]
        if not args.one_by_one:  # the processor's batches: up to MAX_BATCH messages
            flat = [m for batch in batches for m in batch]
            batches = [flat[i:i + args.batch] for i in range(0, len(flat), args.batch)]

        spent_s: list[float] = []  # each batch's handling, for --batch-times

        def run() -> int:
            count = 0
            for batch in batches:
                t0 = time.process_time()
                accepted = ([service.handle(topic, body) for topic, body in batch]
                            if args.one_by_one else service.handle_many(batch))
                for (topic, body), ok in zip(batch, accepted, strict=True):
                    if ok:
                        parts = topic.split("/")
                        service.journal.append((parts[2], parts[3]), topic, body)
                    count += 1
                service.journal.flush()
                while not service.outbox.empty():  # nothing publishes here
                    service.outbox.get_nowait()
                spent_s.append(time.process_time() - t0)
            return count

        if args.tuned:
            from footfall.service.processor import tune_collector
            tune_collector()
        cpu0 = time.process_time()
        if args.profile:
            profiler = cProfile.Profile(time.process_time)
            count = profiler.runcall(run)
            profiler.dump_stats(args.profile)
        else:
            count = run()
        cpu = time.process_time() - cpu0
        if args.batch_times:
            np.save(args.batch_times, np.array(spent_s))
            ms = np.array(spent_s) * 1e3
            print(f"a batch: median {np.median(ms):.1f} ms, p99 {np.percentile(ms, 99):.1f}, "
                  f"max {ms.max():.1f} ({len(ms)} batches; each one saved in {args.batch_times})")
        service._finish_all()  # the sessions' last events count in the digest too
        service.journal.close()
    print(f"{args.sensors} sensors, {count} messages: {cpu / count * 1e6:.1f} µs a message; "
          f"{events} events, sha256 {digest.hexdigest()[:16]}")


if __name__ == "__main__":
    main()
