"""The CAP feed (CONTRACT §2 `GET /v1/sites/{site}/cap`): the site's current alert, from the
gateway's board state, as `domain/cap.py` writes it."""

from aiohttp import web

from command.domain.cap import CONTENT_TYPE, document
from command.domain.errors import NotFound
from command.infra.auth import TokenStore, authorize
from command.infra.route_table import Route, ok, serve
from command.infra.web import Handler
from consumers.api import READERS, REFUSED, ReadSources
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


CAP_ROUTE: Route[ReadSources] = Route(
    "/v1/sites/{site}/cap", "The site's current alert as CAP 1.2 XML",
    lambda s: cap_handler(s.live(), s.tokens),
    ok("The site's current alert as CAP 1.2 XML", {"type": "string"}, CONTENT_TYPE),
    READERS, "bearer", REFUSED)


def cap_routes(gateway: Gateway, tokens: TokenStore) -> list[web.RouteDef]:
    """The CAP feed alone, on an app of its own."""
    return serve([CAP_ROUTE], ReadSources(tokens, gateway=gateway))
