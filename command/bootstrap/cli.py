"""The `muster` command line (CONTRACT §1): its parser, and each sub-command sent to its body.

The bodies are grouped by what they act on: cli_up (the running process: `up`, `serve`),
cli_admin (the stores: `migrate`, `site import`, `token`, `audit`, `rebuild`) and cli_incidents
(an incident: `alert`, `report`, `replay`). `up` and `serve` load the composition root in
`command.bootstrap.muster`, which wires the write side and the read side together.
"""

import argparse
import asyncio
import logging
import sys

import uvloop

from command.bootstrap import (
    cli_admin,
    cli_drills,
    cli_incidents,
    cli_roster,
    cli_tabletop,
    cli_units,
    cli_up,
)
from command.bootstrap.cli_up import APART
from command.domain.types import ROLES
from command.infra import config as settings_mod
from command.infra.config import COMPONENTS, Settings
from command.infra.embedded import EmbeddedError, Unreachable


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
    serve.add_argument("--components", default=",".join(COMPONENTS),
                       help=f"of {', '.join(COMPONENTS)}, or emergency (the life-safety "
                            "commands alone)")
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
    create.add_argument("--site", required=True,
                        help="a site id, '*' for all, or area:NAME (dispatch: a dispatch area)")
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
    cli_units.add_alert_arguments(alert)  # exactly one of --room, --bus, --away-event
    alert.add_argument("--drill", action="store_true")
    alert.add_argument("--token")
    alert.add_argument("--url")
    rebuild = sub.add_parser("rebuild", help="drop the read models and project them again")
    rep = sub.add_parser("report", help="an incident's after-action report")
    rep.add_argument("incident")
    rep.add_argument("--format", choices=("html", "md", "json", "print"),
                     help="default: from the -o file's suffix, else md; print: the one-page "
                     "record for the state file (HTML)")
    rep.add_argument("-o", "--output", help="write to this file instead of standard output")
    replay = sub.add_parser("replay", help="replay an incident onto /board/replay-INCIDENT")
    replay.add_argument("incident")
    replay.add_argument("--speed", type=float, default=10.0, help="times faster (default 10)")
    jump = replay.add_mutually_exclusive_group()
    jump.add_argument("--from-minute", type=float, metavar="N", help="jump to minute N of the "
                      "original: everything before it at once, then the rest at --speed")
    jump.add_argument("--from-inject", type=int, metavar="K", help="the same, from the K-th "
                      "inject (a tabletop's, counted from 1)")
    tabletop = cli_tabletop.add_parser(sub)
    roster = cli_roster.add_parser(sub)
    drills = cli_drills.add_parsers(sub)
    away = cli_units.add_parser(sub)
    for command in (up, serve, migrate, imp, create, revoke, listing, alert, rebuild, audit,
                    rep, replay, tabletop, roster, away, *drills):
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
        apart = tuple(x for x in APART if x in named)
        if settings.emergency_port is not None:
            apart += ("emergency",)
        return uvloop.run(cli_up.up(settings, args.demo, mine, apart))
    if args.cmd == "serve":
        if settings.embedded:
            print("muster: serve needs MUSTER_NATS_URL and MUSTER_DATABASE_URL", file=sys.stderr)
            return 2
        components = tuple(x.strip() for x in args.components.split(",") if x.strip())
        return uvloop.run(cli_up.up(settings, False, components))
    if args.cmd == "migrate":
        return asyncio.run(cli_admin.migrate(settings))
    if args.cmd == "site":
        return asyncio.run(cli_admin.import_site_file(settings, args.file))
    if args.cmd == "token":
        return asyncio.run(cli_admin.token(settings, args))
    if args.cmd == "audit":
        return asyncio.run(cli_admin.audit(settings, args))
    if args.cmd == "alert":
        return cli_incidents.alert(settings, args)
    if args.cmd == "rebuild":
        return asyncio.run(cli_admin.rebuild(settings))
    if args.cmd == "report":
        return cli_incidents.report(settings, args)
    if args.cmd == "roster":
        return cli_roster.roster(settings, args)
    if args.cmd == "tabletop":
        return cli_tabletop.tabletop(settings, args)
    if args.cmd == "drills":
        return cli_drills.drills(settings, args)
    if args.cmd == "away":
        return cli_units.away(settings, args)
    if args.cmd == "replay":
        try:
            return asyncio.run(cli_incidents.replay(settings, args))
        except KeyboardInterrupt:
            print("\nreplay stopped; what was appended stays on the replay board")
            return 130
    return 2


if __name__ == "__main__":
    sys.exit(main())
