"""The after-action report over HTTP: `GET /v1/incidents/{id}/report?format=json|html`.

A thin edge: it reads the incident's timeline and site file from the read models, builds the
report with the pure `report.build`, and shows each timeline entry only as the reader's role may
see it (`redact.event_view`), so a responder's copy never names a guardian.
"""

import asyncpg
from aiohttp import web

from command.domain import events as e
from command.domain import report, report_render
from command.domain.errors import Invalid
from command.domain.redact import event_view
from command.domain.site import Site
from command.infra.auth import TokenStore
from command.infra.route_table import JSON, Answer, Route, serve
from command.infra.web import Handler
from consumers.api import READERS, REFUSED, ReadSources, reader_of_incident

FORMATS = ("json", "html")
# The page has no script and loads nothing: its only style is the inline one.
HTML_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                               "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


async def load(pool: asyncpg.Pool, incident_id: str, site: str,
               ) -> tuple[list[tuple[int, e.Event]], Site | None]:
    """The incident's events in stream order and the site's file, from the read models."""
    rows = await pool.fetch("SELECT seq, event FROM timeline WHERE incident_id=$1 ORDER BY seq",
                            incident_id)
    raw = await pool.fetchval("SELECT config FROM sites WHERE site=$1", site)
    config = e.decode_site(raw) if raw is not None else None
    return [(r["seq"], e.decode(r["event"].encode())) for r in rows], config


def report_handler(pool: asyncpg.Pool, tokens: TokenStore) -> Handler:
    async def handle(request: web.Request) -> web.Response:
        token, incident_id, row = await reader_of_incident(pool, tokens, request)
        site = row["site"]
        fmt = request.query.get("format", "json")
        if fmt not in FORMATS:
            raise Invalid(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}",
                          field="format")
        events, config = await load(pool, incident_id, site)
        built = report.build(events, config, view=lambda doc: event_view(doc, token.role))
        if fmt == "html":
            return web.Response(text=report_render.to_html(built), content_type="text/html",
                                charset="utf-8", headers=HTML_HEADERS)
        return web.Response(body=report_render.to_json(built), content_type="application/json")

    return handle


REPORT_ROUTE: Route[ReadSources] = Route(
    "/v1/incidents/{id}/report", "The incident's after-action report",
    lambda s: report_handler(s.read_models(), s.tokens),
    (Answer("200", "The incident's after-action report", {
        JSON: {"type": "object", "required": ["incident_id"]},
        "text/html": {"type": "string"}}),),
    READERS, "bearer", ("400", *REFUSED),
    query=({"name": "format", "in": "query", "required": False,
            "schema": {"enum": list(FORMATS)}},))


def report_routes(pool: asyncpg.Pool, tokens: TokenStore) -> list[web.RouteDef]:
    """The report alone, on an app of its own."""
    return serve([REPORT_ROUTE], ReadSources(tokens, pool=pool))
