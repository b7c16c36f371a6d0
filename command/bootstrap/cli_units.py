"""Buses and away events from the command line: where `muster alert` says a press is (one of
--room, --bus, --away-event, with --location/--lat/--lon for a unit on the move), and
`muster away schedule`, which sends an away event to `POST /v1/sites/{site}/away-events`.
"""

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from datetime import datetime
from typing import Any

from command.bootstrap import runtime_file
from command.infra.config import Settings


def add_alert_arguments(alert: argparse.ArgumentParser) -> None:
    """`muster alert`'s where: exactly one of the three, checked by `where`."""
    alert.add_argument("--room")
    alert.add_argument("--bus")
    alert.add_argument("--away-event", dest="away_event")
    alert.add_argument("--location", help="where a bus or away event is now, in words")
    alert.add_argument("--lat", type=float)
    alert.add_argument("--lon", type=float)


def where(args: argparse.Namespace) -> dict[str, Any] | str:
    """The alert body's where, or why the arguments cannot say it."""
    given = {k: v for k, v in (("room", args.room), ("bus", args.bus),
                               ("away_event", args.away_event)) if v}
    if len(given) != 1:
        return "give exactly one of --room, --bus or --away-event"
    if (args.lat is None) != (args.lon is None):
        return "give --lat and --lon together"
    if args.location or args.lat is not None:
        given["location"] = {"text": args.location or "", "lat": args.lat, "lon": args.lon}
    return given


def add_parser(sub: Any) -> argparse.ArgumentParser:
    away = sub.add_parser("away", help="away events: games and field trips")
    cmds = away.add_subparsers(dest="away_cmd", required=True)
    p = cmds.add_parser("schedule", help="schedule an away event (or replace one of its id)")
    p.add_argument("--site", required=True)
    p.add_argument("--id", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--kind", choices=("game", "field_trip", "other"), default="other")
    p.add_argument("--place", default="", help="where it is, in words")
    p.add_argument("--lat", type=float)
    p.add_argument("--lon", type=float)
    p.add_argument("--starts", help="an ISO time (default: open)")
    p.add_argument("--ends", help="an ISO time (default: until the school says so)")
    p.add_argument("--people", default="", help="roster person ids, comma-separated")
    p.add_argument("--chaperone", action="append", default=[], metavar="ID:NAME[:PHONE]",
                   help="an adult not on the roster; repeat for each")
    p.add_argument("--token", help="a staff or commander token (default: MUSTER_TOKEN)")
    p.add_argument("--url")
    return p


def event_body(args: argparse.Namespace) -> dict[str, Any] | str:
    """The ScheduleAwayEvent body, or why the arguments cannot make one."""
    chaperones = []
    for given in args.chaperone:
        parts = given.split(":", 2)
        if len(parts) < 2 or not parts[0] or not parts[1]:
            return f"--chaperone {given!r}: give ID:NAME or ID:NAME:PHONE"
        chaperones.append({"id": parts[0], "name": parts[1],
                           "phone": parts[2] if len(parts) == 3 else ""})
    body: dict[str, Any] = {
        "id": args.id, "name": args.name, "kind": args.kind,
        "place": {"text": args.place, "lat": args.lat, "lon": args.lon},
        "people": [p.strip() for p in args.people.split(",") if p.strip()],
        "chaperones": chaperones}
    for key, value in (("starts_at", args.starts), ("ends_at", args.ends)):
        if value:
            try:
                body[key] = datetime.fromisoformat(value).isoformat()
            except ValueError:
                return f"--{key.split('_')[0]}: {value!r} is not an ISO time"
    return body


def away(settings: Settings, args: argparse.Namespace) -> int:
    token = args.token or os.environ.get("MUSTER_TOKEN")
    if not token:
        print("muster: a token is needed: --token or MUSTER_TOKEN", file=sys.stderr)
        return 2
    body = event_body(args)
    if isinstance(body, str):
        print(f"muster: {body}", file=sys.stderr)
        return 2
    url = runtime_file.http_url(settings, args.url)
    request = urllib.request.Request(
        f"{url}/v1/sites/{args.site}/away-events", data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            print(resp.read().decode())
            return 0
    except urllib.error.HTTPError as exc:
        print(exc.read().decode(), file=sys.stderr)
        return 1
    except urllib.error.URLError as exc:
        print(f"muster: cannot reach {url}: {exc.reason}", file=sys.stderr)
        return 1
