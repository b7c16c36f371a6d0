"""`GET /openapi.json`: the OpenAPI 3.1 document, generated from the msgspec schemas.

Request bodies are the very Structs intake decodes, so the document cannot drift from what the
server accepts; the route tables it walks are the ones the server is built from.
"""

from typing import Any, NamedTuple

import msgspec
from aiohttp import web

from command.commands import ConfigureSite
from command.errors import ErrorDoc
from command.http import WRITE_ROUTES, json_response
from command.intake import Accepted
from consumers.api import READERS


class ReadRoute(NamedTuple):
    path: str
    summary: str
    roles: tuple[str, ...]
    content: str = "application/json"


READ_ROUTES: list[ReadRoute] = [
    ReadRoute("/v1/sites/{site}/board", "The site's board", READERS),
    ReadRoute("/v1/incidents/{id}", "An incident", READERS),
    ReadRoute("/v1/incidents/{id}/timeline", "An incident's events, in order", READERS),
    ReadRoute("/v1/sites/{site}/cap", "The site's current alert as CAP 1.2 XML", READERS,
              "application/cap+xml"),
]
ERRORS = {"400": "Malformed or invalid; `field` names the JSON path",
          "401": "No or bad token", "403": "Wrong role or site",
          "404": "Unknown site, room, person or incident",
          "409": "The command conflicts with the incident's state", "413": "Body too large",
          "429": "Rate limited", "503": "The event stream is unreachable"}


def _params(path: str) -> list[dict[str, Any]]:
    names = [part[1:-1] for part in path.split("/") if part.startswith("{")]
    return [{"name": n, "in": "path", "required": True,
             "schema": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_\\-]*$",
                        "maxLength": 64}} for n in names]


def _errors(codes: tuple[str, ...]) -> dict[str, Any]:
    return {code: {"description": ERRORS[code], "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/ErrorDoc"}}}} for code in codes}


def document() -> dict[str, Any]:
    bodies = [r.command for r in WRITE_ROUTES]
    (refs, components) = msgspec.json.schema_components(
        [*bodies, Accepted, ErrorDoc, ConfigureSite],
        ref_template="#/components/schemas/{name}")
    *body_refs, accepted, _, _ = refs
    paths: dict[str, Any] = {}
    security = [{"bearer": []}]
    for route, ref in zip(WRITE_ROUTES, body_refs, strict=True):
        paths.setdefault(route.path, {})["post"] = {
            "summary": route.command.__name__, "security": security,
            "description": "Roles: " + ", ".join(route.roles),
            "parameters": _params(route.path),
            "requestBody": {"required": True, "content": {"application/json": {"schema": ref}}},
            "responses": {"202": {"description": "Durably in the event stream",
                                  "content": {"application/json": {"schema": accepted}}},
                          **_errors(("400", "401", "403", "404", "409", "413", "429",
                                     "503"))},
        }
    paths["/v1/sites/{site}"] = {"put": {
        "summary": "Import a site file", "security": security, "description": "Roles: admin",
        "parameters": _params("/v1/sites/{site}"),
        "requestBody": {"required": True, "content": {
            "application/json": {"schema": components["ConfigureSite"]["properties"]["site"]},
            "application/toml": {"schema": {"type": "string"}}}},
        "responses": {"202": {"description": "Imported", "content": {"application/json": {
            "schema": accepted}}}, **_errors(("400", "401", "403", "413"))}}}
    for read in READ_ROUTES:
        paths[read.path] = {"get": {
            "summary": read.summary, "security": security,
            "description": "Roles: " + ", ".join(read.roles), "parameters": _params(read.path),
            "responses": {"200": {"description": read.summary, "content": {read.content: {
                "schema": {"type": "object"} if read.content.endswith("json")
                else {"type": "string"}}}}, **_errors(("401", "403", "404"))}}}
    for path, text in (("/healthz", "Liveness"), ("/readyz", "Readiness")):
        paths[path] = {"get": {"summary": text, "responses": {
            "200": {"description": text, "content": {"application/json": {
                "schema": {"type": "object"}}}},
            "503": {"description": "Not ready"}}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Muster", "version": "1",
                 "description": "Incident command and alerting for school emergencies."},
        "paths": paths,
        "components": {"schemas": components,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }


def openapi_routes() -> list[web.RouteDef]:
    doc = document()

    async def handle(_: web.Request) -> web.Response:
        return json_response(doc)

    return [web.get("/openapi.json", handle)]
