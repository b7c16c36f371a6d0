"""The critical path's metrics say what happened (deploy/README.md, "Dashboard and alerts"): a
press seen by a connected board is timed from its append, one nobody watches is not; an alert's
first send is timed from its event, an escalation counted, the outbox's unsent counted; and the
reachability gauges follow the servers. Real NATS, PostgreSQL, Apprise and WebSockets."""

import asyncio
import json
from collections.abc import AsyncIterator

import aiohttp
import asyncpg
import nats
import pytest
import websockets
from prometheus_client.metrics import MetricWrapperBase

from command.domain import commands as c
from command.infra import metrics
from command.infra.eventlog import EventLog
from consumers import outbox
from consumers.dispatcher import FIRST_SEND
from consumers.escalations import ESCALATIONS
from consumers.gateway import FANOUT_LAG
from tests.conftest import App, Sink
from tests.integration.test_notifier import Rig, channels, running


@pytest.fixture
async def rig(eventlog: EventLog, database_url: str, sink: Sink,
              request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    escalate = getattr(request, "param", None)
    async with running(eventlog, database_url, sink, channels(sink, escalate)) as rig:
        yield rig


def sample(collector: MetricWrapperBase, name: str, **labels: str) -> float:
    """One sample's value, read from the collector itself (whether or not this process's
    /metrics lists it), 0 while it has none."""
    return sum(s.value for m in collector.collect() for s in m.samples
               if s.name == name and s.labels == labels)


async def press(http: aiohttp.ClientSession, app: App) -> None:
    headers = {"Authorization": f"Bearer {await app.token('device')}"}
    async with http.post(f"{app.url}/v1/sites/test-high/alerts", headers=headers,
                         json={"kind": "lockdown", "room": "B-112"}) as resp:
        assert resp.status == 202, await resp.text()


async def test_fanout_lag_times_writes_to_boards_and_only_those(app: App) -> None:
    count, total = "muster_board_fanout_lag_seconds_count", "muster_board_fanout_lag_seconds_sum"
    gateway = app.muster.gateway
    assert gateway is not None
    async with aiohttp.ClientSession() as http:
        before, seconds = sample(FANOUT_LAG, count), sample(FANOUT_LAG, total)
        await press(http, app)  # nobody watches test-high: nothing is written, nothing timed
        last = await app.log.last_seq()
        for _ in range(500):
            if gateway.applied >= last:
                break
            await asyncio.sleep(0.02)
        assert sample(FANOUT_LAG, count) == before
        url = (app.url.replace("http", "ws") + "/v1/sites/test-high/board/ws?token="
               + await app.token("staff"))
        async with websockets.connect(url) as ws:
            assert json.loads(await ws.recv())["type"] == "snapshot"
            await press(http, app)
            assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "update"
    timed = sample(FANOUT_LAG, count) - before
    lag = sample(FANOUT_LAG, total) - seconds
    assert timed >= 1 and 0 <= lag / timed < 5  # seconds, not a clock's raw nanoseconds


@pytest.mark.parametrize("rig", [0.6], indirect=True)
async def test_first_sends_are_timed_and_an_escalation_counted(rig: Rig, sink: Sink) -> None:
    scheme = sink.url("sro").partition("://")[0]
    count = "muster_notification_first_send_seconds_count"
    first = sample(FIRST_SEND, count, kind="alert", channel_kind=scheme)
    escalated = sample(ESCALATIONS, "muster_escalations_total", mode="live")
    await rig.run(c.RaiseAlert(kind="lockdown", room="B-112"))
    await sink.wait_for(1, "staff")
    await sink.wait_for(2, "district")  # the declaration, then the escalation
    # sro, staff and district got the press's alert (or its declaration) first: each timed once
    assert sample(FIRST_SEND, count, kind="alert", channel_kind=scheme) - first == 3
    seconds = sample(FIRST_SEND, "muster_notification_first_send_seconds_sum", kind="alert",
                     channel_kind=scheme)
    assert 0 < seconds < 30
    for _ in range(100):  # counted once its transaction holds
        if sample(ESCALATIONS, "muster_escalations_total", mode="live") > escalated:
            break
        await asyncio.sleep(0.05)
    assert sample(ESCALATIONS, "muster_escalations_total", mode="live") - escalated == 1


async def test_the_backlog_counts_what_waits_unsent(rig: Rig, sink: Sink) -> None:
    assert await outbox.backlog(rig.pool) == (0, 0.0)
    sink.delay["staff"] = 5.0  # past the send timeout: retried, then given up
    await rig.run(c.RaiseAlert(kind="lockdown", room="B-112"))
    await sink.wait_for(1, "sro")
    waiting, oldest = await outbox.backlog(rig.pool)
    assert waiting >= 1 and oldest > 0
    for _ in range(300):  # three attempts of a second each, then given up: no longer waiting
        if (await outbox.backlog(rig.pool))[0] == 0:
            break
        await asyncio.sleep(0.05)
    assert await outbox.backlog(rig.pool) == (0, 0.0)


def reach() -> tuple[float, float]:
    return (sample(metrics.NATS_CONNECTED, "muster_nats_connected"),
            sample(metrics.POSTGRES_REACHABLE, "muster_postgres_reachable"))


async def test_reachability_gauges_follow_the_connections(nats_url: str,
                                                          database_url: str) -> None:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=1)
    nc = await nats.connect(nats_url)
    task = asyncio.create_task(metrics.watch_reach(
        lambda: bool(nc.is_connected), lambda: pool.fetchval("SELECT 1"), interval=0.02))
    try:
        await asyncio.sleep(0.2)
        assert reach() == (1, 1)
        await nc.close()  # a real client's connection gone, as muster up's reads it
        await pool.close()
        await asyncio.sleep(0.2)
        assert reach() == (0, 0)
    finally:
        task.cancel()
