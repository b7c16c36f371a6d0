"""The after-action report over HTTP: `GET /v1/incidents/{id}/report?format=json|html|print`.

A thin edge: it reads the incident's timeline, its site file and the site's earlier drills of the
same kind from the read models, builds the report with the pure `report.build`, and shows each
timeline entry only as the reader's role may see it (`redact.event_view`), so a responder's copy
never names a guardian, and gives the reunification section's cases only to roster roles.
`print` is the one-page record for the state file.
"""

import asyncpg
from aiohttp import web

from command.domain import drill_log, report, report_print, report_render
from command.domain import events as e
from command.domain.errors import Invalid
from command.domain.redact import event_view
from command.domain.site import Site
from command.infra.auth import TokenStore
from command.infra.route_table import JSON, Answer, Route, serve
from command.infra.web import Handler
from consumers import drill_history
from consumers.api import READERS, REFUSED, ReadSources, reader_of_incident

FORMATS = ("json", "html", "print")
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
        record = drill_log.row(events, config, incident_id=incident_id)
        history = await drill_history.from_read_models(pool, record, config)
        built = report.build(events, config, view=lambda doc: event_view(doc, token.role),
                             history=history, role=token.role)
        if fmt in ("html", "print"):
            page = report_render.to_html(built) if fmt == "html" else report_print.to_print(built)
            return web.Response(text=page, content_type="text/html", charset="utf-8",
                                headers=HTML_HEADERS)
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
