"""One incident as a NENA EIDO over HTTP: `GET /v1/incidents/{id}/eido` (issue 19), the
incident-data read a CAD makes (STA-024's `GET /incidents/{id}`).

A thin edge: the incident's timeline and site file from the read models, folded as the board
folds them (`eido_out.fold`), so a closed incident still has its EIDO, and written by the pure
`eido_out.render`, which writes counts, never a roster name.
"""

import asyncpg
from aiohttp import web

from command.domain import eido_out
from command.domain.errors import NotFound
from command.infra.auth import TokenStore, authorize
from command.infra.route_table import Route, ok, serve
from command.infra.web import Handler, json_response
from consumers.api import REFUSED, ReadSources, authorize_board
from consumers.report_api import load

# Who reads an EIDO: the 911 side and those who act with it. Staff have the board; a device
# reads nothing.
ROLES = ("dispatch", "responder", "commander")
EIDO = {"type": "object", "required": ["$id", "eidoVersion", "issuingElementIdentification",
                                       "agencyComponent", "incidentComponent"],
        "description": "A NENA STA-021 Emergency Incident Data Object (eidoVersion 1.0)"}


def eido_handler(pool: asyncpg.Pool, tokens: TokenStore) -> Handler:
    async def handle(request: web.Request) -> web.Response:
        token = await tokens.authenticate(request.headers.get("Authorization"))
        authorize(token, ROLES, None)  # the role first: staff and devices learn no incident ids
        incident_id = request.match_info["id"]
        row = await pool.fetchrow("SELECT site, mode FROM incidents WHERE id=$1", incident_id)
        # A tabletop is a discussion: no 911 center ever reads one, not even by its id.
        if row is None or row["mode"] == "tabletop":
            raise NotFound("unknown incident", field="id")
        site = row["site"]
        events, config = await load(pool, incident_id, site)
        area = config.dispatch.area if config is not None and config.dispatch else None
        if not token.allows_site(site, area):  # a replay's debrief readers, or 403
            await authorize_board(pool, token, site)
        try:
            case, at = eido_out.fold(events, incident_id, config)
        except ValueError as exc:  # its opening not yet projected: not an incident to read yet
            raise NotFound("unknown incident", field="id") from exc
        # no-store: what responders know of an incident must not sit in a shared cache.
        return json_response(eido_out.render(case, site, config, at),
                             headers={"Cache-Control": "no-store"})

    return handle


EIDO_ROUTE: Route[ReadSources] = Route(
    "/v1/incidents/{id}/eido", "The incident as a NENA EIDO (STA-021) document",
    lambda s: eido_handler(s.read_models(), s.tokens),
    ok("The incident as a NENA EIDO (STA-021) document", EIDO),
    ROLES, "bearer", REFUSED,
    note="A dispatch token bound to a dispatch area (area:NAME) reads the incidents of the "
         "sites in that area.")


def eido_routes(pool: asyncpg.Pool, tokens: TokenStore) -> list[web.RouteDef]:
    """The EIDO alone, on an app of its own."""
    return serve([EIDO_ROUTE], ReadSources(tokens, pool=pool))
