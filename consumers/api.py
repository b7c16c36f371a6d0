"""The read side's HTTP routes: boards, incidents and timelines from the read models, and the
live board over WebSocket from the gateway; each declared once, as `Route`s, with its schema."""

import asyncio
from collections import Counter
from collections.abc import Callable
from typing import NamedTuple

import asyncpg
import msgspec
from aiohttp import WSCloseCode, web

from command.domain import redact
from command.domain.errors import Invalid, NotFound, RateLimited
from command.domain.types import ROLES
from command.infra.auth import Token, TokenStore, authorize
from command.infra.route_table import Answer, Route, Schema, ok, serve
from command.infra.web import Handler, json_response
from consumers.gateway import Gateway
from consumers.replay import PREFIX as REPLAY

READERS = ("staff", "responder", "commander", "dispatch")
# What a reader may be refused with; the middlewares add their own (rate limits, time-outs).
REFUSED = ("401", "403", "404")


class ReadSources(NamedTuple):
    """What the read routes are served from; an app serving only some of them gives theirs."""

    tokens: TokenStore
    pool: asyncpg.Pool | None = None  # the read models: boards, incidents, timelines, reports
    gateway: Gateway | None = None  # the live boards: the WebSocket and the CAP feed
    boards_per_token: int = 0
    eido_resend_s: float = 10.0  # STA-024 notifies unacknowledged: resent so often, so many times
    eido_resends: int = 3

    def read_models(self) -> asyncpg.Pool:
        if self.pool is None:
            raise RuntimeError("these routes read the read models: serve them with a pool")
        return self.pool

    def live(self) -> Gateway:
        if self.gateway is None:
            raise RuntimeError("these routes read the live boards: serve them with a gateway")
        return self.gateway


async def authorize_board(pool: asyncpg.Pool, token: Token, site: str) -> None:
    """403 unless `token` may read the board of `site`. A replay's board (`replay-{incident}`)
    is also open to the readers of the site the incident happened at, for its debrief."""
    if token.role in READERS and not token.allows_site(site) and site.startswith(REPLAY):
        origin = await pool.fetchval("SELECT site FROM incidents WHERE id=$1",
                                     site.removeprefix(REPLAY))
        if origin is not None and not origin.startswith(REPLAY) and token.allows_site(origin):
            return
    authorize(token, READERS, site)


def board_handler(pool: asyncpg.Pool, tokens: TokenStore) -> Handler:
    async def handle(request: web.Request) -> web.Response:
        token = await tokens.authenticate(request.headers.get("Authorization"))
        site = request.match_info["site"]
        await authorize_board(pool, token, site)
        raw = await pool.fetchval("SELECT board FROM boards WHERE site=$1", site)
        if raw is None:
            raise NotFound(f"unknown site {site!r}", field="site")
        return json_response(redact.board_view(msgspec.json.decode(raw), token.role))

    return handle


def me_handler(tokens: TokenStore) -> Handler:
    """Who the bearer token speaks for, so a page offers only the actions its role may take."""
    async def handle(request: web.Request) -> web.Response:
        token = await tokens.authenticate(request.headers.get("Authorization"))
        return json_response({"role": token.role, "site": token.site, "name": token.name,
                              "expires_at": token.expires_at})

    return handle


async def reader_of_incident(pool: asyncpg.Pool, tokens: TokenStore, request: web.Request,
                             ) -> tuple[Token, str, asyncpg.Record]:
    """The token, the incident id and its row, once the token may read that incident's site."""
    token = await tokens.authenticate(request.headers.get("Authorization"))
    incident_id = request.match_info["id"]
    row = await pool.fetchrow("SELECT site, doc FROM incidents WHERE id=$1", incident_id)
    if row is None:
        raise NotFound("unknown incident", field="id")
    # A replayed incident is read by whoever may watch its replay board (its debrief).
    await authorize_board(pool, token, row["site"])
    return token, incident_id, row


def incident_handler(pool: asyncpg.Pool, tokens: TokenStore) -> Handler:
    async def handle(request: web.Request) -> web.Response:
        _, _, row = await reader_of_incident(pool, tokens, request)
        return web.Response(body=row["doc"].encode(), content_type="application/json")  # no roster

    return handle


def timeline_handler(pool: asyncpg.Pool, tokens: TokenStore) -> Handler:
    async def handle(request: web.Request) -> web.Response:
        token, incident_id, _ = await reader_of_incident(pool, tokens, request)
        rows = await pool.fetch(
            "SELECT seq, event FROM timeline WHERE incident_id=$1 ORDER BY seq", incident_id)
        shown = (redact.event_view({"seq": r["seq"], **msgspec.json.decode(r["event"])},
                                   token.role) for r in rows)
        return json_response({"incident_id": incident_id,
                              "events": [ev for ev in shown if ev is not None]})

    return handle


def board_ws_handler(gateway: Gateway, tokens: TokenStore, per_token: int = 0,
                     pool: asyncpg.Pool | None = None) -> Handler:
    """The live board; at most `per_token` open at once on one token (0: no cap), so a leaked
    or looping client cannot hold every connection the gateway has. A replay's origin is
    looked up in `pool`'s incidents (the tokens' own database when not given)."""
    incidents = pool if pool is not None else tokens.pool
    watch = Revocations(tokens)
    boards: Counter[bytes] = Counter()

    async def handle(request: web.Request) -> web.StreamResponse:
        token = await tokens.check(request.query.get("token", ""))
        site = request.match_info["site"]
        await authorize_board(incidents, token, site)
        if site not in gateway.states:
            raise NotFound(f"unknown site {site!r}", field="site")
        since = request.query.get("since")
        # ASCII digits only, and a size a stream sequence can have: checked before the upgrade.
        if since is not None and not (since.isascii() and since.isdigit() and len(since) <= 19):
            raise Invalid("since must be a stream sequence number", field="since")
        if per_token and boards[token.hash] >= per_token:
            refused = RateLimited(f"this token already has {per_token} boards open")
            return json_response(refused.doc(), status=429, headers={"Retry-After": "10"})
        boards[token.hash] += 1
        try:
            return await serve(request, token, site, since)
        finally:
            boards[token.hash] -= 1
            if not boards[token.hash]:
                del boards[token.hash]

    async def serve(request: web.Request, token: Token, site: str, since: str | None,
                    ) -> web.StreamResponse:
        # No per-message deflate: updates are small, and zlib per client costs the whole loop.
        ws = web.WebSocketResponse(heartbeat=20, max_msg_size=4096, compress=False)
        await ws.prepare(request)
        transport = request.transport
        if transport is None:  # gone during the upgrade
            return ws
        watch.add(ws, request.query["token"])
        try:
            await gateway.serve(ws, transport, site, int(since) if since is not None else None,
                                token.role)
        finally:
            watch.discard(ws)
        return ws

    return handle


class Revocations:
    """A board stays open only while its token does: one sweep a second over every open board
    closes those whose token was revoked or expired (a timer per board cost 1,000 wakes/s)."""

    def __init__(self, tokens: TokenStore, every_s: float = 1.0) -> None:
        self.tokens = tokens
        self.every_s = every_s
        self.open: dict[web.WebSocketResponse, str] = {}
        self._sweep: asyncio.Task[None] | None = None
        self._closing: set[asyncio.Task[None]] = set()

    def add(self, ws: web.WebSocketResponse, secret: str) -> None:
        self.open[ws] = secret
        if self._sweep is None or self._sweep.done():
            self._sweep = asyncio.create_task(self._run())

    def discard(self, ws: web.WebSocketResponse) -> None:
        self.open.pop(ws, None)
        if not self.open and self._sweep is not None:
            self._sweep.cancel()  # the last board left (or the server stops): nothing to watch
            self._sweep = None  # so the next board starts a sweep, not this cancelled one

    async def _run(self) -> None:
        while self.open:  # ends with the last board; the next one starts it again
            await asyncio.sleep(self.every_s)
            for ws, secret in list(self.open.items()):
                if self.tokens.peek(secret) is None:
                    self.open.pop(ws, None)
                    task = asyncio.create_task(ws.close(
                        code=WSCloseCode.POLICY_VIOLATION, message=b"token revoked or expired"))
                    self._closing.add(task)  # kept until done: the loop holds tasks weakly
                    task.add_done_callback(self._closing.discard)


BOARD: Schema = {
    "type": "object", "required": ["site", "seq", "mode", "incident", "protocol", "rooms",
                                   "accountability", "dispatch", "acks", "notifications"],
    "properties": {"site": {"type": "string"}, "seq": {"type": "integer", "minimum": 0},
                   "mode": {"enum": ["live", "drill", "replay", "tabletop"]},
                   "incident": {"type": ["object", "null"]},
                   "protocol": {"type": ["object", "null"]},
                   "rooms": {"type": "array", "items": {"type": "object"}},
                   "accountability": {"type": "object"},
                   "dispatch": {"type": ["object", "null"]},
                   "acks": {"type": "array"}, "notifications": {"type": "array"},
                   "notifications_total": {"type": "integer", "minimum": 0},
                   "channels": {"type": "array", "items": {"type": "object"}},
                   # staff and commander only (command/domain/redact.py)
                   "roster": {"type": "object"},
                   "plan": {"type": ["object", "null"]},
                   "places": {"type": "array", "items": {"type": "object"}},
                   "cancel_window_s": {"type": ["number", "null"]},
                   # a replay board's original clock; null on others
                   "clock": {"type": ["object", "null"]},
                   "other_cases": {"type": "array", "items": {"type": "object"}},
                   # a tabletop's latest injects, newest last (docs/tabletop.md)
                   "injects": {"type": "array", "items": {"type": "object"}},
                   "injects_total": {"type": "integer", "minimum": 0}}}
INCIDENT: Schema = {"type": "object", "required": ["id", "site", "kind", "mode", "status"],
                    "properties": {"id": {"type": "string"}, "site": {"type": "string"},
                                   "mode": {"enum": ["live", "drill", "replay", "tabletop"]}}}
ME: Schema = {"type": "object", "required": ["role", "site", "name", "expires_at"],
              "properties": {"role": {"enum": list(ROLES)},
                             "site": {"type": "string", "description": "'*' for every site"},
                             "name": {"type": "string"},
                             "expires_at": {"type": ["string", "null"], "format": "date-time"}}}
TIMELINE: Schema = {"type": "object", "required": ["incident_id", "events"], "properties": {
    "incident_id": {"type": "string"},
    # Events as each role may see them: a responder's lack guardian names (domain/redact.py).
    "events": {"type": "array", "items": {
        "type": "object", "required": ["seq", "id", "type", "site", "occurred_at", "actor"],
        "properties": {"seq": {"type": "integer", "minimum": 1}, "type": {"type": "string"}}}}}}


def reading(path: str, summary: str, schema: Schema,
            handler: Callable[[ReadSources], Handler]) -> Route[ReadSources]:
    """A route a reader's bearer token reads, answering 200 with `schema`."""
    return Route(path, summary, handler, ok(summary, schema), READERS, "bearer", REFUSED)


MODEL_ROUTES: list[Route[ReadSources]] = [
    reading("/v1/sites/{site}/board", "The site's board", BOARD,
            lambda s: board_handler(s.read_models(), s.tokens)),
    reading("/v1/incidents/{id}", "An incident", INCIDENT,
            lambda s: incident_handler(s.read_models(), s.tokens)),
    reading("/v1/incidents/{id}/timeline", "An incident's events, in order", TIMELINE,
            lambda s: timeline_handler(s.read_models(), s.tokens)),
    Route("/v1/me", "The bearer token's role, site, name and expiry", lambda s: me_handler(
        s.tokens), ok("Who the token speaks for", ME), ROLES, "bearer", ("401",),
        note="Any valid token, of any site: it reads only itself."),
]
# The token rides in the query, as browsers cannot set a WebSocket's headers.
LIVE_ROUTE: Route[ReadSources] = Route(
    "/v1/sites/{site}/board/ws", "The live board over WebSocket (a snapshot, then updates)",
    lambda s: board_ws_handler(s.live(), s.tokens, s.boards_per_token, s.pool),
    (Answer("101", "Switching to the WebSocket protocol"),), READERS, "token",
    ("400", *REFUSED), note="Without an upgrade the handshake is refused with 400; past the "
                            "boards one token may hold open, with 429.",
    query=({"name": "since", "in": "query", "required": False,
            "schema": {"type": "string", "pattern": "^[0-9]+$"}},))


def live_routes(gateway: Gateway, tokens: TokenStore, boards_per_token: int = 0,
                ) -> list[web.RouteDef]:
    """The live board alone, on an app of its own."""
    return serve([LIVE_ROUTE], ReadSources(tokens, gateway=gateway,
                                           boards_per_token=boards_per_token))
