"""The reunification desk over HTTP (docs/api.md, "Reunification desk"):

- `GET /v1/incidents/{id}/reunification`: the desk document of one incident, for staff and
  commanders alone (it names guardians, their contacts and custody restrictions);
- `GET /v1/districts/{district}/reunification`: progress per reunification point over the open
  incidents of every site whose file names the district, counts only, for a commander's or an
  administrator's token bound to all sites.

A thin edge: events and site files come from the read models, the documents from the pure
`reunification_desk`; the clock is read here, once per request.
"""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg
from aiohttp import web

from command.domain import reunification_desk
from command.domain.errors import Forbidden, NotFound
from command.domain.redact import ROSTER_ROLES
from command.infra.auth import TokenStore, authorize
from command.infra.route_table import Answer, Route, Schema, ok
from command.infra.web import Handler, json_response
from consumers import site_versions
from consumers.api import REFUSED, ReadSources
from consumers.drill_rows import Sites
from consumers.report_api import load

DISTRICT_ROLES = ("commander", "admin")
MODES = ["live", "drill"]  # a replay or a tabletop reunites nobody


def incident_handler(pool: asyncpg.Pool, tokens: TokenStore) -> Handler:
    async def handle(request: web.Request) -> web.Response:
        token = await tokens.authenticate(request.headers.get("Authorization"))
        authorize(token, ROSTER_ROLES, None)  # the role first: a responder learns nothing
        incident_id = request.match_info["id"]
        site = await pool.fetchval("SELECT site FROM incidents WHERE id=$1", incident_id)
        if site is None:
            raise NotFound("unknown incident", field="id")
        authorize(token, ROSTER_ROLES, site)
        doc = await _desk(pool, incident_id, site, datetime.now(UTC))
        if doc is None:
            raise NotFound(f"unknown site {site!r}", field="site")
        return json_response(doc)

    return handle


def district_handler(pool: asyncpg.Pool, tokens: TokenStore) -> Handler:
    async def handle(request: web.Request) -> web.Response:
        token = await tokens.authenticate(request.headers.get("Authorization"))
        authorize(token, DISTRICT_ROLES, None)
        if token.site != "*":
            raise Forbidden("a district's reunification is read with a token bound to all "
                            "sites")
        district = request.match_info["district"]
        sites = await Sites.read(pool)
        members = sites.in_district(district)
        if not members:
            raise NotFound(f"no site's file names the district {district!r}", field="district")
        rows = await pool.fetch(
            "SELECT id, site FROM incidents WHERE site = ANY($1::text[]) AND status='open' "
            "AND mode = ANY($2::text[]) ORDER BY opened_at", members, MODES)
        now, desks = datetime.now(UTC), []
        for row in rows:
            doc = await _desk(pool, row["id"], row["site"], now)
            if doc is not None:
                desks.append(doc)
        return json_response(reunification_desk.district(district, desks))

    return handle


async def _desk(pool: asyncpg.Pool, incident_id: str, site: str, now: datetime,
                ) -> dict[str, Any] | None:
    """The incident's desk folded as intake decided: from the file in force at its first event,
    with the config changes made while it was open interleaved; None for an unknown site."""
    events, latest = await load(pool, incident_id, site)
    start, ordered = await site_versions.history(pool, site, events)
    config = start or latest  # no version kept that early: today's file, as before
    if config is None:
        return None
    doc = reunification_desk.desk([ev for _, ev in ordered], config, now)
    return {**doc, "incident_id": incident_id}


_POINT: Schema = {"type": ["object", "null"], "required": ["place", "place_id", "address"]}
DESK: Schema = {"type": "object", "required": [
    "incident_id", "site", "school", "mode", "point", "accounting_complete", "releases_open",
    "counts", "queue", "students", "exceptions", "times"], "properties": {
    "point": _POINT,
    "counts": {"type": "object", "required": [
        "students", "checked_in", "guardians_waiting", "released", "exceptions"]},
    "queue": {"type": "array", "items": {"type": "object", "required": [
        "card", "guardian", "students", "arrived_at", "wait_s", "state", "flags"]}},
    "students": {"type": "array", "items": {"type": "object", "required": [
        "id", "name", "state", "guardians", "restricted", "contacts"]}},
    "exceptions": {"type": "array", "items": {"type": "object", "required": [
        "case_id", "person_id", "kind", "assigned_to", "opened_at", "resolved"]}},
    "times": {"type": "object", "required": [
        "first_arrival_at", "first_release_at", "last_release_at", "median_wait_s",
        "longest_wait_s"]}}}
DISTRICT: Schema = {"type": "object", "required": ["district", "points"], "properties": {
    "points": {"type": "array", "items": {"type": "object", "required": [
        "place", "place_id", "address", "sites", "incidents", "students_waiting",
        "guardians_waiting", "released", "exceptions"]}}}}


def _route(path: str, summary: str, schema: Schema,
           handler: Callable[[asyncpg.Pool, TokenStore], Handler], roles: tuple[str, ...],
           note: str) -> Route[ReadSources]:
    answers: tuple[Answer, ...] = ok(summary, schema)
    return Route(path, summary, lambda s: handler(s.read_models(), s.tokens), answers, roles,
                 "bearer", REFUSED, note=note)


DESK_ROUTES: list[Route[ReadSources]] = [
    _route("/v1/incidents/{id}/reunification", "The incident's reunification desk", DESK,
           incident_handler, ROSTER_ROLES, "Names guardians, contacts and custody "
           "restrictions: staff and commanders alone."),
    _route("/v1/districts/{district}/reunification",
           "The district's reunification progress per point", DISTRICT, district_handler,
           DISTRICT_ROLES, "Counts only; a token bound to all sites (`--site '*'`)."),
]
