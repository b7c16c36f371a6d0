"""The drill log and the compliance view over HTTP (docs/api.md, "Drill log and compliance"):

- `GET /v1/sites/{site}/drills?year=YYYY-YY` (JSON, or CSV by `Accept: text/csv` or
  `?format=csv`) and `GET /v1/sites/{site}/drills/compliance?year=&on=YYYY-MM-DD`;
- the same for every site whose file names a district, for a token bound to all sites.

A thin edge: rows come from the read models (consumers/drill_rows.py), the view from the pure
`compliance.view`. Commanders and administrators read them; no row names a person.
"""

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
import msgspec
from aiohttp import web

from command.domain import compliance, drill_csv
from command.domain import school_year as sy
from command.domain.drill_log import DrillRow
from command.domain.errors import Forbidden, Invalid, NotFound
from command.infra.auth import Token, TokenStore, authorize
from command.infra.route_table import JSON, Answer, Route, Schema
from command.infra.web import Handler, json_response
from consumers.api import REFUSED, ReadSources
from consumers.drill_rows import DrillRows, Sites

ROLES = ("commander", "admin")
FORMATS = ("json", "csv")
CSV = "text/csv"
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def school_year(request: web.Request, today: date) -> sy.SchoolYear:
    text = request.query.get("year")
    if text is None:
        return sy.containing(today)
    try:
        return sy.parse(text)
    except ValueError as exc:
        raise Invalid(f"year: {exc}", field="year") from exc


def day(request: web.Request) -> date | None:
    text = request.query.get("on")
    if text is None:
        return None
    try:
        if not DAY.match(text):  # fromisoformat would also take 20261001
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError as exc:
        raise Invalid(f"on must be a day written YYYY-MM-DD, not {text!r}", field="on") from exc


def wants_csv(request: web.Request) -> bool:
    fmt = request.query.get("format")
    if fmt is not None and fmt not in FORMATS:
        raise Invalid(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}", field="format")
    return fmt == "csv" or (fmt is None and CSV in request.headers.get("Accept", ""))


def _today(sites: Sites, site: str) -> date:
    return datetime.now(UTC).astimezone(sites.zone(site)).date()


async def _token(tokens: TokenStore, request: web.Request) -> Token:
    return await tokens.authenticate(request.headers.get("Authorization"))


async def _site(rows: DrillRows, tokens: TokenStore, request: web.Request) -> tuple[Sites, str]:
    token = await _token(tokens, request)
    site = request.match_info["site"]
    authorize(token, ROLES, site)
    sites = await Sites.read(rows.pool, site)
    if sites.config(site) is None:
        raise NotFound(f"unknown site {site!r}", field="site")
    return sites, site


async def _district(rows: DrillRows, tokens: TokenStore, request: web.Request,
                    ) -> tuple[Sites, list[str], str]:
    token = await _token(tokens, request)
    authorize(token, ROLES, None)
    if token.site != "*":
        raise Forbidden("a district's drills are read with a token bound to all sites")
    district = request.match_info["district"]
    sites = await Sites.read(rows.pool)
    members = sites.in_district(district)
    if not members:
        raise NotFound(f"no site's file names the district {district!r}", field="district")
    return sites, members, district


def _csv_response(text: str, name: str) -> web.Response:
    return web.Response(text=text, content_type=CSV, charset="utf-8", headers={
        "Content-Disposition": f'attachment; filename="{name}.csv"', "Cache-Control": "no-store"})


def _log_doc(sites: Sites, site: str, year: sy.SchoolYear, listed: list[Any]) -> dict[str, Any]:
    config = sites.config(site)
    return {"site": site, "school": config.name if config else site,
            "timezone": config.timezone if config else "UTC", "district":
            config.district if config else None, "year": year.label,
            "rows": msgspec.to_builtins(listed)}


def log_handler(rows: DrillRows, tokens: TokenStore) -> Handler:
    async def handle(request: web.Request) -> web.Response:
        sites, site = await _site(rows, tokens, request)
        year, as_csv = school_year(request, _today(sites, site)), wants_csv(request)
        listed = await rows.of_site(sites, site, year)
        if as_csv:
            zone = sites.zone(site)
            return _csv_response(drill_csv.to_csv((r, zone) for r in listed),
                                 f"drills-{site}-{year.label}")
        return json_response(_log_doc(sites, site, year, listed))

    return handle


async def _last_year(rows: DrillRows, sites: Sites, site: str, year: sy.SchoolYear,
                     ) -> list[DrillRow]:
    """The previous school year's rows: a June drill may fall undocumented in July."""
    return await rows.of_site(sites, site, sy.SchoolYear(year.start - 1))


def compliance_handler(rows: DrillRows, tokens: TokenStore) -> Handler:
    async def handle(request: web.Request) -> web.Response:
        sites, site = await _site(rows, tokens, request)
        on = day(request) or _today(sites, site)
        year = school_year(request, on)
        listed = await rows.of_site(sites, site, year)
        return json_response(compliance.view(listed, sites.config(site), year, on,
                                             sites.zone(site), await _last_year(rows, sites,
                                                                                site, year)))

    return handle


def district_log_handler(rows: DrillRows, tokens: TokenStore) -> Handler:
    async def handle(request: web.Request) -> web.Response:
        sites, members, district = await _district(rows, tokens, request)
        year, as_csv = school_year(request, _today(sites, members[0])), wants_csv(request)
        found = {site: await rows.of_site(sites, site, year) for site in members}
        if as_csv:
            return _csv_response(drill_csv.to_csv(
                (r, sites.zone(site)) for site, listed in found.items() for r in listed),
                f"drills-{district}-{year.label}")
        return json_response({"district": district, "year": year.label, "sites": [
            _log_doc(sites, site, year, listed) for site, listed in found.items()]})

    return handle


def district_compliance_handler(rows: DrillRows, tokens: TokenStore) -> Handler:
    async def handle(request: web.Request) -> web.Response:
        sites, members, district = await _district(rows, tokens, request)
        given = day(request)
        views = []
        for site in members:
            on = given or _today(sites, site)
            year = school_year(request, on)
            listed = await rows.of_site(sites, site, year)
            views.append(compliance.view(listed, sites.config(site), year, on,
                                         sites.zone(site),
                                         await _last_year(rows, sites, site, year)))
        counts = {k: sum(v.counts.get(k, 0) for v in views) for k in
                  (*compliance.STATUSES, "undocumented")}
        return json_response({"district": district, "counts": counts, "sites": views})

    return handle


_YEAR: Schema = {"name": "year", "in": "query", "required": False,
                 "schema": {"type": "string", "pattern": r"^\d{4}-\d{2}$"},
                 "description": "The school year, YYYY-YY (1 July to 1 July); default: this one"}
_ON: Schema = {"name": "on", "in": "query", "required": False,
               "schema": {"type": "string", "format": "date"},
               "description": "The day the view is taken on; default: today at the site"}
_FORMAT: Schema = {"name": "format", "in": "query", "required": False,
                   "schema": {"enum": list(FORMATS)}}
_ROWS: Schema = {"type": "object", "required": ["site", "year", "rows"], "properties": {
    "rows": {"type": "array", "items": {"type": "object", "required": [
        "incident_id", "kind", "started_at", "protective_at", "accounted_at", "ended_at",
        "participants", "notifications"]}}}}
_VIEW: Schema = {"type": "object", "required": ["site", "year", "on", "items", "undocumented"]}
_DISTRICT: Schema = {"type": "object", "required": ["district", "sites"]}
_NOTE = "A district's routes need a token bound to all sites (`--site '*'`)."


def _route(path: str, summary: str, handler: Callable[[DrillRows, TokenStore], Handler],
           content: dict[str, Schema], query: tuple[Schema, ...], note: str = "",
           ) -> Route[ReadSources]:
    return Route(path, summary, lambda s: handler(_rows(s.read_models()), s.tokens),
                 (Answer("200", summary, content),), ROLES, "bearer", ("400", *REFUSED),
                 note=note, query=query)


_SHARED: list[DrillRows] = []  # the few pools' row caches, most recent last
KEPT_POOLS = 4


def _rows(pool: asyncpg.Pool) -> DrillRows:
    """One row cache per pool, shared by the four routes, so a district's log and its view fold
    each incident once; the pool is held, so another pool can never be taken for it."""
    found = next((r for r in _SHARED if r.pool is pool), None)
    if found is None:
        found = DrillRows(pool)
        _SHARED.append(found)
        del _SHARED[:-KEPT_POOLS]
    return found


DRILL_ROUTES: list[Route[ReadSources]] = [
    _route("/v1/sites/{site}/drills", "The site's drill log for a school year", log_handler,
           {JSON: _ROWS, CSV: {"type": "string"}}, (_YEAR, _FORMAT)),
    _route("/v1/sites/{site}/drills/compliance", "The site's drill requirements on a day",
           compliance_handler, {JSON: _VIEW}, (_YEAR, _ON)),
    _route("/v1/districts/{district}/drills", "The district's drill log for a school year",
           district_log_handler, {JSON: _DISTRICT, CSV: {"type": "string"}}, (_YEAR, _FORMAT),
           _NOTE),
    _route("/v1/districts/{district}/drills/compliance",
           "The district's drill requirements on a day", district_compliance_handler,
           {JSON: _DISTRICT}, (_YEAR, _ON), _NOTE),
]
