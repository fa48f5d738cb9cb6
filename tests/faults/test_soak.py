"""A soak: an hour of session time from two 500 Hz sensors through the gateway as fast as the
broker takes it, the processor's resident memory sampled all along.

After a warm-up (the first tenth of the messages: baselines, buffers and caches fill), memory
must stay flat: it may not grow by more than :data:`MAX_GROWTH_MB` to the end. An hour of
steps, metrics and the session's summary state are far below that; anything that keeps every
sample or frame (2 × 1.8 M samples) would be far above it.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.faults.harness import Checks, Observer, Proc, Rig, streamed_case, verdict

pytestmark = [pytest.mark.faults, pytest.mark.servers]

SESSION_S = 3600.0
WARMUP_FRACTION = 0.1
MAX_GROWTH_MB = 16.0


@pytest.mark.timeout(1200)
async def test_soak_an_hour_of_session_time(rig: Rig) -> None:
    checks = Checks()
    details: dict[str, object] = {}

    async def sample(rig: Rig, observer: Observer, gateway: Proc, processor: Proc) -> None:
        # (wall time, RSS kB); at full speed the session advances at a steady pace, so the
        # share of the wall time is the share of the session
        samples: list[tuple[float, int]] = []
        while gateway.alive():
            rss = processor.rss_kb()
            if rss is not None:
                samples.append((rig.elapsed(), rss))
            await asyncio.sleep(1.0)
        end = samples[-1][0] if samples else 1.0
        warm = [kb for t, kb in samples if t >= WARMUP_FRACTION * end]
        checks.check(len(warm) >= 10, f"enough samples after the warm-up ({len(warm)})")
        if warm:
            growth_mb = (max(warm) - warm[0]) / 1024
            details.update(rss_start_mb=round(samples[0][1] / 1024, 1),
                           rss_after_warmup_mb=round(warm[0] / 1024, 1),
                           rss_max_mb=round(max(warm) / 1024, 1),
                           rss_end_mb=round(warm[-1] / 1024, 1),
                           growth_mb=round(growth_mb, 1), samples=len(samples),
                           # RSS (MB) at each tenth of the session: flat, or a slope?
                           rss_mb_by_tenth=[round(next(kb for t, kb in samples
                                                       if t >= tenth / 10 * end) / 1024, 1)
                                            for tenth in range(11)])
            rig.note(f"processor RSS {warm[0] / 1024:.0f} MB after the warm-up, at most "
                     f"{max(warm) / 1024:.0f} MB, {warm[-1] / 1024:.0f} MB at the end "
                     f"(+{growth_mb:.1f} MB; bound {MAX_GROWTH_MB:.0f} MB) over "
                     f"{rig.elapsed():.0f} s")
            checks.check(growth_mb <= MAX_GROWTH_MB, f"RSS flat after the warm-up: grew "
                                                     f"{growth_mb:.1f} MB (bound "
                                                     f"{MAX_GROWTH_MB:.0f} MB)")

    result = await streamed_case(rig, "soak", sample, session_s=SESSION_S, speed=0.0,
                                 lead_s=0.0, checks=checks, details=details)
    assert result.passed, verdict(result, rig)
