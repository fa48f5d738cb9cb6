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
#: notifications (= messages) per second per sensor: 500 Hz in 25-sample chunks
MESSAGES_PER_S = 2 * 20


@pytest.mark.timeout(1200)
async def test_soak_an_hour_of_session_time(rig: Rig) -> None:
    checks = Checks()
    details: dict[str, object] = {}
    total = SESSION_S * MESSAGES_PER_S

    async def sample(rig: Rig, observer: Observer, gateway: Proc, processor: Proc) -> None:
        samples: list[tuple[float, int]] = []  # (share of the session, RSS kB)
        while gateway.alive():
            rss, beat = processor.rss_kb(), rig.heartbeat()
            if rss is not None and beat is not None:
                samples.append((beat.get("messages", 0) / total, rss))
            await asyncio.sleep(1.0)
        warm = [kb for share, kb in samples if share >= WARMUP_FRACTION]
        checks.check(len(warm) >= 10, f"enough samples after the warm-up ({len(warm)})")
        if warm:
            growth_mb = (max(warm) - warm[0]) / 1024
            details.update(rss_start_mb=round(samples[0][1] / 1024, 1),
                           rss_after_warmup_mb=round(warm[0] / 1024, 1),
                           rss_max_mb=round(max(warm) / 1024, 1),
                           rss_end_mb=round(warm[-1] / 1024, 1),
                           growth_mb=round(growth_mb, 1), samples=len(samples))
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
