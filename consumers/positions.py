"""Each consumer's stream position in PostgreSQL (`projection_position`), the one home of its SQL.

A consumer writes its position in the same transaction as the rows that position stands for,
so a crash at any point leaves rows and position agreeing (ARCHITECTURE "exactly once").
"""

import asyncpg

Conn = asyncpg.Connection | asyncpg.Pool


async def position(conn: Conn, name: str) -> int:
    """The last sequence `name` committed; 0 for a consumer that never did."""
    return await stored(conn, name) or 0


async def stored(conn: Conn, name: str) -> int | None:
    """The committed position, or None where `name` has none yet."""
    seq = await conn.fetchval("SELECT seq FROM projection_position WHERE name=$1", name)
    return None if seq is None else int(seq)


async def set_to(conn: Conn, name: str, seq: int) -> None:
    """`name` is at `seq`, whatever it was."""
    await conn.execute(
        "INSERT INTO projection_position(name, seq) VALUES ($1, $2) ON CONFLICT (name) "
        "DO UPDATE SET seq = EXCLUDED.seq", name, seq)


async def move_held(conn: asyncpg.Connection, name: str, seq: int) -> None:
    """`name` is at `seq`, its row made by `hold` in this transaction: a plain update."""
    await conn.execute("UPDATE projection_position SET seq=$2 WHERE name=$1", name, seq)


async def advance(conn: Conn, name: str, seq: int) -> None:
    """`name` is at `seq` at least: a position never steps back."""
    await conn.execute(
        "INSERT INTO projection_position(name, seq) VALUES ($1, $2) ON CONFLICT (name) "
        "DO UPDATE SET seq = GREATEST(projection_position.seq, EXCLUDED.seq)", name, seq)


async def forget(conn: Conn, *names: str) -> None:
    """`names` start again from the stream's first event."""
    await conn.execute("DELETE FROM projection_position WHERE name = ANY($1::text[])",
                       list(names))


def states_of(name: str) -> str:
    """The name under which `name`'s stored fold states keep a position of their own."""
    return f"{name}.states"


async def states_position(conn: Conn, name: str) -> int:
    """The position `name`'s stored states are current to; that of its rows where there is none
    yet (read models from before checkpoints kept their states current with the rows)."""
    seq = await stored(conn, states_of(name))
    return seq if seq is not None else await position(conn, name)


async def hold(conn: asyncpg.Connection, name: str) -> tuple[int, set[str]]:
    """In a transaction: lock `name`'s position until it ends, so a second writer waits, and
    return it with the sites `name` has faulted. Both positions are made first where missing,
    the states' at the rows' (read models from before checkpoints kept them together)."""
    await conn.execute(
        "INSERT INTO projection_position(name, seq) SELECT n, COALESCE((SELECT seq FROM "
        "projection_position WHERE name=$1), 0) FROM unnest($2::text[]) AS n "
        "ON CONFLICT DO NOTHING", name, [name, states_of(name)])
    # The faulted sites in the same statement: one round trip fewer on every batch.
    row = await conn.fetchrow(
        "SELECT seq, ARRAY(SELECT site FROM consumer_faults WHERE consumer=$1) AS faulted "
        "FROM projection_position WHERE name=$1 FOR UPDATE", name)
    return int(row["seq"]), set(row["faulted"])
