"""Each consumer's stream position in PostgreSQL (`projection_position`), the one home of its SQL.

A consumer writes its position in the same transaction as the rows that position stands for,
so a crash at any point leaves rows and position agreeing (ARCHITECTURE "exactly once").
"""

import asyncpg

Conn = asyncpg.Connection | asyncpg.Pool


async def position(conn: Conn, name: str) -> int:
    """The last sequence `name` committed; 0 for a consumer that never did."""
    seq = await conn.fetchval("SELECT seq FROM projection_position WHERE name=$1", name)
    return int(seq or 0)


async def stored(conn: Conn, name: str) -> int | None:
    """The committed position, or None where `name` has none yet."""
    seq = await conn.fetchval("SELECT seq FROM projection_position WHERE name=$1", name)
    return None if seq is None else int(seq)


async def set_to(conn: Conn, name: str, seq: int) -> None:
    """`name` is at `seq`, whatever it was."""
    await conn.execute(
        "INSERT INTO projection_position(name, seq) VALUES ($1, $2) ON CONFLICT (name) "
        "DO UPDATE SET seq = EXCLUDED.seq", name, seq)


async def advance(conn: Conn, name: str, seq: int) -> None:
    """`name` is at `seq` at least: a position never steps back."""
    await conn.execute(
        "INSERT INTO projection_position(name, seq) VALUES ($1, $2) ON CONFLICT (name) "
        "DO UPDATE SET seq = GREATEST(projection_position.seq, EXCLUDED.seq)", name, seq)


async def forget(conn: Conn, *names: str) -> None:
    """`names` start again from the stream's first event."""
    await conn.execute("DELETE FROM projection_position WHERE name = ANY($1::text[])",
                       list(names))
