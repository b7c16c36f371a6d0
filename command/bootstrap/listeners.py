"""The two addresses a running Muster listens on: the API, through its middlewares in their one
order, and /metrics, on an address of its own. Both are checked before anything starts, so a
taken port fails at once and leaves nothing behind.
"""

from aiohttp import web

from command.infra.auth import TokenStore
from command.infra.config import Settings
from command.infra.connections import PerAddress
from command.infra.embedded import bind_error
from command.infra.logscrub import install as scrub_aiohttp_logs
from command.infra.metrics_port import metrics_routes, serve_metrics
from command.infra.ratelimit import Limits
from command.infra.web import (
    cors_middleware,
    make_app,
    ordered_middlewares,
    rate_limit_middleware,
)


class PortInUse(RuntimeError):
    pass


def _cannot_listen(s: Settings, why: str) -> str:
    return (f"cannot listen on {s.http_host}:{s.http_port} (port {s.http_port}): {why}; "
            "pass --port or set MUSTER_HTTP_PORT")


def _cannot_listen_metrics(s: Settings, why: str) -> str:
    return (f"cannot listen on {s.metrics_host}:{s.metrics_port} for /metrics: {why}; "
            "set MUSTER_METRICS_PORT (0 picks a free port)")


def api_app(s: Settings, routes: list[web.RouteDef], tokens: TokenStore) -> web.Application:
    limits = Limits(s.rate_per_token, s.rate_per_address, s.rate_emergency)
    origins = tuple(o.strip() for o in s.cors_origins.split(",") if o.strip())
    return make_app(routes, ordered_middlewares(cors_middleware(origins),
                                                rate_limit_middleware(limits, tokens)),
                    body_timeout_s=s.body_timeout_s)


class Listeners:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.runner: web.AppRunner | None = None
        self.port = settings.http_port
        self.metrics_runner: web.AppRunner | None = None
        self.metrics_port = settings.metrics_port

    def check(self) -> None:
        """PortInUse now if either fixed port is taken."""
        s = self.settings
        if s.http_port and (why := bind_error(s.http_host, s.http_port)):
            raise PortInUse(_cannot_listen(s, why))
        if s.metrics_port and (why := bind_error(s.metrics_host, s.metrics_port)):
            raise PortInUse(_cannot_listen_metrics(s, why))

    async def serve(self, app: web.Application, relays: list[web.RouteDef]) -> None:
        """Serve `app` on the API's address, and /metrics with `relays` on the metrics one."""
        s = self.settings
        scrub_aiohttp_logs()
        # aiohttp's keep-alive timer runs from the connection's start until a request's head
        # is in: it is the header timeout too, so a head sent a byte at a time is cut off.
        self.runner = web.AppRunner(app, handle_signals=False, access_log=None,
                                    keepalive_timeout=s.header_timeout_s)
        await self.runner.setup()
        assert self.runner.server is not None
        PerAddress(s.connections_per_address).attach(self.runner.server)
        site = web.TCPSite(self.runner, s.http_host, s.http_port)
        try:
            await site.start()
        except OSError as exc:
            raise PortInUse(_cannot_listen(s, exc.strerror or str(exc))) from exc
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        try:
            self.metrics_runner, self.metrics_port = await serve_metrics(
                metrics_routes() + relays, s.metrics_host, s.metrics_port)
        except OSError as exc:
            raise PortInUse(_cannot_listen_metrics(s, exc.strerror or str(exc))) from exc

    @property
    def url(self) -> str:
        return f"http://{self.settings.http_host}:{self.port}"

    @property
    def metrics_url(self) -> str:
        return f"http://{self.settings.metrics_host}:{self.metrics_port}/metrics"

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
        if self.metrics_runner is not None:
            await self.metrics_runner.cleanup()
