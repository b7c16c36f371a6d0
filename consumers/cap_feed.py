"""The CAP feed (CONTRACT §2 `GET /v1/sites/{site}/cap`): the site's current alert, from the
gateway's board state, as `domain/cap.py` writes it."""

from aiohttp import web

from command.domain.cap import CONTENT_TYPE, document
from command.domain.errors import NotFound
from command.infra.auth import TokenStore, authorize
from command.infra.web import Handler
from consumers.api import READERS
from consumers.gateway import Gateway


def cap_handler(gateway: Gateway, tokens: TokenStore) -> Handler:
    async def handle(request: web.Request) -> web.Response:
        token = await tokens.authenticate(request.headers.get("Authorization"))
        site = request.match_info["site"]
        authorize(token, READERS, site)
        state = gateway.states.get(site)
        if state is None:
            raise NotFound(f"unknown site {site!r}", field="site")
        xml = document(state)
        if xml is None:
            raise NotFound(f"site {site!r} has had no incident to publish", field="site")
        # no-store: a restricted alert must not sit in a shared cache after it changes.
        return web.Response(text=xml, content_type=CONTENT_TYPE, charset="utf-8",
                            headers={"Cache-Control": "no-store"})

    return handle


def cap_routes(gateway: Gateway, tokens: TokenStore) -> list[web.RouteDef]:
    return [web.get("/v1/sites/{site}/cap", cap_handler(gateway, tokens))]
