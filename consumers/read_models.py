"""The read models: the tables the projector writes (deploy/migrations) and the read edges read.

One consumer writes them, `WRITER`, while it holds their lock (`sole_writer`): its stream
position, its states' position and its faulted sites are kept under that name. A read edge that
folds on from them (the gateway) takes them as one `Snapshot`, and never needs the projector.
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import NamedTuple

import asyncpg

from command.domain import board
from consumers import faults, positions
from consumers.faults import Fault
from consumers.projection_batch import load_states

log = logging.getLogger("muster.projector")  # its waits for the lock are the projector's
WRITER = "projector"
TABLES = ("sites", "site_versions", "boards", "incidents", "rooms", "timeline")
# A PostgreSQL advisory lock: one projector writes a database's read models at a time, and
# `muster rebuild` takes it too (it drops the tables a running projector writes).
LOCK_KEY = 0x6D757374_65720001
LOCK_POLL_S = 1.0


class ProjectorBusy(RuntimeError):
    """Another projector holds the read models' lock."""


class Snapshot(NamedTuple):
    """What the read models hold at one moment."""

    rows_at: int  # the rows hold every event up to here
    states_at: int  # the stored board states are current to here (at most rows_at)
    states: dict[str, board.State]
    faults: dict[str, Fault]  # per site: the event the writer stopped at, its later ones unfolded


async def snapshot(pool: asyncpg.Pool, name: str = WRITER) -> Snapshot:
    """The read models in one repeatable-read transaction, so every part is of the same moment."""
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read",
                                                        readonly=True):
        return Snapshot(await positions.position(conn, name),
                        await positions.states_position(conn, name),
                        await load_states(conn), await faults.load(conn, name))


async def drop(pool: asyncpg.Pool, name: str = WRITER) -> None:
    """Empty the writer's tables, its positions and faults; other consumers keep theirs."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("TRUNCATE " + ", ".join(TABLES))
        await positions.forget(conn, name, positions.states_of(name))
        # Its faulted sites are part of its state: a rebuild folds them again from seq 1.
        await conn.execute("DELETE FROM consumer_faults WHERE consumer = $1", name)


@contextlib.asynccontextmanager
async def sole_writer(pool: asyncpg.Pool, wait: bool = True) -> AsyncIterator[None]:
    """Hold the read models' lock on a connection of its own; it goes with the connection, so a
    projector killed with -9 frees it. `wait` False raises ProjectorBusy instead of waiting."""
    async with pool.acquire() as conn:
        waited = False
        while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", LOCK_KEY):
            if not wait:
                raise ProjectorBusy("a projector is writing the read models (muster up or "
                                    "muster serve with the projector): stop it, then rebuild")
            if not waited:  # polled, not blocked: a blocked query would hit command_timeout
                log.warning("another projector writes the read models; standing by")
                waited = True
            await asyncio.sleep(LOCK_POLL_S)
        try:
            yield
        finally:
            with contextlib.suppress(Exception):  # the pool's reset unlocks all the same
                await conn.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)
