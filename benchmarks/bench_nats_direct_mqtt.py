"""Does NATS 2.9.10 keep every PUBACKed frame when the input stream's leader is killed, with
the gateways publishing MQTT straight to the NATS nodes (no bridge)? No processors: three
gateways (two on the nodes that stay up, one on the leader), the leader killed -9 8 s in and
restarted 5 s later, then the stream's imu messages counted per session (each gateway sends
2,400 frames). docs/scaling.md, "Why a bridge", has the result.

    .venv/bin/python benchmarks/bench_nats_direct_mqtt.py      # ~2 min, real servers
"""
import asyncio
import sys
import tempfile
from pathlib import Path

import nats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from footfall.stack.nats import STREAM
from tests.scale.harness import ScaleRig, _sessions


async def main(kill: bool):
    root = Path(tempfile.mkdtemp(prefix="ffkill-"))
    rig = ScaleRig.create(root)
    await rig.up()
    try:
        names = _sessions(3)
        leader = rig.cluster.stream_leader()
        others = [n for n in rig.cluster.nodes if n is not leader]
        for i, s in enumerate(names):
            rig.start_gateway(s, others[i % 2] if i < 2 else leader, 120, speed=4, seed=i + 1)
        await asyncio.sleep(8)
        if kill:
            leader.kill()
            print("killed", leader.addr.name, flush=True)
            await asyncio.sleep(5)
            leader.start()
            print("restarted", flush=True)
        for g in rig.gateways.values():
            print(g.name, await g.wait(200))
        nc = await nats.connect(rig.cluster.urls)
        js = nc.jetstream(timeout=10)
        info = await js.stream_info(STREAM)
        print("stream msgs", info.state.messages, info.cluster)
        sub = await js.subscribe("ffin.>", ordered_consumer=True)
        seqs = {}
        n = 0
        while True:
            try:
                m = await sub.next_msg(3)
            except Exception:
                break
            n += 1
            p = m.subject.split(".")
            if p[5] == "imu":
                seqs.setdefault((p[3], p[4]), []).append(m.metadata.sequence.stream)
        print("read", n)
        for k, v in sorted(seqs.items()):
            print(k, len(v))
        await nc.close()
    finally:
        await rig.stop_all()
if __name__ == "__main__":
    asyncio.run(main(True))
