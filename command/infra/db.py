"""The PostgreSQL edge: a pool, and the migrations in deploy/migrations applied in name order."""

import importlib.resources
from pathlib import Path

import asyncpg


class NoMigrations(RuntimeError):
    """The migrations were not installed with the package: nothing could be applied."""


def migrations_dir() -> Path:
    """The SQL migrations, shipped inside the package (deploy/migrations links to them)."""
    return Path(str(importlib.resources.files("command") / "migrations"))


async def connect(url: str, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    return await asyncpg.create_pool(url, min_size=min_size, max_size=max_size,
                                     command_timeout=10)


async def migrate(pool: asyncpg.Pool) -> list[str]:
    """Apply every migration not yet applied, each in its own transaction; the names applied."""
    applied: list[str] = []
    async with pool.acquire() as conn:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        # One migrator at a time, even with many replicas starting together.
        await conn.execute("SELECT pg_advisory_lock(7240001)")
        try:
            done = {r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")}
            paths = sorted(migrations_dir().glob("*.sql"))
            if not paths:
                raise NoMigrations(f"no migrations found in {migrations_dir()}")
            for path in paths:
                if path.name in done:
                    continue
                async with conn.transaction():
                    await conn.execute(path.read_text())
                    await conn.execute("INSERT INTO schema_migrations(name) VALUES ($1)",
                                       path.name)
                applied.append(path.name)
        finally:
            await conn.execute("SELECT pg_advisory_unlock(7240001)")
    return applied

