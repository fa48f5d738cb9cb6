#!/usr/bin/env python3
"""Make footfall/data/sample-session.mcap: the sample session shipped with footfall.

Exactly how it was made (rerun this script to reproduce it; the output is deterministic):

- a synthetic runner (footfall.simulators.runner, seed 2026) on a treadmill for 240 s:
  120 s at 2.8 m/s (the clinical default warm-up of 60 s, then the 60 s baseline), 60 s at
  3.2 m/s, 60 s at 3.6 m/s (belt ramps 5 s between stages); cadence follows speed (170 spm
  at 3 m/s, +5.6 spm per m/s), tibial PTA too (10 g at 3 m/s, +3.8 g per m/s); right leg 8 %
  harder than the left (symmetry index); fatigue over the last 40 %: cadence −2 %,
  PTA +20 %, contact time +5 %;
- two tibia IMUs, left and right, 500 Hz (the research-grade rate for tibial peaks,
  Mitschke 2017; it keeps the file under 2 MB), ±16 g (the hardest late right-leg strikes
  clip, as they would on a real ±16 g sensor), 0.03 g noise, a perfect BLE link;
- 25 ms frames (the live publisher's chunk), athlete ``demo``, session ``sample-treadmill``,
  starting 2026-01-15T09:00:00Z; ground truth attached as truth/tibia-left.json and
  truth/tibia-right.json.

Usage: .venv/bin/python scripts/make_sample_session.py [-o OUT.mcap]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from footfall.core.vocab import Placement, Side
from footfall.simulators.runner import RunnerParams, render, simulate_gait, treadmill_protocol
from footfall.simulators.synthetic import write_synthetic_session

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "footfall" / "data" / "sample-session.mcap"
START_UTC_NS = 1_768_467_600_000_000_000  # 2026-01-15T09:00:00Z
DURATION_S = 240.0
PARAMS = RunnerParams(
    speed_mps=treadmill_protocol([(120, 2.8), (60, 3.2), (60, 3.6)], ramp_s=5.0),
    asymmetry_pct=8.0,
    fatigue_start_fraction=0.6,
    fatigue_cadence_drop_pct=2.0,
    fatigue_pta_rise_pct=20.0,
    fatigue_contact_rise_pct=5.0,
    noise_g=0.03,
    sample_rate_hz=500.0,
    accel_range_g=16,
    placement=Placement.TIBIA,
    seed=2026,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    gait = simulate_gait(PARAMS, DURATION_S)
    runs = {"tibia-left": render(gait, replace(PARAMS, side=Side.LEFT)),
            "tibia-right": render(gait, replace(PARAMS, side=Side.RIGHT))}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    info = write_synthetic_session(args.output, runs, athlete="demo", session="sample-treadmill",
                                   start_utc_ns=START_UTC_NS,
                                   extra={"made_by": "scripts/make_sample_session.py"})
    size_kb = args.output.stat().st_size / 1024
    print(f"{args.output}: {size_kb:.0f} KiB, {info.message_count} messages, "
          f"{info.duration_s:.1f} s")
    for device, run in runs.items():
        own = run.truth.own()
        print(f"  {device}: {len(own)} strikes, mean impact {float(own.impact_g.mean()):.1f} g, "
              f"{int(own.clipped.sum())} clipped at ±{run.accel_range_g} g")
    return 0


if __name__ == "__main__":
    sys.exit(main())
