"""The stores behind Muster, from the command line: `migrate`, `site import`, `token`, `audit`
and `rebuild`. Each runs against the servers `servers.for_command` finds or starts.
"""

import argparse
import os
import sys
from datetime import UTC, datetime

import asyncpg

from command.bootstrap import admin
from command.bootstrap.servers import for_command
from command.domain import site as site_file
from command.domain.events import Actor
from command.infra import auth, db
from command.infra.config import Settings
from command.infra.embedded import reach_db, reach_nats
from command.infra.eventlog import EventLog

CLI_ACTOR = Actor(kind="user", id=f"cli:{os.environ.get('USER', 'unknown')}", role="admin")


REBUILD_007 = ("site_versions holds versions projected before 007_site_version_events.sql: run "
               "`muster rebuild` (projector stopped) so the reunification desk places the "
               "people of away events scheduled before this upgrade as intake does")


async def upgrade_advice(pool: asyncpg.Pool, applied: list[str]) -> list[str]:
    """What an operator must do after `applied`: 007 on a database with site versions leaves
    their `event` NULL, which only a rebuild fills."""
    if "007_site_version_events.sql" in applied and await pool.fetchval(
            "SELECT EXISTS (SELECT 1 FROM site_versions)"):
        return [REBUILD_007]
    return []


async def migrate(settings: Settings) -> int:
    async with for_command(settings, need_nats=False) as (_, db_url):
        pool = await reach_db(db_url)
        applied = await db.migrate(pool)
        advice = await upgrade_advice(pool, applied)
        await pool.close()
    print("applied: " + (", ".join(applied) if applied else "nothing (up to date)"))
    for said in advice:
        print(f"next: {said}")
    return 0


async def import_site_file(settings: Settings, path: str) -> int:
    from command.bootstrap.site_import import import_site
    from command.domain.errors import Invalid
    from command.domain.rehearsal import rehearse
    from command.write.intake import Intake

    try:
        doc = site_file.load(path)
    except (OSError, site_file.SiteError) as exc:
        print(f"muster: {path}: {exc}", file=sys.stderr)
        return 2
    async with for_command(settings, need_db=False) as (nats_url, _):
        nc = await reach_nats(nats_url, ca_file=settings.nats_ca_file)
        log = EventLog(nc, stream=settings.stream)
        await log.ensure_stream(settings.stream_replicas)
        intake = Intake(log, rehearse=rehearse)
        # The whole stream: Intake.start waits for the stream's last seq, which a filter on
        # one site's subjects never reaches when another site wrote last.
        await intake.start()
        try:
            current = intake.state(doc.id)
            accepted = await import_site(intake, doc, CLI_ACTOR)
            if accepted is None:
                print(f"{doc.id} is already imported as in {path} (seq {current.seq}); "
                      "nothing written")
                return 0
        except Invalid as exc:  # refused before anything was written
            print(f"muster: {path}: {exc.field}: {exc.message}", file=sys.stderr)
            return 2
        finally:
            await intake.stop()
            await nc.close()
    print(f"imported {doc.id}: {len(doc.rooms)} rooms, {len(doc.people)} people "
          f"(event {accepted.event_id}, seq {accepted.seq})")
    for warning in site_file.warnings(doc):
        print(f"muster: {path}: warning: {warning}", file=sys.stderr)
    return 0


async def token(settings: Settings, args: argparse.Namespace) -> int:
    async with for_command(settings, need_nats=False) as (_, db_url):
        pool = await reach_db(db_url)
        try:
            await db.migrate(pool)
            if args.token_cmd == "create":
                try:
                    expires = admin.expiry(args.expires)
                except ValueError:
                    print(f"muster: --expires {args.expires!r}: use 30m, 12h, 7d or an ISO "
                          "time", file=sys.stderr)
                    return 2
                try:
                    secret, token = await auth.create(pool, args.role, args.site, args.name,
                                                      expires)
                except auth.Conflict as exc:
                    print(f"muster: {exc.message}", file=sys.stderr)
                    return 1
                except ValueError as exc:  # an area binding for a role other than dispatch
                    print(f"muster: --site {exc}", file=sys.stderr)
                    return 2
                until = f", expires {expires:%Y-%m-%d %H:%M}Z" if expires else ""
                print(f"token {token.name!r}: role {args.role}, site {args.site}{until}")
                print(secret)
            elif args.token_cmd == "revoke":
                count = await auth.revoke(pool, args.name)
                if not count:
                    print(f"muster: no active token named {args.name!r}", file=sys.stderr)
                    return 1
                print(f"revoked {count} token(s) named {args.name!r}")
            else:
                print("\n".join(await admin.token_table(pool)))
        finally:
            await pool.close()
    return 0


async def audit(settings: Settings, args: argparse.Namespace) -> int:
    since = None
    if args.since:
        since = datetime.fromisoformat(args.since)
        since = since if since.tzinfo else since.replace(tzinfo=UTC)
    async with for_command(settings, need_db=False) as (nats_url, _):
        nc = await reach_nats(nats_url, ca_file=settings.nats_ca_file)
        try:
            print("\n".join(await admin.audit(EventLog(nc, stream=settings.stream),
                                              args.site, since)))
        finally:
            await nc.close()
    return 0


async def rebuild(settings: Settings) -> int:
    from consumers.projector import rebuild as project_again
    from consumers.read_models import ProjectorBusy

    def progress(done: int, total: int) -> None:
        width = 40
        filled = width * done // total if total else width
        print(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}", end="", flush=True)

    async with for_command(settings) as (nats_url, db_url):
        nc = await reach_nats(nats_url, ca_file=settings.nats_ca_file)
        pool = await reach_db(db_url)
        await db.migrate(pool)
        try:
            pos = await project_again(EventLog(nc, stream=settings.stream), pool, progress)
        except ProjectorBusy as exc:
            print(f"muster: {exc}", file=sys.stderr)
            return 1
        finally:
            await pool.close()
            await nc.close()
    print(f"\nrebuilt the read models up to seq {pos}")
    return 0
