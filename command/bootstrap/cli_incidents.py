"""An incident, from the command line: `alert` presses a button through the HTTP API, `report`
writes the after-action report, and `replay` plays an incident again onto a board of its own.
"""

import argparse
import asyncio
import json
import os
import sys
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from command.bootstrap import cli_units, runtime_file
from command.bootstrap.servers import for_command
from command.infra.config import Settings
from command.infra.embedded import reach_nats
from command.infra.eventlog import EventLog


async def _recorded(settings: Settings, incident: str) -> Any:
    """The incident's recording and the site's earlier drills, both from the stream."""
    from consumers.drill_history import from_stream
    from consumers.replay import recorded

    async with for_command(settings, need_db=False) as (nats_url, _):
        nc = await reach_nats(nats_url, ca_file=settings.nats_ca_file)
        try:
            log = EventLog(nc, stream=settings.stream)
            recording = await recorded(log, incident)
            site, last = recording.events[0][1].site, recording.events[-1][0]
            return recording, await from_stream(log, site, last)
        finally:
            await nc.close()


def report(settings: Settings, args: argparse.Namespace) -> int:
    from command.domain import report_print, report_render
    from command.domain.errors import MusterError
    from command.domain.redact import event_view
    from command.domain.report import build

    fmt = args.format or {".html": "html", ".json": "json"}.get(Path(args.output or "").suffix,
                                                                 "md")
    try:
        (config, events), history = asyncio.run(_recorded(settings, args.incident))
    except MusterError as exc:
        print(f"muster: {exc}", file=sys.stderr)
        return 1
    # The commander's view: an operator with the stream in hand; Handle With Care stays out.
    built = build(events, config.data if config else None,
                  view=lambda doc: event_view(doc, "commander"), history=history,
                  role="commander")
    render = report_render
    out = {"json": lambda: render.to_json(built).decode(), "md": lambda: render.to_markdown(built),
           "html": lambda: render.to_html(built),
           "print": lambda: report_print.to_print(built)}[fmt]()
    if args.output:
        Path(args.output).write_text(out, encoding="utf-8")
        print(f"wrote the {fmt} report of {args.incident} to {args.output}")
    else:
        print(out, end="")
    return 0


async def replay(settings: Settings, args: argparse.Namespace) -> int:
    from command.domain.errors import MusterError
    from consumers.replay import replay as play_again
    from consumers.replay import replay_site

    url = runtime_file.http_url(settings)
    async with for_command(settings, need_db=False) as (nats_url, _):
        nc = await reach_nats(nats_url, ca_file=settings.nats_ca_file)
        try:
            site = replay_site(args.incident)
            print(f"Replay board: {url}/board/{site}  (the incident's own site's readers may "
                  f"watch it; on the page, 'From the start' then 'Play')", flush=True)
            await play_again(EventLog(nc, stream=settings.stream), args.incident, args.speed,
                             from_minute=args.from_minute, from_inject=args.from_inject)
        except MusterError as exc:
            print(f"muster: {exc}", file=sys.stderr)
            return 1
        finally:
            await nc.close()
    start = (f" from minute {args.from_minute:g}" if args.from_minute is not None
             else f" from inject {args.from_inject}" if args.from_inject is not None else "")
    print(f"replayed {args.incident} onto {site}{start} at {args.speed:g}x")
    return 0


def alert(settings: Settings, args: argparse.Namespace) -> int:
    url = runtime_file.http_url(settings, args.url)
    token = args.token or os.environ.get("MUSTER_TOKEN")
    if not token:
        print("muster: a token is needed: --token or MUSTER_TOKEN", file=sys.stderr)
        return 2
    where = cli_units.where(args)  # a room, a bus or an away event, and where it is now
    if isinstance(where, str):
        print(f"muster: {where}", file=sys.stderr)
        return 2
    body = {"kind": args.kind, **where, "drill": args.drill,
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
