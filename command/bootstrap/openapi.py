"""`GET /openapi.json`: the OpenAPI 3.1 document, generated from the msgspec schemas.

Request bodies are the very Structs intake decodes and timeline entries the very events the
stream holds, so the document cannot drift from what the server accepts and answers; the route
tables it walks are the ones the server is built from. Every route the app serves is here, each
with every status its handler and the middlewares can answer, so a schema-driven fuzzer can
check the server against it.
"""

from typing import Any, NamedTuple

import msgspec
from aiohttp import web

from command.domain import events as e
from command.domain.commands import ConfigureSite
from command.domain.errors import ErrorDoc
from command.domain.types import IDENT_PATTERN
from command.infra.web import MAX_BODY, MAX_SITE_FILE, json_response
from command.write.intake import Accepted
from command.write.routes import WRITE_ROUTES
from command.write.site_parse import MAX_DEPTH, MAX_KEYS
from consumers.api import READERS


class ReadRoute(NamedTuple):
    path: str
    summary: str
    roles: tuple[str, ...]
    schema: dict[str, Any]
    content: str = "application/json"


REF = "#/components/schemas/{name}"
BOARD = {"type": "object", "required": ["site", "seq", "mode", "incident", "protocol", "rooms",
                                        "accountability", "dispatch", "acks", "notifications"],
         "properties": {"site": {"type": "string"}, "seq": {"type": "integer", "minimum": 0},
                        "mode": {"enum": ["live", "drill", "replay"]},
                        "incident": {"type": ["object", "null"]},
                        "protocol": {"type": ["object", "null"]},
                        "rooms": {"type": "array", "items": {"type": "object"}},
                        "accountability": {"type": "object"},
                        "dispatch": {"type": ["object", "null"]},
                        "acks": {"type": "array"}, "notifications": {"type": "array"}}}
INCIDENT = {"type": "object", "required": ["id", "site", "kind", "mode", "status"],
            "properties": {"id": {"type": "string"}, "site": {"type": "string"},
                           "mode": {"enum": ["live", "drill", "replay"]}}}
TIMELINE = {"type": "object", "required": ["incident_id", "events"], "properties": {
    "incident_id": {"type": "string"},
    # Events as each role may see them: a responder's lack guardian names (domain/redact.py).
    "events": {"type": "array", "items": {
        "type": "object", "required": ["seq", "id", "type", "site", "occurred_at", "actor"],
        "properties": {"seq": {"type": "integer", "minimum": 1}, "type": {"type": "string"}}}}}}
REPORT = {"type": "object", "required": ["incident_id"]}
READ_ROUTES: list[ReadRoute] = [
    ReadRoute("/v1/sites/{site}/board", "The site's board", READERS, BOARD),
    ReadRoute("/v1/incidents/{id}", "An incident", READERS, INCIDENT),
    ReadRoute("/v1/incidents/{id}/timeline", "An incident's events, in order", READERS, TIMELINE),
    ReadRoute("/v1/sites/{site}/cap", "The site's current alert as CAP 1.2 XML", READERS,
              {"type": "string"}, "application/cap+xml"),
    ReadRoute("/v1/incidents/{id}/report", "The incident's after-action report", READERS,
              REPORT),
]
ERRORS = {"400": "Malformed or invalid; `field` names the JSON path",
          "401": "No or bad token", "403": "Wrong role or site",
          "404": "Unknown site, room, person or incident",
          "408": "The body did not arrive within the body timeout",
          "409": "The command conflicts with the incident's state", "413": "Body too large",
          "429": "Rate limited", "503": "The event stream is unreachable"}
# Every route but the exempt probes passes the rate limiter, and a dependency that does not
# answer in time is a 503 on any of them (command/write/routes.py's middlewares).
LIMITED = ("429", "503")
# Sites, rooms and incidents are named by identifiers (command/domain/types.py's Ident).
IDENT = {"type": "string", "minLength": 1, "maxLength": 64, "pattern": IDENT_PATTERN}


def _params(path: str, schemas: dict[str, dict[str, Any]] | None = None,
            ) -> list[dict[str, Any]]:
    names = [part[1:-1] for part in path.split("/") if part.startswith("{")]
    return [{"name": n, "in": "path", "required": True,
             "schema": (schemas or {}).get(n, IDENT)} for n in names]


def _errors(codes: tuple[str, ...], limit: int = MAX_BODY) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for code in codes:
        text = ERRORS[code] + (f": over {limit // 1024} KiB" if code == "413" else "")
        answers[code] = {"description": text, "content": {"application/json": {
            "schema": {"$ref": REF.format(name="ErrorDoc")}}}}
        if code == "429":
            answers[code]["headers"] = {"Retry-After": {
                "description": "Seconds to wait", "required": True,
                "schema": {"type": "integer", "minimum": 0}}}
    return answers


def _ok(status: str, text: str, content: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {status: {"description": text, "content": {content: {"schema": schema}}}}


def _probes(paths: dict[str, Any]) -> None:
    """Liveness, readiness, this document and the board page: no token needed. (/metrics is
    on the metrics address, not this API: MUSTER_METRICS_HOST/PORT.)"""
    anything = {"type": "object"}
    paths["/healthz"] = {"get": {"summary": "Liveness", "responses": _ok(
        "200", "Alive", "application/json", anything)}}
    paths["/readyz"] = {"get": {"summary": "Readiness", "responses": {
        **_ok("200", "Stream and database reachable", "application/json", anything),
        **_ok("503", "Stream or database unreachable", "application/json", anything)}}}
    paths["/openapi.json"] = {"get": {"summary": "This document", "responses": {
        **_ok("200", "OpenAPI 3.1", "application/json", anything), **_errors(LIMITED)}}}
    paths["/board/{site}"] = {"get": {
        "summary": "The live board as a web page; the token stays in the URL fragment",
        # A static page for any site: the script reads the site from the URL, and the
        # WebSocket it opens is what checks it.
        "parameters": _params("/board/{site}", {"site": {"type": "string", "minLength": 1}}),
        "responses": {**_ok("200", "The page", "text/html", {"type": "string"}),
                      **_errors(("404", *LIMITED))}}}
    paths["/board-static/{name}"] = {"get": {
        "summary": "The board page's script and style",
        "parameters": _params("/board-static/{name}", {
            "name": {"type": "string", "enum": ["board.css", "board.js"]}}),
        "responses": {"200": {"description": "The script or the style", "content": {
            "text/javascript": {"schema": {"type": "string"}},
            "text/css": {"schema": {"type": "string"}}}}, **_errors(("404", *LIMITED))}}}


def _live(paths: dict[str, Any]) -> None:
    """The board's WebSocket: the token rides in the query, as browsers cannot set headers."""
    paths["/v1/sites/{site}/board/ws"] = {"get": {
        "summary": "The live board over WebSocket (a snapshot, then updates)",
        "description": "Roles: " + ", ".join(READERS) + ". Without an upgrade the handshake is"
                       " refused with 400; past the boards one token may hold open, with 429.",
        "security": [{"token": []}],
        "parameters": [*_params("/v1/sites/{site}/board/ws"),
                       {"name": "since", "in": "query", "required": False,
                        "schema": {"type": "string", "pattern": "^[0-9]+$"}}],
        "responses": {"101": {"description": "Switching to the WebSocket protocol"},
                      **_errors(("400", "401", "403", "404", *LIMITED))}}}


def document() -> dict[str, Any]:
    bodies = [r.command for r in WRITE_ROUTES]
    (refs, components) = msgspec.json.schema_components(
        [*bodies, Accepted, ErrorDoc, ConfigureSite, e.Event], ref_template=REF)
    *body_refs, accepted, _, _, event = refs
    components["Event"] = event
    paths: dict[str, Any] = {}
    security = [{"bearer": []}]
    for route, ref in zip(WRITE_ROUTES, body_refs, strict=True):
        paths.setdefault(route.path, {})["post"] = {
            "summary": route.command.__name__, "security": security,
            "description": "Roles: " + ", ".join(route.roles),
            "parameters": _params(route.path),
            "requestBody": {"required": True, "content": {"application/json": {"schema": ref}}},
            "responses": {**_ok("202", "Durably in the event stream", "application/json",
                                accepted),
                          **_errors(("400", "401", "403", "404", "408", "409", "413",
                                     *LIMITED))},
        }
    paths["/v1/sites/{site}"] = {"put": {
        "summary": "Import a site file", "security": security,
        "description": "Roles: admin. Parsed in a worker process: 400 past "
                       f"{MAX_DEPTH} levels of nesting, 413 past {MAX_KEYS} keys or when the "
                       "parse overruns its time bound.",
        "parameters": _params("/v1/sites/{site}"),
        "requestBody": {"required": True, "content": {
            "application/json": {"schema": components["ConfigureSite"]["properties"]["site"]},
            "application/toml": {"schema": {"type": "string"}}}},
        "responses": {**_ok("202", "Imported", "application/json", accepted),
                      **_errors(("400", "401", "403", "408", "409", "413", *LIMITED),
                                MAX_SITE_FILE)}}}
    for read in READ_ROUTES:
        paths[read.path] = {"get": {
            "summary": read.summary, "security": security,
            "description": "Roles: " + ", ".join(read.roles),
            "parameters": _params(read.path),
            "responses": {**_ok("200", read.summary, read.content, read.schema),
                          **_errors(("401", "403", "404", *LIMITED))}}}
    report = paths["/v1/incidents/{id}/report"]["get"]
    report["parameters"].append({"name": "format", "in": "query", "required": False,
                                 "schema": {"enum": ["json", "html"]}})
    report["responses"]["200"]["content"]["text/html"] = {"schema": {"type": "string"}}
    report["responses"].update(_errors(("400",)))
    _live(paths)
    _probes(paths)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Muster", "version": "1",
                 "description": "Incident command and alerting for school emergencies."},
        "paths": paths,
        "components": {"schemas": components, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"},
            "token": {"type": "apiKey", "in": "query", "name": "token"}}},
    }


def openapi_routes() -> list[web.RouteDef]:
    doc = document()

    async def handle(_: web.Request) -> web.Response:
        return json_response(doc)

    return [web.get("/openapi.json", handle)]


def main() -> None:
    """Print the document, as served: `python -m command.bootstrap.openapi > docs/openapi.json`."""
    print(msgspec.json.format(msgspec.json.encode(document()), indent=2).decode())


if __name__ == "__main__":
    main()
