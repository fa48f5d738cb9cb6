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


async def test_a_partial_write_is_split_and_keeps_the_good_lines(
    influxdb: Server, tmp_path: Path
) -> None:
    """InfluxDB stores 20 of 21 lines and answers 400 "partial write": the 20 are not thrown
    away with the one, and the one is kept with the reason."""
    target = InfluxTarget(influxdb.url, "partialtest")
    batch = lines(21)
    batch[13] = 'step,athlete=a,device=d,session=s impact_g="a string" 1795540800013'
    async with InfluxClient(target) as client, SpooledWriter(client, tmp_path) as writer:
        writer.add(lines(1, start_ms=1_795_540_000_000))  # impact_g is a float from now on
        assert await writer.flush(timeout_s=30)
        writer.add(batch)
        assert await writer.flush(timeout_s=30)
    assert await count(target) == 1 + 20
    assert writer.stats.lines_rejected == 1 and writer.stats.batches_split > 0
    (kept,) = (tmp_path / "rejected").glob("*.lp")
    assert kept.read_text().strip() == batch[13]
    assert "field type conflict" in next((tmp_path / "rejected").glob("*.reason")).read_text()


async def test_a_killed_writer_loses_no_line(influxdb: Server, tmp_path: Path) -> None:
    """Lines are on disk as soon as they are added: a process killed before it sent them
    (here: never closed, and its last line torn) sends them at its next start."""
    target = InfluxTarget(influxdb.url, "killtest")
    async with InfluxClient(target) as client:
        writer = SpooledWriter(client, tmp_path, flush_interval_s=3600)
        writer.spool_dir.mkdir(parents=True, exist_ok=True)
        writer.add(lines(30))  # no __aenter__: nothing is ever sent by this one
        (part,) = tmp_path.glob("*.part")
        with part.open("a") as torn:
            torn.write("step,athlete=a,device=d,session=s impact_g=9")  # died mid-line
    async with InfluxClient(target) as client, SpooledWriter(client, tmp_path) as writer:
        assert await writer.flush(timeout_s=30)
    assert await count(target) == 30
    assert not list(tmp_path.glob("*.part")) and not list(tmp_path.glob("*.lp"))


async def test_refused_credentials_stop_the_writer_and_keep_the_lines(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A 401 is not an outage: no retry loop, a line that says what to fix, nothing lost."""
    from tests.conftest import _require

    _require("influxd")
    server = Server("influxdb", tmp_path / "influx", "127.0.0.1", free_port(),
                    rpc_port=free_port(), env={"INFLUXDB_HTTP_AUTH_ENABLED": "true"})
    server.start()
    try:
        async with InfluxClient(InfluxTarget(server.url, "authtest")) as admin:
            await admin._post_query("CREATE USER admin WITH PASSWORD 'right' "
                                    "WITH ALL PRIVILEGES")
        wrong = InfluxTarget(server.url, "authtest", username="admin", password="wrong")
        spool = tmp_path / "spool"
        async with InfluxClient(wrong) as client:
            writer = SpooledWriter(client, spool, backoff_initial_s=0.01, flush_interval_s=0.05)
            async with writer:
                writer.add(lines(5))
                assert not await writer.flush(timeout_s=2)
                failures = writer.stats.write_failures
                assert not await writer.flush(timeout_s=1)
                assert writer.stats.write_failures == failures  # not retried as an outage
            assert writer.auth_error is not None and "refused the credentials (401)" in \
                writer.auth_error and "influx_token" in writer.auth_error
        assert "refused the credentials" in caplog.text
        right = InfluxTarget(server.url, "authtest", username="admin", password="right")
        async with InfluxClient(right) as client, SpooledWriter(client, spool) as writer:
            assert await writer.flush(timeout_s=30)
        async with InfluxClient(right) as client:
            found = rows(await client.query('SELECT count("impact_g") FROM "step"'))
        assert found[0]["count"] == 5
        # and `footfall process` with wrong credentials stops at once, saying what to fix
        import os
        import subprocess
        import sys

        env = {**os.environ, "FOOTFALL_INFLUX_USERNAME": "admin",
               "FOOTFALL_INFLUX_PASSWORD": "wrong"}
        done = subprocess.run(
            [sys.executable, "-m", "footfall", "process", "--influx-url", server.url,
             "--influx-database", "authtest", "--state-dir", str(tmp_path / "state")],
            env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 2
        assert "refused the credentials (401)" in done.stderr
    finally:
        server.stop()
