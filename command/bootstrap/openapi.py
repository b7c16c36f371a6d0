"""`GET /openapi.json`: the OpenAPI 3.1 document, generated from the msgspec schemas.

Request bodies are the very Structs intake decodes and timeline entries the very events the
stream holds, so the document cannot drift from what the server accepts and answers; the route
tables it walks are the ones the server is built from. Every route the app serves is here, each
with every status its handler and the middlewares can answer, so a schema-driven fuzzer can
check the server against it.
"""

from collections.abc import Mapping
from typing import Any

import msgspec
from aiohttp import web

from command.domain import events as e
from command.domain.commands import ConfigureSite
from command.domain.eido_in import RawEido
from command.domain.errors import ErrorDoc
from command.domain.types import IDENT_PATTERN
from command.infra.health import ANYTHING, HEALTH_ROUTES
from command.infra.route_table import JSON, Route, ok, serve
from command.infra.web import EXEMPT, MAX_BODY, MAX_SITE_FILE, Handler, json_response
from command.write import dispatch_intake, roster_import
from command.write.answers import Accepted
from command.write.routes import WRITE_ROUTES
from command.write.site_parse import MAX_DEPTH, MAX_KEYS
from consumers.page import PAGE_ROUTES
from consumers.read_routes import READ_ROUTES

REF = "#/components/schemas/{name}"
ERRORS = {"400": "Malformed or invalid; `field` names the JSON path",
          "401": "No or bad token", "403": "Wrong role or site",
          "404": "Unknown site, room, person or incident",
          "408": "The body did not arrive within the body timeout",
          "409": "The command conflicts with the incident's state", "413": "Body too large",
          "429": "Rate limited", "503": "The event stream is unreachable"}
# Every route but the exempt probes passes the rate limiter, and a dependency that does not
# answer in time is a 503 on any of them (command/infra/web.py's middlewares).
LIMITED = ("429", "503")
# Sites, rooms and incidents are named by identifiers (command/domain/types.py's Ident).
IDENT = {"type": "string", "minLength": 1, "maxLength": 64, "pattern": IDENT_PATTERN}


def _params(path: str, schemas: Mapping[str, dict[str, Any]] | None = None,
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


def _get(route: Route[Any]) -> dict[str, Any]:
    """A declared route as OpenAPI writes it: its answers, its own errors and the middlewares'."""
    op: dict[str, Any] = {"summary": route.summary}
    if route.security:
        op["security"] = [{route.security: []}]
    if route.roles:
        op["description"] = "Roles: " + ", ".join(route.roles) + (
            f". {route.note}" if route.note else "")
    if parameters := [*_params(route.path, route.path_schemas), *route.query]:
        op["parameters"] = parameters
    responses: dict[str, Any] = {}
    for answer in route.answers:
        responses[answer.status] = {"description": answer.description}
        if answer.content is not None:
            responses[answer.status]["content"] = {
                media: {"schema": schema} for media, schema in answer.content.items()}
    limited = () if route.path in EXEMPT else LIMITED
    op["responses"] = {**responses, **_errors((*route.errors, *limited))}
    return {route.method.lower(): op}


def document() -> dict[str, Any]:
    bodies = [r.command for r in WRITE_ROUTES]
    (refs, components) = msgspec.json.schema_components(
        [*bodies, Accepted, ErrorDoc, ConfigureSite, e.Event, RawEido], ref_template=REF)
    *body_refs, accepted, _, _, event, eido = refs
    components["Event"] = event
    paths: dict[str, Any] = {}
    security = [{"bearer": []}]
    for route, ref in zip(WRITE_ROUTES, body_refs, strict=True):
        paths.setdefault(route.path, {})["post"] = {
            "summary": route.command.__name__, "security": security,
            "description": "Roles: " + ", ".join(route.roles),
            "parameters": _params(route.path),
            "requestBody": {"required": True, "content": {"application/json": {"schema": ref}}},
            "responses": {"202": {"description": "Durably in the event stream",
                                  "content": {JSON: {"schema": accepted}}},
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
        "responses": {"202": {"description": "Imported", "content": {JSON: {"schema": accepted}}},
                      **_errors(("400", "401", "403", "408", "409", "413", *LIMITED),
                                MAX_SITE_FILE)}}}
    paths[roster_import.PATH] = {"post": {
        "summary": "Import a OneRoster 1.1/1.2 CSV bundle", "security": security,
        "description": "Roles: admin. One part per file (users.csv, roles.csv, "
                       "enrollments.csv, classes.csv, demographics.csv, manifest.csv), or JSON "
                       "{\"files\": {name: text}}. 400 lists every bad row (`rows`: file, line, "
                       "field, message) and writes nothing; 200 when nothing changed (nothing "
                       "written); 202 with the counts of people added, changed and removed and "
                       "of restrictions added and removed, `restrictions_kept_for_removed` "
                       "(a removed person's restrictions are kept, in force again if they "
                       "come back) and `dropped` (what removed people were taken off). Both "
                       "list `warnings` (a bundle without the restriction column keeps every "
                       "restriction). 409 during a live or drill incident "
                       "for an import that adds, removes or moves anyone.",
        "parameters": [*_params(roster_import.PATH), {
            "name": "school", "in": "query", "required": False, "schema": {"type": "string"},
            "description": "In a district's export, the school's org sourcedId"}],
        "requestBody": {"required": True, "content": {
            "multipart/form-data": {"schema": {"type": "object", "additionalProperties": {
                "type": "string", "format": "binary"}}},
            JSON: {"schema": {"type": "object", "required": ["files"], "properties": {
                "files": {"type": "object", "additionalProperties": {"type": "string"}}}}}}},
        "responses": {"200": {"description": "The same roster: nothing written",
                              "content": {JSON: {"schema": {"type": "object"}}}},
                      "202": {"description": "What changed, durably in the event stream",
                              "content": {JSON: {"schema": {"type": "object"}}}},
                      **_errors(("400", "401", "403", "404", "408", "409", "413", *LIMITED),
                                roster_import.MAX_ROSTER)}}}
    paths[dispatch_intake.PATH] = {"post": {
        "summary": "Receive a 911 CAD's NENA EIDO (STA-021) document", "security": security,
        "description": "Roles: dispatch, bound to the site, to every site or to the site's "
                       "dispatch area (area:NAME). Matched to a site by premise id or name, "
                       "civic address, then geofence: 404 naming what was tried. A resent, "
                       "unchanged or older snapshot answers 202 with duplicate true.",
        # What parse refuses without: the tracking id and a last update, in either spelling.
        "requestBody": {"required": True, "content": {JSON: {"schema": {"allOf": [eido, {
            "required": ["$id"], "properties": {"$id": {"type": "string", "minLength": 1}},
            "anyOf": [{"required": [k], "properties": {k: {"type": "string"}}}
                      for k in ("lastUpdateTimeStamp", "lastUpdateTimestamp")]}]}}}},
        "responses": {"202": {"description": "Durably in the event stream, or nothing to write",
                              "content": {JSON: {"schema": accepted}}},
                      **_errors(("400", "401", "403", "404", "408", "409", "413",
                                 *LIMITED))}}}
    for route in [*READ_ROUTES, *HEALTH_ROUTES, OPENAPI_ROUTE, *PAGE_ROUTES]:
        paths.setdefault(route.path, {}).update(_get(route))  # a write may share the path
    return {
        "openapi": "3.1.0",
        "info": {"title": "Muster", "version": "1",
                 "description": "Incident command and alerting for school emergencies."},
        "paths": paths,
        "components": {"schemas": components, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"},
            "token": {"type": "apiKey", "in": "query", "name": "token"}}},
    }


def _handler(doc: dict[str, Any]) -> Handler:
    async def handle(_: web.Request) -> web.Response:
        return json_response(doc)

    return handle


# Liveness, readiness, this document and the board page need no token. (/metrics is on the
# metrics address, not this API: MUSTER_METRICS_HOST/PORT.)
OPENAPI_ROUTE: Route[dict[str, Any]] = Route(
    "/openapi.json", "This document", _handler, ok("OpenAPI 3.1", ANYTHING))


def openapi_routes() -> list[web.RouteDef]:
    return serve([OPENAPI_ROUTE], document())


def main() -> None:
    """Print the document, as served: `python -m command.bootstrap.openapi > docs/openapi.json`."""
    print(msgspec.json.format(msgspec.json.encode(document()), indent=2).decode())


if __name__ == "__main__":
    main()
