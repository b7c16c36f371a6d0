"""The read side's HTTP routes: boards, incidents and timelines from the read models, and the
live board over WebSocket from the gateway."""

import asyncpg
import msgspec
from aiohttp import web

from command.auth import TokenStore, authorize
from command.errors import Invalid, NotFound
from command.http import Handler, json_response
from consumers.gateway import Gateway

READERS = ("staff", "responder", "commander", "dispatch")


def board_handler(pool: asyncpg.Pool, tokens: TokenStore) -> Handler:
    async def handle(request: web.Request) -> web.Response:
        token = await tokens.authenticate(request.headers.get("Authorization"))
        site = request.match_info["site"]
        authorize(token, READERS, site)
        raw = await pool.fetchval("SELECT board FROM boards WHERE site=$1", site)
        if raw is None:
            raise NotFound(f"unknown site {site!r}", field="site")
        return web.Response(body=raw.encode(), content_type="application/json")

    return handle


def incident_handler(pool: asyncpg.Pool, tokens: TokenStore) -> Handler:
    async def handle(request: web.Request) -> web.Response:
        token = await tokens.authenticate(request.headers.get("Authorization"))
        row = await pool.fetchrow("SELECT site, doc FROM incidents WHERE id=$1",
                                  request.match_info["id"])
        if row is None:
            raise NotFound("unknown incident", field="id")
        authorize(token, READERS, row["site"])
        return web.Response(body=row["doc"].encode(), content_type="application/json")

    return handle


def timeline_handler(pool: asyncpg.Pool, tokens: TokenStore) -> Handler:
    async def handle(request: web.Request) -> web.Response:
        token = await tokens.authenticate(request.headers.get("Authorization"))
        incident_id = request.match_info["id"]
        site = await pool.fetchval("SELECT site FROM incidents WHERE id=$1", incident_id)
        if site is None:
            raise NotFound("unknown incident", field="id")
        authorize(token, READERS, site)
        rows = await pool.fetch(
            "SELECT seq, event FROM timeline WHERE incident_id=$1 AND type <> "
            "'HandleWithCareIssued' ORDER BY seq", incident_id)
        events = [{"seq": r["seq"], **msgspec.json.decode(r["event"])} for r in rows]
        return json_response({"incident_id": incident_id, "events": events})

    return handle


def board_ws_handler(gateway: Gateway, tokens: TokenStore) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        token = await tokens.check(request.query.get("token", ""))
        site = request.match_info["site"]
        authorize(token, READERS, site)
        if site not in gateway.states:
            raise NotFound(f"unknown site {site!r}", field="site")
        since = request.query.get("since")
        if since is not None and not since.isdigit():
            raise Invalid("since must be a stream sequence number", field="since")
        # No per-message deflate: updates are small, and zlib per client costs the whole loop.
        ws = web.WebSocketResponse(heartbeat=20, max_msg_size=4096, compress=False)
        await ws.prepare(request)
        await gateway.serve(ws, site, int(since) if since is not None else None)
        return ws

    return handle


def read_routes(pool: asyncpg.Pool, tokens: TokenStore) -> list[web.RouteDef]:
    return [
        web.get("/v1/sites/{site}/board", board_handler(pool, tokens)),
        web.get("/v1/incidents/{id}", incident_handler(pool, tokens)),
        web.get("/v1/incidents/{id}/timeline", timeline_handler(pool, tokens)),
    ]


def live_routes(gateway: Gateway, tokens: TokenStore) -> list[web.RouteDef]:
    return [web.get("/v1/sites/{site}/board/ws", board_ws_handler(gateway, tokens))]
