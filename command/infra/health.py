"""`/healthz` and `/readyz`: liveness and readiness, no token, never rate limited (web.EXEMPT).

/metrics is not here: it has no token either, so it has an address of its own (metrics_port.py).
"""

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from command.infra.route_table import JSON, Answer, Route
from command.infra.web import Handler, json_response

Ready = Callable[[], Awaitable[dict[str, Any]]]
ANYTHING = {"type": "object"}


async def healthz(_: web.Request) -> web.Response:
    return json_response({"ok": True})


def readyz_handler(ready: Ready) -> Handler:
    async def readyz(_: web.Request) -> web.Response:
        checks = await ready()
        # Only the yes/no checks decide; a list beside them (faulted sites) is reported.
        ok = all(v for v in checks.values() if isinstance(v, bool))
        return json_response({"ok": ok, **checks}, status=200 if ok else 503)

    return readyz


HEALTH_ROUTES: list[Route[Ready]] = [
    Route("/healthz", "Liveness", lambda _: healthz, (Answer("200", "Alive", {JSON: ANYTHING}),)),
    Route("/readyz", "Readiness", readyz_handler, (
        Answer("200", "Stream and database reachable", {JSON: ANYTHING}),
        Answer("503", "Stream or database unreachable", {JSON: ANYTHING}))),
]
