"""`/metrics` on an address of its own (MUSTER_METRICS_HOST/PORT), loopback unless set.

It carries no token, and its counters say when and where alerts went (issue #14): it is not on
the API's port at all. The relays of processes apart (`/metrics/notifier`, see
consumers/component_processes.py) are here too, so a scraper needs to know only this address.
"""

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from command.infra.web import make_app


def metrics_routes() -> list[web.RouteDef]:
    async def metrics(_: web.Request) -> web.Response:
        return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    return [web.get("/metrics", metrics)]


async def serve_metrics(routes: list[web.RouteDef], host: str, port: int
                        ) -> tuple[web.AppRunner, int]:
    """A second listener on the same loop; its runner, and the port it got (OSError if none)."""
    runner = web.AppRunner(make_app(routes), handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError:
        await runner.cleanup()
        raise
    return runner, site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
