"""The spooled writer keeps every point on disk until InfluxDB took it."""

from __future__ import annotations

from pathlib import Path

import pytest

from footfall.stack.servers import Server, free_port
from footfall.storage.influx import (
    InfluxClient,
    InfluxError,
    InfluxTarget,
    SpooledWriter,
    rows,
)

pytestmark = pytest.mark.servers


def lines(n: int, start_ms: int = 1_795_540_800_000) -> list[str]:
    return [f"step,athlete=a,device=d,session=s impact_g={i}.5 {start_ms + i}" for i in range(n)]


async def count(target: InfluxTarget) -> int:
    async with InfluxClient(target) as client:
        found = rows(await client.query('SELECT count("impact_g") FROM "step"'))
    return int(found[0]["count"]) if found else 0


async def test_unsent_batches_survive_the_process_and_go_out_at_next_start(
    influxdb: Server, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    dead = InfluxTarget(f"http://127.0.0.1:{free_port()}", "spooltest")  # nothing listens
    async with InfluxClient(dead, timeout_s=0.5) as client:
        writer = SpooledWriter(client, spool, backoff_initial_s=0.05, backoff_max_s=0.1)
        await writer.__aenter__()
        writer.add(lines(12_000))  # more than one batch
        assert not await writer.flush(timeout_s=1.0)
        await writer.close(timeout_s=0.5)  # the process ends with InfluxDB still away
        assert writer.stats.write_failures > 0 and writer.stats.lines_written == 0
    assert len(list(spool.glob("*.lp"))) == 3  # 5000 + 5000 + 2000, on disk

    live = InfluxTarget(influxdb.url, "spooltest")
    async with InfluxClient(live) as client, SpooledWriter(client, spool) as writer:
        assert await writer.flush(timeout_s=30)
        assert writer.stats.lines_written == 12_000
    assert not list(spool.glob("*.lp"))
    assert await count(live) == 12_000


async def test_bad_data_is_set_aside_with_the_reason_not_retried(
    influxdb: Server, tmp_path: Path
) -> None:
    target = InfluxTarget(influxdb.url, "badtest")
    async with InfluxClient(target) as client, SpooledWriter(client, tmp_path) as writer:
        writer.add(["step,athlete=a impact_g=oops 1"])
        assert await writer.flush(timeout_s=30)
        writer.add(lines(3))
        assert await writer.flush(timeout_s=30)
    assert writer.stats.lines_rejected == 1 and writer.stats.lines_written == 3
    reasons = list((tmp_path / "rejected").glob("*.reason"))
    assert len(reasons) == 1 and "400" in reasons[0].read_text()
    assert len(list((tmp_path / "rejected").glob("*.lp"))) == 1


async def test_query_errors_are_reported(influxdb: Server) -> None:
    async with InfluxClient(InfluxTarget(influxdb.url, "x")) as client:
        with pytest.raises(InfluxError, match="query"):
            await client.query("SELEKT nonsense")
