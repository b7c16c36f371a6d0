"""Routes as data: the app serves each declared route, built from what the serving side gives,
and the middlewares run in their one declared order."""

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from command.infra.route_table import JSON, Route, ok, serve
from command.infra.web import (
    Handler,
    errors_middleware,
    make_app,
    no_store_middleware,
    ordered_middlewares,
)


def greeting(name: str) -> Handler:
    async def handle(request: web.Request) -> web.Response:
        return web.json_response({"hello": name, "site": request.match_info["site"]})

    return handle


ROUTES: list[Route[str]] = [
    Route("/v1/sites/{site}/hello", "Hello", greeting, ok("Hello", {"type": "object"})),
    Route("/v1/sites/{site}/hello", "Hello again", greeting, ok("Hello", {"type": "object"}),
          method="POST"),
]


def test_ok_is_one_200_described_as_the_route() -> None:
    (answer,) = ok("The board", {"type": "object"})
    assert (answer.status, answer.description, dict(answer.content or {})) == (
        "200", "The board", {JSON: {"type": "object"}})


def test_each_declared_route_is_served_with_its_method_and_path() -> None:
    served = serve(ROUTES, "world")
    assert [(r.method, r.path) for r in served] == [
        ("GET", "/v1/sites/{site}/hello"), ("POST", "/v1/sites/{site}/hello")]


async def test_the_handler_is_built_from_the_sources_given() -> None:
    async with TestClient(TestServer(make_app(serve(ROUTES, "world")))) as client:
        resp = await client.post("/v1/sites/north/hello")
        assert await resp.json() == {"hello": "world", "site": "north"}
        assert resp.headers["Cache-Control"] == "no-store"  # the default middlewares ran


def test_the_middlewares_run_in_their_one_order() -> None:
    async def cors(request: web.Request, handler: Handler) -> web.StreamResponse:
        return await handler(request)

    async def rate(request: web.Request, handler: Handler) -> web.StreamResponse:
        return await handler(request)

    assert ordered_middlewares(cors, rate) == [
        errors_middleware, no_store_middleware, cors, rate, errors_middleware]
    assert ordered_middlewares() == [errors_middleware, no_store_middleware, errors_middleware]
    assert ordered_middlewares(rate_limit=rate)[2] is rate
