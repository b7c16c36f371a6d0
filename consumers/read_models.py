"""The read models: the tables the projector writes (deploy/migrations) and the read edges read.

One consumer writes them, `WRITER`: its stream position, its states' position and its faulted
sites are kept under that name. A read edge that folds on from them (the gateway) takes them as
one `Snapshot`, and never needs the projector itself.
"""

from typing import NamedTuple

import asyncpg

from command.domain import board
from consumers import faults, positions
from consumers.faults import Fault
from consumers.projection_batch import load_states

WRITER = "projector"
TABLES = ("sites", "boards", "incidents", "rooms", "timeline")


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
