"""Nothing acknowledged is lost when a NATS node dies under load.

A three-node cluster runs from the shipped deploy/nats configs (addresses and store dirs rewritten
to loopback and tmp), stream MUSTER at three replicas. Muster's intake takes panic-button presses
over HTTP from many workers while the stream's leader, the node Muster itself is connected to,
is killed with SIGKILL. Presses keep being accepted after a short failover, answered only 202 or
503, and every 202 names an event that is in the stream exactly once, at a sequence that holds
the same command's events, read back from the surviving nodes.
"""

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import nats
import pytest
from nats.js.api import StreamInfo

from command.bootstrap.muster import Muster
from command.domain import events as e
from command.infra import auth
from command.infra.config import Settings
from command.infra.eventlog import EventLog
from tests.conftest import small_site
from tests.deploy.nats_cluster import Cluster

SITES = ("north-high", "south-high", "east-high", "west-high")
ROOMS = ("A-101", "A-102", "B-112", "GYM")
WORKERS_PER_SITE = 3
LOAD_BEFORE_KILL_S = 3.0
LOAD_AFTER_KILL_S = 10.0
FAILOVER_BOUND_S = 15.0  # raft election (~2-5 s) plus client reconnect and intake catch-up
PRESS_DEADLINE_S = 30.0  # a press retried with its client_event_id this long must get its 202


@dataclass
class Attempt:
    cid: str
    site: str
    started: float
    answered: float
    status: int
    body: dict[str, Any]


@dataclass
class Load:
    url: str
    tokens: dict[str, str]
    stop_at: float
    attempts: list[Attempt] = field(default_factory=list)

    def accepted(self) -> list[Attempt]:
        return [a for a in self.attempts if a.status == 202]


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    cl = Cluster(tmp_path / "cluster")
    try:
        cl.start()
        yield cl
    finally:
        cl.stop()


async def connect_all(cluster: Cluster) -> nats.NATS:
    """The test's own client, given every live node: Muster's settings take one URL only. The
    nodes ask for TLS to the cluster's own CA and for the password, as deployed."""
    return await nats.connect(servers=cluster.urls, max_reconnect_attempts=-1,
                              reconnect_time_wait=0.25, tls=cluster.client_tls())


async def wait_stream(log: EventLog, ok: Any, timeout: float = 20.0) -> StreamInfo:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            info = await log.js.stream_info(log.stream)
            if ok(info):
                return info
            last = info.cluster
        except Exception as exc:  # no leader yet answers with an error or a timeout
            last = exc
        await asyncio.sleep(0.1)
    raise AssertionError(f"stream {log.stream} not as wanted within {timeout:g} s: {last}")


def all_current(info: StreamInfo) -> bool:
    cluster = info.cluster
    return (cluster is not None and cluster.leader is not None
            and len(cluster.replicas or []) == 2
            and all(p.current and not p.offline for p in cluster.replicas or []))


@pytest.fixture
async def muster(cluster: Cluster, database_url: str, tmp_path: Path
                 ) -> AsyncIterator[tuple[Muster, str]]:
    """Intake alone, connected to the node that leads stream MUSTER; that node's name."""
    nc = await connect_all(cluster)
    log = EventLog(nc)
    await log.ensure_stream(replicas=3)
    leader = (await wait_stream(log, all_current)).cluster.leader  # type: ignore[union-attr]
    await nc.close()
    settings = Settings(nats_url=cluster.node(leader).url, nats_ca_file=cluster.ca_file,
                        database_url=database_url,
                        http_port=0, data_dir=str(tmp_path / "data"), stream_replicas=3,
                        rate_per_token=0, rate_per_address=0, rate_emergency=0)
    m = Muster(settings, components=("intake",), say=lambda _: None)
    await m.start()
    try:
        yield m, leader
    finally:
        await m.stop()


async def press(session: aiohttp.ClientSession, load: Load, site: str, i: int) -> None:
    """One button press, retried with the same client_event_id on 503 as a real button does."""
    loop = asyncio.get_running_loop()
    cid = str(uuid.uuid4())
    body = {"kind": "lockdown" if i % 3 else "medical", "room": ROOMS[i % len(ROOMS)],
            "client_event_id": cid}
    headers = {"Authorization": f"Bearer {load.tokens[site]}"}
    deadline = loop.time() + PRESS_DEADLINE_S
    while loop.time() < deadline:
        started = loop.time()
        async with session.post(f"{load.url}/v1/sites/{site}/alerts", json=body,
                                headers=headers) as resp:
            answer = await resp.json()
        load.attempts.append(Attempt(cid, site, started, loop.time(), resp.status, answer))
        if resp.status != 503:
            return
        await asyncio.sleep(0.1)


async def worker(session: aiohttp.ClientSession, load: Load, site: str, offset: int) -> None:
    i = offset
    while asyncio.get_running_loop().time() < load.stop_at:
        await press(session, load, site, i)
        i += 1


async def read_ids(cluster: Cluster) -> dict[int, str]:
    """Stream sequence -> event id, for the whole stream, read through the surviving nodes."""
    nc = await connect_all(cluster)
    try:
        return {seq: event.id async for seq, event in EventLog(nc).read(1)}
    finally:
        await nc.close()


@pytest.mark.timeout(120)
async def test_stream_leader_killed_under_load_loses_nothing(
        cluster: Cluster, muster: tuple[Muster, str]) -> None:
    m, leader = muster
    assert m.nc is not None and m.pool is not None
    # Muster was given one URL; it reaches the survivors through the servers the cluster told it
    # (in an INFO that can come a moment after the connection: a CI run once saw 2 of 3 at once).
    for _ in range(200):  # 10 s at most
        if len(m.nc.servers) >= 3:
            break
        await asyncio.sleep(0.05)
    assert len(m.nc.servers) == 3, m.nc.servers
    tokens = {}
    for site in SITES:
        await m.import_site(small_site(site))
        tokens[site], _ = await auth.create(m.pool, "device", site)
    loop = asyncio.get_running_loop()
    load = Load(m.url, tokens, loop.time() + LOAD_BEFORE_KILL_S + LOAD_AFTER_KILL_S)

    timeout = aiohttp.ClientTimeout(total=PRESS_DEADLINE_S)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        workers = [asyncio.create_task(worker(session, load, site, n))
                   for site in SITES for n in range(WORKERS_PER_SITE)]
        await asyncio.sleep(LOAD_BEFORE_KILL_S)
        before_kill = len(load.accepted())
        cluster.node(leader).kill()
        killed_at = loop.time()
        await asyncio.gather(*workers)

    statuses = Counter(a.status for a in load.attempts)
    odd = [a for a in load.attempts if a.status not in (202, 503)]
    assert not odd, f"answers other than 202 and 503: {statuses}; first: {odd[:3]}"
    assert before_kill >= 50, f"the load barely ran before the kill: {before_kill} presses"
    resumed = [a.answered for a in load.accepted() if a.started > killed_at]
    assert resumed, f"no press was accepted after the kill: {statuses}"
    failover = min(resumed) - killed_at
    assert failover < FAILOVER_BOUND_S, f"intake took {failover:.1f} s to accept again"
    after_failover = [a for a in load.accepted() if a.started > killed_at + failover]
    assert len(after_failover) >= 50, f"intake limped after the failover: {len(after_failover)}"
    pressed = {a.cid for a in load.attempts}
    answered = {a.cid for a in load.accepted()}
    assert pressed == answered, f"{len(pressed - answered)} presses never got a 202"

    nc = await connect_all(cluster)
    try:
        log = EventLog(nc)
        moved = await wait_stream(log, lambda i: i.cluster and i.cluster.leader not in (None,
                                                                                        leader))
        ids_at = await read_ids(cluster)  # the two survivors only
        # Back up to three: the killed node's store must come back and catch up to the same end.
        cluster.node(leader).start(cluster.nodes)
        info = await wait_stream(log, all_current)
    finally:
        await nc.close()
    assert sorted(ids_at) == list(range(1, info.state.last_seq + 1))
    counts = Counter(ids_at.values())
    twice = [i for i, n in counts.items() if n > 1]
    assert not twice, f"{len(twice)} event ids are in the stream more than once"
    seq_of = {i: seq for seq, i in ids_at.items()}
    for a in load.accepted():
        event_id, seq = a.body["event_id"], a.body["seq"]
        assert event_id in seq_of, f"acknowledged event {event_id} is not in the stream: {a}"
        # The answered seq holds this command's own events: no acked write was rolled back
        # and its sequence handed to another command after the failover.
        assert ids_at.get(seq) in e.client_event_ids(a.cid, 16), a
        assert seq_of[event_id] <= seq, a
    duplicates = sum(bool(a.body["duplicate"]) for a in load.accepted())
    print(f"\n{len(answered)} presses, {statuses[202]} x 202 ({duplicates} duplicate), "
          f"{statuses[503]} x 503; failover {failover:.2f} s; {len(ids_at)} events; "
          f"killed {leader}, new leader {moved.cluster.leader}")  # type: ignore[union-attr]
