"""`muster migrate`'s advice (`command/bootstrap/cli_admin.py`): applying 007 to a database that
already has site versions says to run `muster rebuild`; a fresh database is told nothing."""

from command.bootstrap.cli_admin import REBUILD_007, upgrade_advice
from command.infra import db

MIGRATION = "007_site_version_events.sql"


async def test_007_on_a_database_with_site_versions_says_rebuild(database_url: str) -> None:
    pool = await db.connect(database_url)
    try:
        applied = await db.migrate(pool)
        assert MIGRATION in applied and await upgrade_advice(pool, applied) == []  # fresh
        # The database as 006 left it, with a site version projected then
        await pool.execute("ALTER TABLE site_versions DROP COLUMN event")
        await pool.execute("DELETE FROM schema_migrations WHERE name = $1", MIGRATION)
        await pool.execute("INSERT INTO site_versions (site, seq, config) VALUES "
                           "('test-high', 1, '{}')")
        applied = await db.migrate(pool)
        assert applied == [MIGRATION]
        assert await upgrade_advice(pool, applied) == [REBUILD_007]
        assert await upgrade_advice(pool, []) == []  # up to date: nothing to say
    finally:
        await pool.close()
