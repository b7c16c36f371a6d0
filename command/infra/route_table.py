"""Routes as data: one entry both serves a path and says what the OpenAPI document tells of it.

A side declares its routes as a list of `Route`; the app is served from that list and
`command/bootstrap/openapi.py` writes the document from the same list, so the two cannot drift.
"""

from collections.abc import Callable, Mapping
from typing import Any, Generic, NamedTuple, TypeVar

from aiohttp import web

from command.infra.web import Handler

Sources = TypeVar("Sources")
Schema = dict[str, Any]
JSON = "application/json"


class Answer(NamedTuple):
    """A success answer: its status, what it means, and its body's schema per media type."""

    status: str
    description: str
    content: Mapping[str, Schema] | None = None  # None: no body (a WebSocket's 101)


class Route(NamedTuple, Generic[Sources]):
    path: str
    summary: str
    handler: Callable[[Sources], Handler]  # built from what the serving side gives it
    answers: tuple[Answer, ...]
    roles: tuple[str, ...] = ()  # none: no token asked for
    security: str = ""  # "bearer" (the header), "token" (the query), or "" (none)
    errors: tuple[str, ...] = ()  # the handler's own; the middlewares' are added to each
    note: str = ""  # said after the roles
    path_schemas: Mapping[str, Schema] | None = None  # path parameters that are no identifier
    query: tuple[Schema, ...] = ()  # query parameters, as OpenAPI writes them
    method: str = "GET"


def ok(summary: str, schema: Schema, content: str = JSON) -> tuple[Answer, ...]:
    """The one answer of a route that reads: 200, described as the route is."""
    return (Answer("200", summary, {content: schema}),)


def serve(routes: list[Route[Sources]], sources: Sources) -> list[web.RouteDef]:
    return [web.route(r.method, r.path, r.handler(sources)) for r in routes]
