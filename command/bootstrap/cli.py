"""The `muster` command line (CONTRACT §1).

It is the process entry above both sides: `up`, `serve` and `rebuild` load the composition root
in `command.bootstrap.muster`, which wires the write side and the read side together.
"""

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvloop

from command.bootstrap import admin
from command.domain import site as site_file
from command.domain.events import Actor
from command.domain.types import ROLES
from command.infra import auth, credentials, db
from command.infra import config as settings_mod
from command.infra.broker import OpenBroker
from command.infra.config import COMPONENTS, Settings
from command.infra.embedded import (
    EmbeddedError,
    EmbeddedNats,
    EmbeddedPostgres,
    Unreachable,
    reach_db,
    reach_nats,
)
from command.infra.eventlog import EventLog

# What `muster up` may run in processes of its own: neither serves clients on the HTTP port.
APART = ("projector", "notifier")
CLI_ACTOR = Actor(kind="user", id=f"cli:{os.environ.get('USER', 'unknown')}", role="admin")


def _runtime(settings: Settings) -> dict[str, Any] | None:
    """The URLs a running `muster up` on this data dir wrote, if it is still running."""
    with contextlib.suppress(OSError, ValueError):
        info = json.loads(settings.runtime_file.read_text())
        os.kill(int(info["pid"]), 0)
        return info
    return None


@contextlib.asynccontextmanager
async def servers(settings: Settings, need_nats: bool = True,
                  need_db: bool = True) -> AsyncIterator[tuple[str, str]]:
    """NATS and PostgreSQL URLs: configured ones, a running `muster up`'s, or embedded ones
    started for this command alone and stopped after it."""
    nats_url, db_url = settings.nats_url, settings.database_url
    info = _runtime(settings)
    if info:
        nats_url = nats_url or info["nats_url"]
        db_url = db_url or info["database_url"]
    started: list[Any] = []
    loop = asyncio.get_running_loop()
    try:
        if (need_nats and not nats_url) or (need_db and not db_url):
            credentials.private_dir(Path(settings.data_dir))  # the servers' passwords are in it
        if need_nats and not nats_url:
            nats = EmbeddedNats(Path(settings.data_dir) / "nats")
            nats_url = await loop.run_in_executor(None, nats.start)
            started.append(nats)
        if need_db and not db_url:
            pg = EmbeddedPostgres(Path(settings.data_dir) / "pg")
            db_url = await loop.run_in_executor(None, pg.start)
            started.append(pg)
        yield nats_url or "", db_url or ""
    finally:
        for server in reversed(started):
            await loop.run_in_executor(None, server.stop)


async def _up(settings: Settings, demo: bool, components: tuple[str, ...],
              children: tuple[str, ...] = ()) -> int:
    from command.bootstrap.muster import Muster, PortInUse, run_until_stopped
    from consumers.component_processes import ChildError

    running = _runtime(settings) if settings.embedded else None
    if running:
        # A second embedded NATS on the same store would stop the first one's (stale pid file).
        print(f"muster: muster up is already running on {settings.data_dir} "
              f"(pid {running['pid']}, {running['http_url']})", file=sys.stderr)
        return 2
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    muster = Muster(settings, components, children=children)

    async def announce(m: Muster) -> None:
        if demo:
            tokens = await m.demo()
            print("Demo site demo-high imported. One token per role:")
            for role, secret in tokens.items():
                print(f"  {role:<10} {secret}")
            print(f"Board: {m.url}/board/demo-high")
        apart = "".join(f"; {x} in a process of its own" for x in children)
        print(f"Muster listening on {m.url} (components: {', '.join(components)}{apart})",
              flush=True)
        print(f"Metrics (no token, so on this address alone): {m.metrics_url}", flush=True)

    try:
        await run_until_stopped(muster, stop, announce)
    except (PortInUse, EmbeddedError, Unreachable, ChildError, OpenBroker) as exc:
        print(f"muster: {exc}", file=sys.stderr)
        return 2
    return 0


async def _migrate(settings: Settings) -> int:
    async with servers(settings, need_nats=False) as (_, db_url):
        pool = await reach_db(db_url)
        applied = await db.migrate(pool)
        await pool.close()
    print("applied: " + (", ".join(applied) if applied else "nothing (up to date)"))
    return 0


async def _site_import(settings: Settings, path: str) -> int:
    from command.domain import commands as c
    from command.domain.errors import Invalid
    from command.domain.rehearsal import rehearse
    from command.write.intake import Intake

    try:
        doc = site_file.load(path)
    except (OSError, site_file.SiteError) as exc:
        print(f"muster: {path}: {exc}", file=sys.stderr)
        return 2
    async with servers(settings, need_db=False) as (nats_url, _):
        nc = await reach_nats(nats_url, ca_file=settings.nats_ca_file)
        log = EventLog(nc, stream=settings.stream)
        await log.ensure_stream(settings.stream_replicas)
        intake = Intake(log, rehearse=rehearse)
        # The whole stream: Intake.start waits for the stream's last seq, which a filter on
        # one site's subjects never reaches when another site wrote last.
        await intake.start()
        try:
            current = intake.state(doc.id)
            if current.site == doc:
                print(f"{doc.id} is already imported as in {path} (seq {current.seq}); "
                      "nothing written")
                return 0
            accepted, _ = await intake.execute(doc.id, c.ConfigureSite(site=doc), CLI_ACTOR)
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


async def _token(settings: Settings, args: argparse.Namespace) -> int:
    async with servers(settings, need_nats=False) as (_, db_url):
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


async def _audit(settings: Settings, args: argparse.Namespace) -> int:
    since = None
    if args.since:
        since = datetime.fromisoformat(args.since)
        since = since if since.tzinfo else since.replace(tzinfo=UTC)
    async with servers(settings, need_db=False) as (nats_url, _):
        nc = await reach_nats(nats_url, ca_file=settings.nats_ca_file)
        try:
            print("\n".join(await admin.audit(EventLog(nc, stream=settings.stream),
                                              args.site, since)))
        finally:
            await nc.close()
    return 0


async def _rebuild(settings: Settings) -> int:
    from consumers.projector import ProjectorBusy, rebuild

    def progress(done: int, total: int) -> None:
        width = 40
        filled = width * done // total if total else width
        print(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}", end="", flush=True)

    async with servers(settings) as (nats_url, db_url):
        nc = await reach_nats(nats_url, ca_file=settings.nats_ca_file)
        pool = await reach_db(db_url)
        await db.migrate(pool)
        try:
            pos = await rebuild(EventLog(nc, stream=settings.stream), pool, progress)
        except ProjectorBusy as exc:
            print(f"muster: {exc}", file=sys.stderr)
            return 1
        finally:
            await pool.close()
            await nc.close()
    print(f"\nrebuilt the read models up to seq {pos}")
    return 0


async def _recorded(settings: Settings, incident: str) -> Any:
    from consumers.replay import recorded

    async with servers(settings, need_db=False) as (nats_url, _):
        nc = await reach_nats(nats_url, ca_file=settings.nats_ca_file)
        try:
            return await recorded(EventLog(nc, stream=settings.stream), incident)
        finally:
            await nc.close()


def _report(settings: Settings, args: argparse.Namespace) -> int:
    from command.domain import report, report_render
    from command.domain.errors import MusterError
    from command.domain.redact import event_view

    fmt = args.format or {".html": "html", ".json": "json"}.get(Path(args.output or "").suffix,
                                                                 "md")
    try:
        config, events = asyncio.run(_recorded(settings, args.incident))
    except MusterError as exc:
        print(f"muster: {exc}", file=sys.stderr)
        return 1
    # The commander's view: an operator with the stream in hand; Handle With Care stays out.
    built = report.build(events, config.data if config else None,
                         view=lambda doc: event_view(doc, "commander"))
    render = report_render
    out = {"json": lambda: render.to_json(built).decode(), "md": lambda: render.to_markdown(built),
           "html": lambda: render.to_html(built)}[fmt]()
    if args.output:
        Path(args.output).write_text(out, encoding="utf-8")
        print(f"wrote the {fmt} report of {args.incident} to {args.output}")
    else:
        print(out, end="")
    return 0


async def _replay(settings: Settings, args: argparse.Namespace) -> int:
    from command.domain.errors import MusterError
    from consumers.replay import replay, replay_site

    info = _runtime(settings) or {}
    url = info.get("http_url") or f"http://{settings.http_host}:{settings.http_port}"
    async with servers(settings, need_db=False) as (nats_url, _):
        nc = await reach_nats(nats_url, ca_file=settings.nats_ca_file)
        try:
            site = replay_site(args.incident)
            print(f"Replay board: {url}/board/{site}  (a token for site {site} or '*' reads it)",
                  flush=True)
            await replay(EventLog(nc, stream=settings.stream), args.incident, args.speed)
        except MusterError as exc:
            print(f"muster: {exc}", file=sys.stderr)
            return 1
        finally:
            await nc.close()
    print(f"replayed {args.incident} onto {site} at {args.speed:g}x")
    return 0


def _alert(settings: Settings, args: argparse.Namespace) -> int:
    info = _runtime(settings) or {}
    url = args.url or info.get("http_url") or f"http://{settings.http_host}:{settings.http_port}"
    token = args.token or os.environ.get("MUSTER_TOKEN")
    if not token:
        print("muster: a token is needed: --token or MUSTER_TOKEN", file=sys.stderr)
        return 2
    body = {"kind": args.kind, "room": args.room, "drill": args.drill,
            "client_event_id": str(uuid.uuid4())}
    request = urllib.request.Request(
        f"{url}/v1/sites/{args.site}/alerts", data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    for attempt in range(3):  # the same client_event_id makes a retry safe
        try:
            with urllib.request.urlopen(request, timeout=5) as resp:
                print(resp.read().decode())
                return 0
        except urllib.error.HTTPError as exc:
            print(exc.read().decode(), file=sys.stderr)
            if exc.code != 503 or attempt == 2:
                return 1
        except urllib.error.URLError as exc:
            print(f"muster: cannot reach {url}: {exc.reason}", file=sys.stderr)
            if attempt == 2:
                return 1
    return 1


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="muster", description="Muster incident command backend")
    p.add_argument("--config", help="a TOML settings file")
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up", help="run everything, embedded servers by default")
    up.add_argument("--demo", action="store_true", help="import demo-high and print tokens")
    up.add_argument("--port", type=int)
    up.add_argument("--host")
    serve = sub.add_parser("serve", help="run some components against external servers")
    serve.add_argument("--components", default=",".join(COMPONENTS))
    serve.add_argument("--port", type=int)
    serve.add_argument("--host")
    migrate = sub.add_parser("migrate", help="apply the database migrations")
    site = sub.add_parser("site", help="site files").add_subparsers(dest="site_cmd", required=True)
    imp = site.add_parser("import", help="import a site file (TOML)")
    imp.add_argument("file")
    token = sub.add_parser("token", help="bearer tokens").add_subparsers(dest="token_cmd",
                                                                          required=True)
    create = token.add_parser("create", help="create a token; printed once, stored as a hash")
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument("--site", required=True, help="a site id, or '*' for all")
    create.add_argument("--name")
    create.add_argument("--expires", help="30m, 12h, 7d, or an ISO time; default never")
    revoke = token.add_parser("revoke", help="revoke a token by name (or id)")
    revoke.add_argument("name")
    listing = token.add_parser("list", help="names, roles, sites and last use; never secrets")
    audit = sub.add_parser("audit", help="who did what, when, from the event stream")
    audit.add_argument("--site")
    audit.add_argument("--since", help="an ISO time")
    alert = sub.add_parser("alert", help="press a panic button through the HTTP API")
    alert.add_argument("--site", required=True)
    alert.add_argument("--kind", required=True)
    alert.add_argument("--room", required=True)
    alert.add_argument("--drill", action="store_true")
    alert.add_argument("--token")
    alert.add_argument("--url")
    rebuild = sub.add_parser("rebuild", help="drop the read models and project them again")
    rep = sub.add_parser("report", help="an incident's after-action report")
    rep.add_argument("incident")
    rep.add_argument("--format", choices=("html", "md", "json"),
                     help="default: from the -o file's suffix, else md")
    rep.add_argument("-o", "--output", help="write to this file instead of standard output")
    replay = sub.add_parser("replay", help="replay an incident onto /board/replay-INCIDENT")
    replay.add_argument("incident")
    replay.add_argument("--speed", type=float, default=10.0, help="times faster (default 10)")
    for command in (up, serve, migrate, imp, create, revoke, listing, alert, rebuild, audit,
                    rep, replay):
        command.add_argument("--data-dir", dest="data_dir", default=argparse.SUPPRESS)
        command.add_argument("--config", default=argparse.SUPPRESS, help="a TOML settings file")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = settings_mod.load(
            args.config, data_dir=getattr(args, "data_dir", None),
            http_port=getattr(args, "port", None), http_host=getattr(args, "host", None))
    except settings_mod.ConfigError as exc:
        print(f"muster: {exc}", file=sys.stderr)
        return 2
    try:
        return _run(args, settings)
    except (EmbeddedError, Unreachable) as exc:
        print(f"muster: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace, settings: Settings) -> int:
    if args.cmd == "up":
        named = [x.strip() for x in settings.apart.split(",") if x.strip()]
        if wrong := [x for x in named if x not in APART]:
            print(f"muster: MUSTER_APART names {', '.join(wrong)}; only "
                  f"{' and '.join(APART)} can run apart", file=sys.stderr)
            return 2
        mine = tuple(x for x in COMPONENTS if x not in named)
        return uvloop.run(_up(settings, args.demo, mine, tuple(x for x in APART if x in named)))
    if args.cmd == "serve":
        if settings.embedded:
            print("muster: serve needs MUSTER_NATS_URL and MUSTER_DATABASE_URL", file=sys.stderr)
            return 2
        components = tuple(x.strip() for x in args.components.split(",") if x.strip())
        return uvloop.run(_up(settings, False, components))
    if args.cmd == "migrate":
        return asyncio.run(_migrate(settings))
    if args.cmd == "site":
        return asyncio.run(_site_import(settings, args.file))
    if args.cmd == "token":
        return asyncio.run(_token(settings, args))
    if args.cmd == "audit":
        return asyncio.run(_audit(settings, args))
    if args.cmd == "alert":
        return _alert(settings, args)
    if args.cmd == "rebuild":
        return asyncio.run(_rebuild(settings))
    if args.cmd == "report":
        return _report(settings, args)
    if args.cmd == "replay":
        try:
            return asyncio.run(_replay(settings, args))
        except KeyboardInterrupt:
            print("\nreplay stopped; what was appended stays on the replay board")
            return 130
    return 2


if __name__ == "__main__":
    sys.exit(main())
