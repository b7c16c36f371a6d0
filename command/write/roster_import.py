"""`POST /v1/sites/{site}/roster`: a OneRoster CSV bundle (multipart/form-data, one part per
file, or JSON `{"files": {"users.csv": "...", ...}}`), parsed in a worker process and decided
against the site's current people, so only what changed is written.

Every bad row answers 400 with its file, line and field, and nothing is written. The same export
again answers 200 `{"changed": false, ...}`, nothing written; a change answers 202 with counts,
the restrictions added and removed, and what a removal took off buses and away events. Either
warns when users.csv has no restriction column (restrictions were then kept as they were).
"""

import asyncio
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import msgspec
from aiohttp import BodyPartReader, web

from command.domain import commands as c
from command.domain import events as e
from command.domain import oneroster, roster_diff
from command.domain.errors import Invalid, MusterError, NotFound, TimedOut, TooLarge
from command.domain.event_data import RosterChangedData
from command.domain.site import Room, Site
from command.infra import workers
from command.infra.auth import TokenStore, authorize
from command.infra.web import BODY_TIMEOUT_S, Handler, json_response
from command.write.decisions import Unchanged
from command.write.intake import Intake

PATH = "/v1/sites/{site}/roster"
MAX_ROSTER = 64 * 1024 * 1024  # a district's 50,000 students with two adults each: ~35 MB
PARSE_TIMEOUT_S = 60.0  # 50,000 students parse in a few seconds
IN_LOOP = 256 * 1024  # a bundle this small parses in milliseconds, on the loop


NO_RESTRICTIONS = ("users.csv has no metadata.muster.restricted column: custody restrictions "
                   "were kept as they were")


KEPT_FOR_REMOVED = ("custody restrictions of people this import removed are kept for them ({ids}): "
                    "they are in force again if an import adds them back")


class Files(msgspec.Struct, forbid_unknown_fields=True):
    files: dict[str, str]


def _in_worker(files: dict[str, str], rooms: bytes, school: str | None) -> bytes:
    return msgspec.json.encode(oneroster.parse(files, msgspec.json.decode(
        rooms, type=list[Room]), school))


class RosterParser:
    """Parses a large bundle in a worker process of its own, one at a time, off the loop every
    press needs: started per import (a daily sync) and gone after it, so nothing idles."""

    def __init__(self, timeout_s: float = PARSE_TIMEOUT_S) -> None:
        self.timeout_s = timeout_s
        self._lock = asyncio.Lock()

    async def parse(self, files: dict[str, str], rooms: list[Room],
                    school: str | None = None) -> oneroster.Roster:
        if sum(map(len, files.values())) <= IN_LOOP:  # sooner than a worker starts
            return oneroster.parse(files, rooms, school)
        async with self._lock:
            pool = workers.pool(1)
            try:
                future = asyncio.get_running_loop().run_in_executor(
                    pool, _in_worker, files, msgspec.json.encode(rooms), school)
                raw = await asyncio.wait_for(future, self.timeout_s)
            except (TimeoutError, BrokenProcessPool):
                raise TooLarge(f"the bundle took longer than {self.timeout_s:g} s to parse",
                               field="$") from None
            finally:
                workers.kill(pool)
        return msgspec.json.decode(raw, type=oneroster.Roster)


async def _read(request: web.Request) -> dict[str, str]:
    """The bundle's files by name, within MAX_ROSTER bytes and the body's time bound."""
    if request.content_length is not None and request.content_length > MAX_ROSTER:
        raise TooLarge(f"the bundle is larger than {MAX_ROSTER} bytes")
    timeout = request.config_dict.get(BODY_TIMEOUT_S, 30.0)
    try:
        async with asyncio.timeout(timeout * 4):  # a large bundle: four bodies' time
            if request.content_type == "multipart/form-data":
                try:
                    return await _parts(request)
                except MusterError:
                    raise
                except Exception as exc:  # a malformed form: aiohttp's parser says why
                    raise Invalid(f"the multipart form cannot be read: {exc}"[:500],
                                  field="$") from None
            raw = await _bounded(request.content.read)
    except TimeoutError:
        raise TimedOut("the bundle did not arrive in time") from None
    try:
        return msgspec.json.decode(raw or b"{}", type=Files).files
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise Invalid(f"the body is no {{\"files\": {{name: text}}}}: {exc}", field="$") from None


async def _bounded(read: Any, limit: int = MAX_ROSTER) -> bytes:
    """What `read(size)` gives until it gives b"", refused past `limit` bytes."""
    chunks, size = [], 0
    while chunk := await read(1 << 16):
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"the bundle is larger than {MAX_ROSTER} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def _parts(request: web.Request) -> dict[str, str]:
    files: dict[str, str] = {}
    reader = await request.multipart()
    left = MAX_ROSTER
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            raise Invalid("a part of the form is itself multipart", field="$")
        name = part.filename or part.name or ""
        raw = await _bounded(part.read_chunk, left)
        left -= len(raw)
        try:
            files[name.rsplit("/", 1)[-1]] = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise Invalid(f"{name} is not UTF-8 (byte {exc.start})", field=name) from None
    return files


def answer(before: Site, parts: list[RosterChangedData]) -> dict[str, Any]:
    """What an import wrote, for its answer: counts, and what left the buses and away events."""
    found = roster_diff.Diff(added=[p for d in parts for p in d.added],
                             changed=[p for d in parts for p in d.changed],
                             removed=[r for d in parts for r in d.removed])
    added, removed = roster_diff.restrictions(before.people, found, before.custody)
    held, ids = roster_diff.kept_for(before, found.removed)
    return {"added": len(found.added), "changed_people": len(found.changed),
            "removed": len(found.removed), "restrictions_added": added,
            "restrictions_removed": removed, "restrictions_kept_for_removed": held,
            "dropped": roster_diff.dropped(before, found.removed),
            "warnings": [KEPT_FOR_REMOVED.format(ids=", ".join(ids))] if ids else []}


def roster_handler(intake: Intake, tokens: TokenStore, parser: RosterParser) -> Handler:
    async def handle(request: web.Request) -> web.Response:
        token = await tokens.authenticate(request.headers.get("Authorization"))
        site = request.match_info["site"]
        authorize(token, ("admin",), site)
        config = intake.state(site).site
        if config is None:
            raise NotFound(f"unknown site {site!r}", field="site")
        files = await _read(request)
        # A district's export names its schools by org sourcedId: ?school= picks this one.
        roster = await parser.parse(files, config.rooms, request.query.get("school") or None)
        if roster.errors:
            return json_response({"error": {
                "code": "invalid", "field": "$", "message": f"{len(roster.errors)} row(s) of "
                "the bundle are wrong; nothing was imported"},
                "rows": msgspec.to_builtins(roster.errors)}, status=400)
        warnings = [] if roster.restrictions else [NO_RESTRICTIONS]
        before = intake.state(site).site or config  # what this import is decided against
        try:
            accepted, events = await intake.execute(site, c.ImportRoster(
                people=roster.people, restrictions=roster.restrictions), token.actor())
        except Unchanged:
            return json_response({"changed": False, "added": 0, "changed_people": 0,
                                  "removed": 0, "restrictions_added": 0,
                                  "restrictions_removed": 0,
                                  "restrictions_kept_for_removed": 0, "dropped": [],
                                  "warnings": warnings, "people": len(roster.people)})
        said = answer(before, [ev.data for ev in events if isinstance(ev, e.RosterChanged)])
        return json_response({**msgspec.to_builtins(accepted), "changed": bool(events),
                              **said, "warnings": warnings + said["warnings"],
                              "people": len(roster.people)}, status=202)

    return handle


def roster_routes(intake: Intake, tokens: TokenStore, parser: RosterParser,
                  ) -> list[web.RouteDef]:
    return [web.post(PATH, roster_handler(intake, tokens, parser))]
