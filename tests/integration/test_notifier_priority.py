"""A failing channel's backlog never delays a new alert (issue 14 item 9): real Apprise to a
local HTTP sink that answers 500 and then recovers, on real NATS and PostgreSQL."""

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import msgspec
import pytest

from command.domain import commands as c
from command.domain import events as e
from command.domain.site import Channel
from command.infra import db
from command.infra.eventlog import EventLog
from consumers.notifier import Notifier
from consumers.sender import AppriseSender
from tests.conftest import Sink, small_site
from tests.integration.test_notifier import BOSS, Rig

INCIDENTS = 30  # each leaves five messages for the channel: 150 in the backlog
NOTES = 3


class SlowRig(Rig):
    """The rig with a notifier whose retries wait long enough to be seen queued."""

    backoff: tuple[float, ...] = (0.3,) * 100

    async def start(self) -> None:
        self.sender = AppriseSender(workers=2, timeout=1.0)
        await self.sender.ready()
        self.notifier = Notifier(self.log, self.pool, self.sender, backoff=self.backoff,
                                 lease_s=5.0, tick_s=0.05)
        self.task = asyncio.create_task(self.notifier.run())

    async def outbox(self, sql: str, *args: object) -> object:
        return await self.pool.fetchval(sql, *args)


@pytest.fixture
async def rig(eventlog: EventLog, database_url: str, sink: Sink,
              request: pytest.FixtureRequest) -> AsyncIterator[SlowRig]:
    pool = await asyncpg.create_pool(database_url)
    await db.migrate(pool)
    rig = SlowRig(eventlog, pool, sink)
    rig.backoff = getattr(request, "param", SlowRig.backoff)
    await rig.intake.start()
    sro = Channel(name="sro", url=sink.url("sro"), modes=["live"],
                  events=["AlertRaised", "ProtocolDeclared", "ProtocolLifted", "NoteAdded"])
    site = msgspec.structs.replace(small_site(), channels=[sro])
    await rig.intake.execute("test-high", c.ConfigureSite(site=site), e.SYSTEM)
    await rig.start()
    yield rig
    await rig.stop()
    await rig.intake.stop()
    await pool.close()


async def until(check: object, timeout: float, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():  # type: ignore[operator]
        assert asyncio.get_running_loop().time() < deadline, what
        await asyncio.sleep(0.05)


async def incident(rig: Rig, notes: int = NOTES) -> str:
    """A lockdown, notes, its all clear and its close: five messages for the sro channel."""
    inc = await rig.run(c.RaiseAlert(kind="lockdown", room="B-112"))
    assert inc is not None
    for i in range(notes):
        await rig.run(c.AddNote(text=f"note {i}"), BOSS, incident_id=inc)
    await rig.run(c.AllClear(), BOSS, incident_id=inc)
    await rig.run(c.Close(), BOSS, incident_id=inc)
    return inc


@pytest.mark.parametrize("rig", [(30.0,) * 3], indirect=True)
async def test_after_150_queued_failures_the_next_lockdown_goes_first(rig: SlowRig,
                                                                     sink: Sink) -> None:
    sink.status["sro"] = 500
    for _ in range(INCIDENTS):
        await incident(rig)
    backlog = INCIDENTS * (NOTES + 2)

    async def all_failed_once() -> bool:
        rows = await rig.outbox("SELECT count(*) FROM notifications WHERE channel='sro' AND "
                                "attempts > 0 AND status IN ('pending', 'superseded')")
        return rows == backlog
    # Each of the 150 has failed once and waits 30 s for its retry (the old sender tried
    # only the oldest and held the rest behind it: this wait then ends unmet).
    try:
        await until(all_failed_once, 30, "the backlog was not tried")
    except AssertionError:
        pass
    assert await rig.outbox("SELECT count(*) FROM notifications WHERE channel='sro'") == backlog

    del sink.status["sro"]  # the channel recovers; the next press follows at once
    loop = asyncio.get_running_loop()
    pressed = loop.time()
    new = await rig.run(c.RaiseAlert(kind="lockdown", room="GYM"))
    await sink.wait_for(1, "sro", timeout=20)
    first_path, first, arrived = sink.posts[0]
    print(f"\npress -> first alert after recovery: {(arrived - pressed) * 1000:.0f} ms "
          f"(backlog of {backlog} queued failures)")
    assert first_path == "/sro"
    assert first["title"] == "[EXTREME] LOCKDOWN — Test High", first
    assert "room GYM" in first["message"], first
    assert arrived - pressed < 2.0
    [sent] = await rig.wait_events(e.NotificationSent, 1)
    assert sent.incident_id == new
    # Nothing of the backlog is lost: each old lockdown was superseded by its own all clear,
    # which waits for its retry with the notes.
    rows = await rig.pool.fetch(
        "SELECT n.status, count(*) AS n FROM notifications n WHERE channel='sro' "
        "AND incident_id <> $1 GROUP BY n.status ORDER BY n.status", new)
    assert {r["status"]: r["n"] for r in rows} == {"pending": INCIDENTS * (NOTES + 1),
                                                  "superseded": INCIDENTS}
    assert await rig.outbox(
        "SELECT count(*) FROM notifications o JOIN notifications by ON by.event_id = "
        "o.superseded_by AND by.channel = o.channel WHERE o.status = 'superseded' AND "
        "by.incident_id = o.incident_id AND by.title LIKE 'ALL CLEAR%'") == INCIDENTS


@pytest.mark.parametrize("final", ["all_clear", "cancel"])
async def test_an_incidents_unsent_states_collapse_into_its_newest(rig: SlowRig, sink: Sink,
                                                                  final: str) -> None:
    """LOCKDOWN, EVACUATE, then ALL CLEAR (or FALSE ALARM) while the channel is down: once it
    is back, one message says the final state and names what it replaces."""
    sink.status["sro"] = 500
    inc = await rig.run(c.RaiseAlert(kind="lockdown", room="B-112"))
    assert inc is not None
    await rig.run(c.DeclareProtocol(action="evacuate", evacuate_to="Field"), BOSS,
                  incident_id=inc)
    if final == "all_clear":
        await rig.run(c.AllClear(), BOSS, incident_id=inc)
    else:
        await rig.run(c.Cancel(reason="a drill bell, not an alarm"), BOSS, incident_id=inc)

    async def collapsed() -> bool:
        return await rig.outbox("SELECT count(*) FROM notifications WHERE channel='sro' "
                                "AND status='superseded'") == 2
    await until(collapsed, 15, "the lockdown and the evacuation were not superseded")
    del sink.status["sro"]
    await sink.wait_for(1, "sro")
    await asyncio.sleep(1.0)  # a retry of a superseded message would show here
    [msg] = sink.to("sro")
    if final == "all_clear":
        assert msg["message"].startswith("ALL CLEAR — the evacuate at Test High is lifted")
    else:
        assert msg["message"].startswith("FALSE ALARM — the lockdown alert at Test High")
    assert msg["message"].endswith("(This replaces earlier messages that could not be sent: "
                                   "[EXTREME] LOCKDOWN — Test High; "
                                   "[SEVERE] EVACUATE — Test High.)")
    rows = await rig.pool.fetch("SELECT event_id, status, superseded_by FROM notifications "
                                "WHERE channel='sro' ORDER BY id")
    assert [r["status"] for r in rows] == ["superseded", "superseded", "sent"]
    assert {r["superseded_by"] for r in rows[:2]} == {rows[2]["event_id"]}
    # The stream stays truthful: one send, for the final state; failures as they happened.
    sent = await rig.wait_events(e.NotificationSent, 1)
    assert [s.data.event_id for s in sent] == [rows[2]["event_id"]]
    failed = {f.data.event_id for f in await rig.events(e.NotificationFailed)}
    assert {rows[0]["event_id"], rows[1]["event_id"]} <= failed


async def test_a_slow_channels_batch_gives_way_to_a_new_lockdown(rig: SlowRig,
                                                                 sink: Sink) -> None:
    """A channel busy with a backlog of routine records sends the new lockdown next, not
    after the rest of the batch it had already claimed."""
    sink.status["sro"] = 500
    inc = await rig.run(c.RaiseAlert(kind="hold", room="A-101"))
    assert inc is not None
    await rig.run(c.AllClear(), BOSS, incident_id=inc)
    for i in range(20):
        await rig.run(c.AddNote(text=f"note {i}"), BOSS, incident_id=inc)
    await rig.run(c.Close(), BOSS, incident_id=inc)
    sink.delay["sro"] = 0.2  # slow but healthy from now on
    del sink.status["sro"]
    await sink.wait_for(2, "sro")
    loop = asyncio.get_running_loop()
    pressed = loop.time()
    await rig.run(c.RaiseAlert(kind="lockdown", room="GYM"))
    lockdown = "[EXTREME] LOCKDOWN — Test High"

    async def alerted() -> bool:
        return lockdown in [m["title"] for m in sink.to("sro")]
    await until(alerted, 30, "the lockdown never arrived")
    titles = [m["title"] for m in sink.to("sro")]
    at = titles.index(lockdown)
    arrived = [t for p, _, t in sink.posts if p == "/sro"][at]
    print(f"\nlockdown was message {at + 1} of {len(titles)}, "
          f"{(arrived - pressed) * 1000:.0f} ms after the press")
    before = [t for p, _, t in sink.posts[:at] if p == "/sro" and t > pressed]
    assert len(before) <= 1, titles  # at most the one send in flight at the press


async def test_a_second_press_never_stands_in_for_the_first(rig: SlowRig, sink: Sink) -> None:
    """Two rooms press while the channel is down: each names a room people must hear of, so
    once it is back both arrive; only an incident's new state supersedes."""
    sink.status["sro"] = 500
    first = await rig.run(c.RaiseAlert(kind="lockdown", room="B-112"))
    second = await rig.run(c.RaiseAlert(kind="lockdown", room="GYM"))
    assert first is not None and first == second  # the second press joins the open incident

    async def queued_behind_a_failure() -> bool:  # the second waits behind the first, in order
        return await rig.outbox("SELECT count(*) FROM notifications WHERE channel='sro' "
                                "AND status='pending' AND attempts > 1") == 1
    await until(queued_behind_a_failure, 15, "the first press was not retried")
    del sink.status["sro"]
    await sink.wait_for(2, "sro")
    rooms = sorted(room for room in ("B-112", "GYM") for msg in sink.to("sro")
                   if f"room {room}" in msg["message"])
    assert rooms == ["B-112", "GYM"]
    assert await rig.outbox("SELECT count(*) FROM notifications WHERE status='superseded'") == 0
