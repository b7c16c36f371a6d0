"""The projector against real PostgreSQL (and real NATS where it consumes): `apply` is idempotent,
skips what is at or below its position, commits a batch whole or not at all, and a run that
resumes from stored state ends where one fold from scratch ends."""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import msgspec
import pytest
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from command.domain import board
from command.domain import commands as c
from command.domain import events as e
from command.domain.decide import decide, seal
from command.domain.render_cache import Memo
from command.domain.site_state import Ctx, SiteState, evolve
from command.infra import db
from command.infra.eventlog import EventLog
from command.write.intake import Intake
from consumers import positions, read_models
from consumers.projection_batch import load_states
from consumers.projector import NAME, Projector, StaleStates, apply
from tests.conftest import small_site, with_database

T0 = datetime(2025, 3, 4, 9, 30, tzinfo=UTC)
STAFF = e.Actor(kind="user", id="staff-1", role="staff")
COMMANDER = e.Actor(kind="user", id="cmdr-1", role="commander")
TABLES = {"projection_position": "name", "sites": "site", "site_versions": "site, seq",
          "boards": "site", "incidents": "id",
          "rooms": "incident_id, room", "timeline": "seq"}
Items = list[tuple[int, bytes]]


class Story:
    """Events as intake would write them, made by the pure decide and evolve, numbered 1, 2…"""

    def __init__(self) -> None:
        self.states: dict[str, SiteState] = {}
        self.items: Items = []

    def do(self, site: str, cmd: c.Command, actor: e.Actor = STAFF, **ctx: Any) -> str | None:
        n = len(self.items)
        context = Ctx(site=site, actor=actor, now=T0 + timedelta(seconds=n),
                      new_incident_id=f"inc-{n}", **ctx)
        state = self.states.get(site, SiteState())
        drafts = decide(state, cmd, context)
        events = seal(drafts, context, [f"ev-{n + i}" for i in range(len(drafts))])
        for event in events:
            state = evolve(state, event)
            self.items.append((len(self.items) + 1, e.encode(event)))
        self.states[site] = state
        return events[0].incident_id


def story(late_site: bool = False) -> Items:
    """Two sites: one incident reported, cleared and closed, and one left open per site; with
    `late_site`, a third configured midway, with a press of its own."""
    s = Story()
    for site in ("north-high", "south-high"):
        s.do(site, c.ConfigureSite(site=small_site(site)), e.SYSTEM)
    if late_site:
        s.do("east-high", c.ConfigureSite(site=small_site("east-high")), e.SYSTEM)
        s.do("east-high", c.RaiseAlert(kind="medical", room="GYM"))
    inc = s.do("north-high", c.RaiseAlert(kind="armed_intruder", room="B-112"))
    for room, status in (("A-101", "secured"), ("B-112", "needs_help"), ("GYM", "clear")):
        s.do("north-high", c.ReportRoomStatus(status=status, present=2, missing=["s-2"]),
             incident_id=inc, room=room)
    s.do("north-high", c.Acknowledge(responder="Officer Reyes"), COMMANDER, incident_id=inc)
    s.do("north-high", c.AllClear(), COMMANDER, incident_id=inc)
    s.do("north-high", c.Close(summary="done"), COMMANDER, incident_id=inc)
    for site in ("north-high", "south-high"):
        inc = s.do(site, c.RaiseAlert(kind="fire", room="A-101"))
        s.do(site, c.ReportRoomStatus(status="evacuated", present=2), incident_id=inc,
             room="A-101")
        s.do(site, c.CheckIn(person_id="s-1"), incident_id=inc)
        s.do(site, c.CheckGuardian(guardian="Anne Byron", id_verified=True, students=["s-1"]),
             incident_id=inc)
        s.do(site, c.OpenReunification(reason="smoke over the field"), COMMANDER,
             incident_id=inc)
        s.do(site, c.Release(person_id="s-1", guardian="Anne Byron", student_consents=True),
             incident_id=inc)
        s.do(site, c.AddNote(text=f"{site} assembled on the field"), incident_id=inc)
    return s.items


def note(seq: int, site: str, incident_id: str) -> tuple[int, bytes]:
    event = e.NoteAdded(id=f"note-{seq}", site=site, incident_id=incident_id, occurred_at=T0,
                        recorded_at=T0, data=e.NoteAddedData(text="late note"))
    return seq, e.encode(event)


async def rows(pool: asyncpg.Pool, wall_time: bool = True) -> dict[str, list[dict[str, Any]]]:
    """Every read-model row by primary key; `boards.updated_at` too unless wall_time is off."""
    out = {}
    for table, key in TABLES.items():
        found = await pool.fetch(f"SELECT * FROM {table} ORDER BY {key}")
        out[table] = [{k: v for k, v in r.items() if wall_time or k != "updated_at"}
                      for r in found]
    return out


async def fresh_pool(url: str) -> asyncpg.Pool:
    pool = await db.connect(url)
    await db.migrate(pool)
    return pool


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await fresh_pool(database_url)
    yield pool
    await pool.close()


@pytest.fixture
async def other_pool(pg_server: str) -> AsyncIterator[asyncpg.Pool]:
    """A second, empty database, for a fold from scratch to compare against."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(pg_server)
    await conn.execute(f'CREATE DATABASE "{name}"')
    pool = await fresh_pool(with_database(pg_server, name))
    yield pool
    await pool.close()
    await conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    await conn.close()


async def test_story_fills_every_read_model(pool: asyncpg.Pool) -> None:
    items = story()
    pos, states = await apply(pool, {}, 0, items)
    assert pos == len(items)
    assert set(states) == {"north-high", "south-high"}
    got = await rows(pool)
    assert got["projection_position"] == [{"name": NAME, "seq": len(items)},
                                          {"name": f"{NAME}.states", "seq": len(items)}]
    assert [r["site"] for r in got["sites"]] == ["north-high", "south-high"]
    assert sorted((r["site"], r["status"]) for r in got["incidents"]) == [
        ("north-high", "closed"), ("north-high", "open"), ("south-high", "open")]
    assert len(got["rooms"]) == 5
    assert len(got["timeline"]) == len(items) - 2  # all but the two SiteConfigured


async def test_apply_twice_changes_nothing_the_second_time(pool: asyncpg.Pool) -> None:
    items = story()
    pos, states = await apply(pool, {}, 0, items)
    before = await rows(pool)  # boards.updated_at included: a rewrite would move it
    again, states_again = await apply(pool, states, pos, items)
    assert (again, states_again) == (pos, states)
    assert await rows(pool) == before


async def test_items_at_or_below_the_position_are_skipped_unread(
        pool: asyncpg.Pool, other_pool: asyncpg.Pool) -> None:
    items = story()
    k = len(items) // 2
    pos, states = await apply(pool, {}, 0, items[:k])
    assert pos == k
    # Garbage at or below the position, and a repeat inside the batch, are never decoded.
    stale = [(seq, b"not an event") for seq, _ in items[:k]]
    batch = [*stale, items[k], items[k], *items[k + 1:]]
    pos, _ = await apply(pool, states, k, batch)
    assert pos == len(items)
    await apply(other_pool, {}, 0, items)
    assert await rows(pool, wall_time=False) == await rows(other_pool, wall_time=False)


async def test_a_stale_event_below_the_position_does_not_overwrite(pool: asyncpg.Pool) -> None:
    items = story()
    pos, states = await apply(pool, {}, 0, items)
    before = await rows(pool)
    last = e.decode(items[-1][1])
    assert last.incident_id is not None
    stale = note(pos - 1, last.site, last.incident_id)  # a valid event, just not a new one
    assert await apply(pool, states, pos, [stale]) == (pos, states)
    assert await rows(pool) == before


async def test_a_writer_whose_states_another_projector_overtook_writes_nothing(
        pool: asyncpg.Pool) -> None:
    """A projector whose lock connection died keeps its states while a standby takes the lock
    and writes on; its next batch must not fold onto those older states."""
    items = story()
    k = len(items) // 2
    at, states = await apply(pool, {}, 0, items[:k - 1])
    first = items[k - 1]
    # The standby loads what is stored and writes the rest of the story.
    taken, _ = await apply(pool, await load_states(pool), at, items[k - 1:])
    before = await rows(pool)
    last = e.decode(items[-1][1])
    assert last.incident_id is not None
    newer = note(taken + 1, last.site, last.incident_id)
    with pytest.raises(StaleStates, match=f"at {taken}, this projector's rows at {at}"):
        await apply(pool, states, at, [first, *items[k:], newer])
    assert await rows(pool) == before
    assert await positions.position(pool, NAME) == taken
    assert (await apply(pool, await load_states(pool), taken, [newer]))[0] == taken + 1


async def board_seqs(pool: asyncpg.Pool) -> dict[str, int]:
    return {r["site"]: r["seq"] for r in await pool.fetch("SELECT site, seq FROM boards")}


@pytest.mark.parametrize(("saved_at", "crashed_at"), [(0, 9), (4, 12), (9, 20), (15, 30)])
async def test_states_saved_at_a_checkpoint_resume_to_one_fold(
        pool: asyncpg.Pool, other_pool: asyncpg.Pool, saved_at: int, crashed_at: int) -> None:
    """Rows are written every batch and board states only at checkpoints (a new site's with
    its first row); a projector starting again from the stored states, older than the rows,
    folds on with no row stepping back, and ends as one fold does."""
    items = story(late_site=True)
    await apply(other_pool, {}, 0, items)
    want = await rows(other_pool, wall_time=False)
    dirty: set[str] = set()
    states: dict = {}
    at = 0
    for item in items[:crashed_at]:  # one event a batch, then a crash
        at, states = await apply(pool, states, at, [item], dirty=dirty,
                                 checkpoint=item[0] == saved_at)
    assert await positions.position(pool, NAME) == crashed_at
    assert await positions.states_position(pool, NAME) == saved_at
    stored, seqs = await load_states(pool), await board_seqs(pool)
    assert {s: st.seq for s, st in stored.items()} != seqs  # some states lag their rows
    assert all(st.seq <= seqs[s] for s, st in stored.items())
    rows_at, folded = crashed_at, saved_at
    for start in range(saved_at, len(items), 3):  # the first batch saves the states again
        batch = items[start:start + 3]
        rows_at, stored = await apply(pool, stored, folded, batch, rows_at=rows_at,
                                      dirty=dirty, checkpoint=start == saved_at)
        folded = batch[-1][0]
        now = await board_seqs(pool)
        assert all(now[s] >= seqs.get(s, 0) for s in now), (folded, seqs, now)
        seqs = now
    assert await positions.states_position(pool, NAME) == saved_at + 3
    await apply(pool, stored, folded, [], rows_at=rows_at, dirty=dirty)  # the stream is quiet
    assert not dirty
    assert await rows(pool, wall_time=False) == want


def _bad_payload(seq: int) -> bytes:
    """An event of north-high that this version cannot decode (a newer type, say)."""
    return b'{"type": "NoSuchEvent", "site": "north-high", "id": "ev-bad"}'


def _bad_row(seq: int) -> bytes:
    """A north-high event whose timeline row PostgreSQL refuses (a NUL in a text column), so the
    failure comes when the batch's rows are written, after its boards, incidents and rooms."""
    return note(seq, "north-high", "inc-\x00")[1]


def _site(data: bytes) -> str:
    return str(msgspec.json.decode(data)["site"])


@pytest.mark.parametrize("poison", [_bad_payload, _bad_row])
async def test_an_event_that_raises_stops_its_site_alone(
        pool: asyncpg.Pool, other_pool: asyncpg.Pool, poison: Callable[[int], bytes]) -> None:
    """The bad event and north-high's later events are passed by, in the same transaction that
    records the fault; south-high's rows are those of a fold without them."""
    good = [data for _, data in story()]
    k = len(good) // 2
    items = list(enumerate([*good[:k], poison(k + 1), *good[k:]], 1))
    pos, states = await apply(pool, {}, 0, items[:k])
    faulted: dict = {}
    pos, states = await apply(pool, states, pos, items[k:], faulted=faulted)
    assert pos == len(items)
    assert [(f.site, f.seq, f.event_id) for f in faulted.values()] == [
        ("north-high", k + 1, "ev-bad" if poison is _bad_payload else f"note-{k + 1}")]
    stored = await pool.fetch("SELECT consumer, site, seq FROM consumer_faults")
    assert [tuple(r) for r in stored] == [("projector", "north-high", k + 1)]
    assert states["north-high"].seq < k + 1 < states["south-high"].seq
    kept = [(seq, data) for seq, data in items if seq <= k or _site(data) != "north-high"]
    assert len(kept) < len(items) - 1  # north-high had events after the bad one
    await apply(other_pool, {}, 0, kept)
    assert await rows(pool, wall_time=False) == await rows(other_pool, wall_time=False)


async def test_a_faulted_site_resumes_once_its_events_apply(
        pool: asyncpg.Pool, other_pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug in the fold (for north-high's room reports) faults the site; with the bug fixed,
    the site is folded again from its fault and ends as one fold of the whole story does."""
    items = story()
    step = board.step

    def buggy(state: board.State, seq: int, event: e.Event) -> Any:
        if event.site == "north-high" and isinstance(event, e.RoomStatusReported):
            raise OverflowError("a bug")
        return step(state, seq, event)

    monkeypatch.setattr(board, "step", buggy)
    faulted: dict = {}
    # No checkpoint: the stored states stay at 0, as a crash before the first would leave them.
    pos, states = await apply(pool, {}, 0, items, faulted=faulted, dirty=set(),
                              checkpoint=False)
    [fault] = faulted.values()
    assert (fault.site, fault.error) == ("north-high", "OverflowError: a bug")
    monkeypatch.setattr(board, "step", step)  # the fix, deployed
    at = states["north-high"].seq
    again = [item for item in items if item[0] > at and _site(item[1]) == "north-high"]
    _, states = await apply(pool, states, at, again, rows_at=pos, faulted=faulted, resume=fault)
    assert faulted == {} and await pool.fetchval("SELECT count(*) FROM consumer_faults") == 0
    # One site's state saved does not make every state current: a restart folds from 0 still.
    assert await positions.states_position(pool, NAME) == 0
    await apply(pool, await load_states(pool), 0, items, rows_at=pos)
    await apply(other_pool, {}, 0, items)
    assert await rows(pool, wall_time=False) == await rows(other_pool, wall_time=False)
    assert await load_states(pool) == await load_states(other_pool)


async def test_resuming_from_stored_state_equals_one_fold(
        pool: asyncpg.Pool, other_pool: asyncpg.Pool) -> None:
    items = story()
    await apply(other_pool, {}, 0, items)
    want = await rows(other_pool, wall_time=False)
    for k in range(1, len(items)):
        await read_models.drop(pool)
        await apply(pool, {}, 0, items[:k])
        # What a restarted projector does: states from PostgreSQL, not from memory.
        await apply(pool, await load_states(pool), k, items[k:])
        assert await rows(pool, wall_time=False) == want, f"split at {k}"


async def test_boards_rendered_with_memos_batch_after_batch_equal_one_fold(
        pool: asyncpg.Pool, other_pool: asyncpg.Pool) -> None:
    items = story()
    await apply(other_pool, {}, 0, items)  # no memos: every part rendered afresh
    want = await rows(other_pool, wall_time=False)
    memos: dict[str, Memo] = {}
    states: dict = {}
    at = 0
    for item in items:  # one event a batch: each render reuses the parts the last one made
        at, states = await apply(pool, states, at, [item], memos=memos)
    assert set(memos) == {"north-high", "south-high"}
    assert await rows(pool, wall_time=False) == want


# --- the consumer loop, against real NATS --------------------------------------------------


async def until(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


async def notes(intake: Intake, site: str, incident_id: str, n: int) -> int:
    seq = 0
    for i in range(n):
        accepted, _ = await intake.execute(site, c.AddNote(text=f"note {i}"), STAFF,
                                           incident_id=incident_id)
        seq = accepted.seq
    return seq


@pytest.fixture
async def intake(eventlog: EventLog) -> AsyncIterator[Intake]:
    intake = Intake(eventlog)
    await intake.start()
    await intake.execute("test-high", c.ConfigureSite(site=small_site()), e.SYSTEM)
    yield intake
    await intake.stop()


async def open_incident(intake: Intake) -> str:
    accepted, _ = await intake.execute("test-high", c.RaiseAlert(kind="hold", room="GYM"), STAFF)
    assert accepted.incident_id is not None
    return accepted.incident_id


async def projected(pool: asyncpg.Pool, log: EventLog, last: int) -> None:
    """The projection reached `last`, and holds a timeline row for every incident event."""
    async def reached() -> bool:
        return await positions.position(pool, NAME) == last
    await until(reached, f"position {last}")
    want = [seq async for seq, ev in log.read(1, last) if ev.incident_id]
    assert [r["seq"] for r in await pool.fetch("SELECT seq FROM timeline ORDER BY seq")] == want


async def test_deliveries_a_dead_run_left_unacked_are_not_skipped(
        eventlog: EventLog, intake: Intake, pool: asyncpg.Pool) -> None:
    last = await notes(intake, "test-high", await open_incident(intake), 20)
    # A run that fetched ten events and died before committing them.
    config = ConsumerConfig(
        durable_name=NAME, ack_policy=AckPolicy.EXPLICIT, ack_wait=30,
        deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=1,
        filter_subject=f"{eventlog.prefix}.>")
    await eventlog.js.add_consumer(eventlog.stream, config)
    dead = await eventlog.js.pull_subscribe_bind(NAME, stream=eventlog.stream)
    assert len(await dead.fetch(10, timeout=2)) == 10
    await dead.unsubscribe()
    task = asyncio.create_task(Projector(eventlog, pool).run())
    try:
        await projected(pool, eventlog, last)  # well inside the 30 s ack_wait
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_delivery_that_never_arrives_is_not_skipped(
        eventlog: EventLog, intake: Intake, pool: asyncpg.Pool) -> None:
    incident = await open_incident(intake)
    task = asyncio.create_task(Projector(eventlog, pool).run())
    js, stream = eventlog.js, eventlog.stream
    try:
        await projected(pool, eventlog, await eventlog.last_seq())
        async with pool.acquire() as lock, lock.transaction():
            # Hold the projector inside apply() with deliveries fetched and unacked.
            await lock.execute("SELECT seq FROM projection_position FOR UPDATE")
            await notes(intake, "test-high", incident, 3)

            async def held() -> bool:
                info = await js.consumer_info(stream, NAME)
                return info.num_ack_pending > 0 and info.num_waiting == 0
            await until(held, "the projector to fetch and stop pulling")
            # The next deliveries go elsewhere: for the projector they are lost.
            await notes(intake, "test-high", incident, 3)
            undelivered = (await js.consumer_info(stream, NAME)).num_pending
            thief = await js.pull_subscribe_bind(NAME, stream=stream)
            # At least one: the projector may have a fetch of its own in flight, taking some.
            assert len(await thief.fetch(undelivered, timeout=2)) == undelivered >= 1
            await thief.unsubscribe()
        last = await notes(intake, "test-high", incident, 3)
        await projected(pool, eventlog, last)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
