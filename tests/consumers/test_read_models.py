"""The read models as a reader takes them (consumers/read_models.py) and the positions they go by
(consumers/positions.py): one moment's snapshot, a drop that leaves other consumers alone."""

from collections.abc import AsyncIterator

import asyncpg
import pytest

from command.infra import db
from consumers import faults, positions, read_models
from consumers.projection_batch import load_states
from consumers.projector import NAME, apply
from tests.consumers.test_projector import story


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await db.connect(database_url)
    await db.migrate(pool)
    yield pool
    await pool.close()


async def test_an_empty_database_snapshots_as_nothing_folded(pool: asyncpg.Pool) -> None:
    assert await read_models.snapshot(pool) == read_models.Snapshot(0, 0, {}, {})


async def test_a_snapshot_holds_rows_states_and_faults_of_one_moment(pool: asyncpg.Pool) -> None:
    items = story()
    half = len(items) // 2
    _, states = await apply(pool, {}, 0, items[:half])
    # The rest is written without a checkpoint: the rows move on, the stored states stay.
    await apply(pool, states, half, items[half:], dirty=set(), checkpoint=False)
    fault = faults.Fault(consumer=NAME, site="north-high", seq=3, event_id="x", type="T",
                         error="E")
    async with pool.acquire() as conn:
        await faults.record(conn, [fault])
    got = await read_models.snapshot(pool)
    assert (got.rows_at, got.states_at) == (len(items), half)
    assert got.states == await load_states(pool) and list(got.faults) == ["north-high"]


async def test_a_drop_forgets_the_writer_and_keeps_every_other_consumer(
        pool: asyncpg.Pool) -> None:
    await apply(pool, {}, 0, story())
    await positions.set_to(pool, "notifier", 7)
    await read_models.drop(pool)
    assert await read_models.snapshot(pool) == read_models.Snapshot(0, 0, {}, {})
    for table in read_models.TABLES:
        assert await pool.fetchval(f"SELECT count(*) FROM {table}") == 0, table
    assert await positions.stored(pool, NAME) is None
    assert await positions.stored(pool, positions.states_of(NAME)) is None
    assert await positions.position(pool, "notifier") == 7


async def test_the_states_position_is_the_rows_until_states_have_their_own(
        pool: asyncpg.Pool) -> None:
    await positions.set_to(pool, NAME, 5)
    assert await positions.states_position(pool, NAME) == 5
    await positions.set_to(pool, positions.states_of(NAME), 3)
    assert await positions.states_position(pool, NAME) == 3


async def test_hold_makes_both_positions_and_locks_the_writers_row(pool: asyncpg.Pool) -> None:
    await positions.set_to(pool, NAME, 4)
    async with pool.acquire() as conn, conn.transaction():
        assert await positions.hold(conn, NAME) == (4, set())
        assert await positions.stored(conn, positions.states_of(NAME)) == 4
        async with pool.acquire() as other:
            await other.execute("SET lock_timeout = '100ms'")
            with pytest.raises(asyncpg.LockNotAvailableError):
                await other.execute("SELECT seq FROM projection_position WHERE name=$1 "
                                    "FOR UPDATE", NAME)
