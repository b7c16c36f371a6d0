"""`muster tabletop SCENARIO --site S`: a facilitator's player for a tabletop exercise.

It opens the tabletop through the HTTP API (or, with `--incident`, goes on with one already
open), then delivers each inject at its script time divided by `--speed`, printing each as it
goes. Type `p` and Enter to pause, Enter to resume; Ctrl-C stops and says how to go on with
`--from K`. Each inject carries a client_event_id derived from the incident and its index, so a
retry, or a resume from an inject already delivered, never delivers it twice. When each inject
is due is `scenario.schedule` and `scenario.wait_for`; this module only sleeps, reads and posts.
"""

import argparse
import asyncio
import os
import sys
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import aiohttp
import msgspec

from command.bootstrap import runtime_file
from command.domain import scenario as sc
from command.domain.errors import Invalid
from command.infra.config import Settings
from command.write.scenario_library import shipped

# Fixed: an inject's client_event_id is the same on every run and every machine.
INJECT_NS = uuid.UUID("0b7e0f4c-52d3-4c1e-9d0e-7a5f3f1c2b64")
ATTEMPTS = 3  # a 503 or a dropped connection; the same client_event_id makes each safe


class Refused(Exception):
    """Muster answered with an error: its status and body."""


@dataclass
class Progress:
    """What the player has done so far: for Ctrl-C's resume line."""

    incident_id: str | None = None
    delivered: int = 0  # the last inject delivered, counted from 1 in the script


def inject_event_id(incident_id: str, index: int) -> str:
    return str(uuid.uuid5(INJECT_NS, f"{incident_id}/{index}"))


def load(name_or_path: str) -> sc.Scenario:
    """A shipped scenario by name, or a scenario file."""
    path = Path(name_or_path)
    if path.is_file():
        return sc.loads(path.read_bytes())
    found = shipped().get(name_or_path)
    if found is None:
        raise Invalid(f"no scenario file or shipped scenario {name_or_path!r}; shipped: "
                      f"{', '.join(sorted(shipped()))}", "SCENARIO")
    return found


class Api:
    """Muster's HTTP API, as the facilitator's commander token."""

    def __init__(self, http: aiohttp.ClientSession, url: str, token: str) -> None:
        self.http, self.url, self.token = http, url.rstrip("/"), token

    async def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.token}"}
        for attempt in range(ATTEMPTS):
            try:
                async with self.http.post(self.url + path, json=body, headers=headers) as resp:
                    answer = await resp.json(content_type=None)
                    if resp.status == 202:
                        return answer  # type: ignore[no-any-return]
                    if resp.status != 503 or attempt == ATTEMPTS - 1:
                        raise Refused(f"{resp.status} {answer}")
            except aiohttp.ClientConnectionError:
                if attempt == ATTEMPTS - 1:
                    raise
            await asyncio.sleep(0.5 * (attempt + 1))
        raise AssertionError("unreachable")


def said(t: sc.Timed, total: int) -> str:
    who = f"{t.source}: " if t.source else ""
    return f"[{t.index + 1}/{total}] {t.clock or f'+{t.at_s:g}s'}  {who}{t.text}"


async def play(api: Api, site: str, script: sc.Scenario, speed: float, start: int = 1,
               incident_id: str | None = None, note: str | None = None,
               controls: asyncio.Queue[str] | None = None, out: TextIO = sys.stdout,
               progress: Progress | None = None) -> str:
    """Open the tabletop (unless `incident_id` names one) and deliver its injects from the
    `start`-th (counted from 1); `controls` carries the facilitator's lines. Its incident id."""
    progress = progress or Progress()
    timed = sc.timeline(script)
    plan = sc.schedule(timed, speed, start - 1)  # refuses speed <= 0 before anything is sent
    if incident_id is None:
        body = {"scenario": msgspec.to_builtins(script), "client_event_id": str(uuid.uuid4())}
        if note:
            body["note"] = note
        incident_id = str((await api.post(f"/v1/sites/{site}/tabletops", body))["incident_id"])
        print(f"tabletop {incident_id} open at {site}: {script.title}", file=out)
    progress.incident_id = incident_id
    print(f"{len(plan)} injects at x{speed:g}; p + Enter pauses, Enter resumes, Ctrl-C stops",
          file=out, flush=True)
    loop = asyncio.get_running_loop()
    pace = sc.Pace(started=loop.time())
    for due, t in plan:
        while (wait := sc.wait_for(pace, due, loop.time())) != 0:
            line = await _next_line(controls, wait)
            if line is None:
                continue  # the wait ran out: deliver
            if line.strip().lower() == "p":
                pace = sc.paused(pace, loop.time())
                print("paused: Enter resumes", file=out, flush=True)
            elif pace.paused_at is not None:
                pace = sc.resumed(pace, loop.time())
                print("resumed", file=out, flush=True)
        await api.post(f"/v1/incidents/{incident_id}/injects", {
            "index": t.index, "text": t.text, "at_s": t.at_s, "source": t.source,
            **({"clock": t.clock} if t.clock else {}), "expect": t.expect,
            "client_event_id": inject_event_id(incident_id, t.index)})
        progress.delivered = t.index + 1
        print(said(t, len(timed)), file=out, flush=True)
    print(f"every inject delivered. Close the tabletop on the board when the team is done; "
          f"the debrief: muster report {incident_id}", file=out, flush=True)
    return incident_id


async def _next_line(controls: asyncio.Queue[str] | None, wait: float | None) -> str | None:
    """The facilitator's next line, or None when `wait` seconds pass first."""
    if controls is None:
        if wait is None:  # paused with no way to resume: cannot happen without controls
            raise AssertionError("paused without controls")
        await asyncio.sleep(wait)
        return None
    try:
        return await asyncio.wait_for(controls.get(), timeout=wait)
    except TimeoutError:
        return None


def _read_stdin(loop: asyncio.AbstractEventLoop, controls: asyncio.Queue[str]) -> None:
    """The terminal's lines into the player's queue, from a thread of their own."""
    for line in sys.stdin:
        loop.call_soon_threadsafe(controls.put_nowait, line)


async def _main(args: argparse.Namespace, url: str, token: str, progress: Progress) -> int:
    script = load(args.scenario)
    controls: asyncio.Queue[str] = asyncio.Queue()
    threading.Thread(target=_read_stdin, args=(asyncio.get_running_loop(), controls),
                     daemon=True).start()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
        await play(Api(http, url, token), args.site, script, args.speed, args.start,
                   args.incident, args.note, controls, progress=progress)
    return 0


def tabletop(settings: Settings, args: argparse.Namespace) -> int:
    url = runtime_file.http_url(settings, args.url)
    token = args.token or os.environ.get("MUSTER_TOKEN")
    if not token:
        print("muster: a commander's token is needed: --token or MUSTER_TOKEN", file=sys.stderr)
        return 2
    if args.start > 1 and not args.incident:
        print("muster: --from needs --incident, the tabletop to go on with", file=sys.stderr)
        return 2
    progress = Progress()
    try:
        return asyncio.run(_main(args, url, token, progress))
    except KeyboardInterrupt:
        if progress.incident_id is None:
            print("\ntabletop not started", file=sys.stderr)
            return 130
        print(f"\nstopped after inject {progress.delivered}. To go on: muster tabletop "
              f"{args.scenario} --site {args.site} --incident {progress.incident_id} "
              f"--from {max(progress.delivered + 1, args.start)}", file=sys.stderr)
        return 130
    except (Invalid, Refused) as exc:
        print(f"muster: {exc}", file=sys.stderr)
        return 1
    except aiohttp.ClientError as exc:
        print(f"muster: cannot reach {url}: {exc}", file=sys.stderr)
        return 1


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser("tabletop", help="play a tabletop scenario's injects onto a site's board")
    p.add_argument("scenario", help="a shipped scenario's name or a scenario file (TOML)")
    p.add_argument("--site", required=True)
    p.add_argument("--speed", type=float, default=1.0, help="times faster (default 1)")
    p.add_argument("--from", dest="start", type=int, default=1, metavar="K",
                   help="go on from the K-th inject (from 1); needs --incident")
    p.add_argument("--incident", help="the open tabletop to go on with")
    p.add_argument("--note", help="what the exercise is for (default: the scenario's title)")
    p.add_argument("--token")
    p.add_argument("--url")
    return p
