"""Processing throughput: samples/s per core, streaming detector vs an offline SciPy baseline.

    .venv/bin/python benchmarks/bench_processing.py            # full run (~1 min)
    .venv/bin/python benchmarks/bench_processing.py --quick    # smoke run

Everything runs on one core (BLAS/OpenMP threads pinned to 1) on the same synthetic 1 kHz
tibia data, in the same run:

- *baseline*: the offline SciPy way on a whole recording — zero-phase ``sosfiltfilt`` +
  ``find_peaks`` (it sees the future, so it is the speed to beat, not a live method);
- *one stream, live path*: :class:`SessionProcessor.feed_frame` with 50-sample frames (what
  the MQTT service does: frame decode excluded, events and per-second metrics included);
- *one stream, detector*: :class:`StepDetector` on the same 50-sample chunks;
- *N concurrent 1 kHz streams*: one :class:`StepDetector`'s streams advanced by a 20-ms tick
  of all N at once (``append_rows``, arrays of shape (N, 20)), vs N separate processors fed
  20-sample frames.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

from footfall.processing.clipping import full_scale_mask
from footfall.processing.detector import StepDetector
from footfall.processing.reference import offline_peaks
from footfall.processing.session import SessionProcessor
from footfall.processing.tuning import PLACEMENT_TUNING
from footfall.recordings.framing import frame_counts
from footfall.simulators.runner import RunnerParams, synthesize
from footfall.wire.events import DeviceMeta
from footfall.wire.frame import INT16_FULL_SCALE, MAX_SAMPLES, ImuFrame

RATE_HZ = 1000.0
RANGE_G = 32


def best_of(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def counts_for(streams: int, duration_s: float) -> np.ndarray:
    """(streams, n, 3) int16: one synthetic run per distinct seed, tiled with shifts."""
    base = [synthesize(RunnerParams(sample_rate_hz=RATE_HZ, accel_range_g=RANGE_G, seed=s,
                                    cadence_spm=160.0 + 4 * s), duration_s).counts
            for s in range(min(streams, 4))]
    out = np.empty((streams, base[0].shape[0], 3), dtype=np.int16)
    for i in range(streams):
        out[i] = np.roll(base[i % len(base)], 37 * i, axis=0)
    return out


def baseline(counts: np.ndarray) -> int:
    """Offline: resultant, zero-phase low-pass, find_peaks — per stream, whole recording."""
    prof = PLACEMENT_TUNING["tibia"]
    found = 0
    for c in counts:
        g = c.astype(np.float64) * (RANGE_G / INT16_FULL_SCALE)
        r = np.sqrt(np.einsum("ij,ij->i", g, g))
        found += offline_peaks(r, RATE_HZ, prof.lowpass_hz, prof.min_refractory_ms / 1000,
                               prof.min_impact_g).size
    return found


def live_path(frames: list[ImuFrame]) -> int:
    proc = SessionProcessor("bench", "bench")
    proc.set_meta("d", DeviceMeta(profile="sim", placement="tibia", side="left"))
    n = 0
    for f in frames:
        n += len(proc.feed_frame("d", f))
    return n + len(proc.finish())


def _prepare(c: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(…, n, 3) counts → resultant, axial, rail, axes, as the processor derives them."""
    g = c.astype(np.float64) * (RANGE_G / INT16_FULL_SCALE)
    r = np.sqrt(np.einsum("...ij,...ij->...i", g, g))
    return r, g[..., 0], full_scale_mask(c), g


def detector_bank(counts: np.ndarray, tick: int) -> int:
    """All streams advanced together, ``tick`` samples at a time (``append_rows``: each
    stream's first chunk starts its segment on its own)."""
    det = StepDetector(RATE_HZ, "tibia")
    states = [det.new_state() for _ in range(counts.shape[0])]
    n = counts.shape[1]
    found = 0
    for i in range(0, n, tick):
        r, ax, rail, axes = _prepare(counts[:, i:i + tick])
        if i == 0:
            for k, state in enumerate(states):
                found += len(det.process(state, i, r[k], ax[k], rail[k], axes[k]))
            continue
        for state, f in zip(states, det.append_rows(states, r, ax, rail, axes), strict=True):
            found += len(det.decide_row(state, f))
    return found + sum(len(det.flush(state)) for state in states)


def per_stream_detectors(counts: np.ndarray, tick: int) -> int:
    """One StepDetector state per stream, fed ``tick``-sample chunks stream after stream: the
    part of the per-stream live path a bank batches."""
    det = StepDetector(RATE_HZ, "tibia")
    states = [det.new_state() for _ in range(counts.shape[0])]
    n = counts.shape[1]
    found = 0
    for i in range(0, n, tick):
        for k, state in enumerate(states):
            r, ax, rail, axes = _prepare(counts[k, i:i + tick])
            found += len(det.process(state, i, r, ax, rail, axes))
    return found


def per_stream_processors(counts: np.ndarray, tick: int) -> int:
    procs = []
    for k in range(counts.shape[0]):
        p = SessionProcessor("bench", "bench")
        p.set_meta(f"d{k}", DeviceMeta(profile="sim", placement="tibia", side="left"))
        procs.append(p)
    frames = [[t.frame for t in frame_counts(c, sample_rate_hz=RATE_HZ, accel_range_g=RANGE_G,
                                              samples_per_frame=tick)[0]] for c in counts]
    n = 0
    for j in range(len(frames[0])):
        for k, p in enumerate(procs):
            n += len(p.feed_frame(f"d{k}", frames[k][j]))
    return n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes, one repeat")
    parser.add_argument("--streams", type=int, nargs="*", default=None,
                        help="concurrent stream counts (default 100 500)")
    args = parser.parse_args()
    repeat = 1 if args.quick else 3
    single_s = 20.0 if args.quick else 120.0
    multi_s = 5.0 if args.quick else 20.0
    stream_counts = args.streams or ([50] if args.quick else [100, 500])

    one = counts_for(1, single_s)
    samples = one.shape[1]
    frames = [t.frame for t in frame_counts(one[0], sample_rate_hz=RATE_HZ, accel_range_g=RANGE_G,
                                            samples_per_frame=50)[0]]
    t_base = best_of(lambda: baseline(one), repeat)
    t_live = best_of(lambda: live_path(frames), repeat)
    t_det = best_of(lambda: per_stream_detectors(one, 50), repeat)
    big = [t.frame for t in frame_counts(one[0], sample_rate_hz=RATE_HZ, accel_range_g=RANGE_G,
                                         samples_per_frame=MAX_SAMPLES)[0]]
    t_off = best_of(lambda: live_path(big), repeat)
    rows = [("1 stream, offline baseline (sosfiltfilt + find_peaks)", samples / t_base, 1.0),
            ("1 stream, live path (SessionProcessor, 50-sample frames)", samples / t_live,
             t_base / t_live),
            ("1 stream, detector only (50-sample chunks)", samples / t_det, t_base / t_det),
            ("1 stream, offline analysis (SessionProcessor, 65535-sample frames)",
             samples / t_off, t_base / t_off)]
    for n_streams in stream_counts:
        many = counts_for(n_streams, multi_s)
        total = many.shape[0] * many.shape[1]
        tb = best_of(lambda: baseline(many), repeat)  # noqa: B023
        tk = best_of(lambda: detector_bank(many, 20), repeat)  # noqa: B023
        tp = best_of(lambda: per_stream_processors(many, 20), 1)  # noqa: B023
        td = best_of(lambda: per_stream_detectors(many, 20), 1)  # noqa: B023
        rows += [
            (f"{n_streams} streams, offline baseline", total / tb, 1.0),
            (f"{n_streams} streams, one detector, rows advanced together (append_rows), 20-ms "
             "ticks", total / tk, tb / tk),
            (f"{n_streams} streams, one StepDetector each (detector only), 20-sample chunks",
             total / td, tb / td),
            (f"{n_streams} streams, one SessionProcessor each, 20-sample frames", total / tp,
             tb / tp),
        ]
    print(f"one core, synthetic 1 kHz tibia, best of {repeat}")
    print("| case | samples/s | × baseline | real time × (1 kHz) |")
    print("|---|---:|---:|---:|")
    for name, rate, ratio in rows:
        print(f"| {name} | {rate / 1e6:.2f} M | {ratio:.2f} | {rate / RATE_HZ:,.0f} |")


if __name__ == "__main__":
    main()
