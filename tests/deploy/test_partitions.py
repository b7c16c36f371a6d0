"""deploy/nats/partitions.json on a real nats-server: the per-partition stream derived from MUSTER.

Every event of MUSTER lands in exactly one partition, chosen by its site alone, in MUSTER's
order and with MUSTER's sequence in the `Nats-Stream-Source` header, which is what one projector
and one notifier per partition need. MUSTER itself keeps the contract's subjects (CONTRACT §4).
"""

import asyncio
import json
from collections import defaultdict

import nats
import pytest
from nats.js import JetStreamContext
from nats.js.api import StreamConfig

from command.infra.eventlog import EventLog, connect
from tests.deploy.nats_cluster import NATS_DIR

SITES = [f"school-{i}" for i in range(24)] + ["demo-high"]
PARTITIONS = 3


async def collect(js: JetStreamContext, stream: str, subject: str,
                  count: int) -> list[nats.aio.msg.Msg]:
    sub = await js.subscribe(subject, stream=stream, ordered_consumer=True)
    try:
        return [await sub.next_msg(timeout=5) for _ in range(count)]
    finally:
        await sub.unsubscribe()


async def wait_messages(js: JetStreamContext, stream: str, count: int) -> None:
    for _ in range(100):
        if (await js.stream_info(stream)).state.messages >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{stream} did not reach {count} messages")


@pytest.mark.timeout(60)
async def test_each_site_lands_in_one_partition_in_stream_order(nats_url: str) -> None:
    nc = await connect(nats_url)
    try:
        js = nc.jetstream()
        config = StreamConfig.from_response(json.loads((NATS_DIR / "partitions.json").read_text()))
        assert config.num_replicas == 3 and [s.name for s in config.sources or []] == ["MUSTER"]
        config.num_replicas = 1  # one server here; the cluster keeps three
        # Created before MUSTER, as the compose job may be: the source waits for its stream.
        await js.add_stream(config)
        log = EventLog(nc)
        await log.ensure_stream()
        published = []
        for round_ in range(3):
            for site in SITES:
                subject = log.subject(site, f"inc-{round_ % 2}" if round_ else None)
                ack = await js.publish(subject, b"{}", headers={"Nats-Msg-Id": f"{site}/{round_}"})
                published.append((ack.seq, subject))
        await wait_messages(js, config.name or "", len(published))

        stored = await collect(js, "MUSTER", "muster.events.>", len(published))
        assert [(m.metadata.sequence.stream, m.subject) for m in stored] == published

        derived = await collect(js, config.name or "", "muster.partition.>", len(published))
        partition_of: dict[str, set[str]] = defaultdict(set)
        order: dict[str, list[int]] = defaultdict(list)
        seen = []
        for m in derived:
            _, _, partition, site, incident = m.subject.split(".")
            origin, seq = (m.headers or {})["Nats-Stream-Source"].split()[:2]
            assert origin == "MUSTER"
            assert (int(seq), f"muster.events.{site}.{incident}") in published
            partition_of[site].add(partition)
            order[partition].append(int(seq))
            seen.append(int(seq))
        assert sorted(seen) == [seq for seq, _ in published], "each event exactly once"
        assert all(len(p) == 1 for p in partition_of.values()), "a site spans partitions"
        assert sorted(order) == [str(p) for p in range(PARTITIONS)], "a partition is unused"
        for seqs in order.values():
            assert seqs == sorted(seqs), "a partition is out of MUSTER's order"
    finally:
        await nc.close()
