"""The composition root of a Muster process: servers, stream, database and every component.

`muster up` and `muster serve` both come here; each component is wired with its real adapters,
passed explicitly. It lives on the read side because it wires both sides together.
"""

import asyncio
import contextlib
import gc
import json
import logging
import os
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
from aiohttp import web
from prometheus_client import REGISTRY

from command.bootstrap.demo import DEMO_PATH
from command.bootstrap.openapi import openapi_routes
from command.domain import commands as c
from command.domain import rehearsal
from command.domain import site as site_file
from command.domain.events import SYSTEM
from command.infra import auth, credentials, db, metrics
from command.infra.broker import refuse_open
from command.infra.config import COMPONENTS, Settings
from command.infra.connections import PerAddress
from command.infra.embedded import (
    EmbeddedNats,
    EmbeddedPostgres,
    bind_error,
    reach_db,
    reach_nats,
    tls_context,
)
from command.infra.eventlog import EventLog
from command.infra.gcfreeze import FreezeSurvivors
from command.infra.logscrub import install as scrub_aiohttp_logs
from command.infra.metrics import watch_loop_lag
from command.infra.metrics_port import metrics_routes, serve_metrics
from command.infra.ratelimit import Limits
from command.infra.record_writer import RecordingLog, RecordWriter, StreamRecords
from command.infra.web import cors_middleware, health_routes, make_app, rate_limit_middleware
from command.write.intake import Intake
from command.write.notification_records import DeskRecords, RecordDesk, desk_subject
from command.write.routes import observe_latency, write_routes
from command.write.site_parse import SiteParser
from consumers import faults, gateway, projector, sender
from consumers.api import live_routes, read_routes
from consumers.cap_feed import cap_routes
from consumers.component_processes import Children
from consumers.gateway import Gateway
from consumers.notifier import Notifier
from consumers.page import page_routes
from consumers.projector import Projector
from consumers.report_api import report_routes
from consumers.sender import AppriseSender

log = logging.getLogger("muster")
OWN_METRICS = {
    "intake": (metrics.INTAKE_REQUESTS, metrics.INTAKE_LATENCY, metrics.EVENTS_APPENDED,
               metrics.INTAKE_CONFLICTS),
    "projector": (projector.LAG, projector.POSITION),
    "boards": (gateway.CONNECTED, gateway.GATEWAY_SEQ),
    "notifier": (sender.SENDS, sender.SEND_SECONDS),
}


def show_metrics_of(components: tuple[str, ...]) -> None:
    """/metrics lists the metrics of the components running in this process only: one run
    apart would otherwise show here at zero, and "0 alerts sent" is a lie an operator acts on."""
    for component, collectors in OWN_METRICS.items():
        for collector in collectors:
            if component in components:
                with contextlib.suppress(ValueError):  # already registered
                    REGISTRY.register(collector)
            else:
                with contextlib.suppress(KeyError):  # already left out
                    REGISTRY.unregister(collector)


class PortInUse(RuntimeError):
    pass


def _cannot_listen(s: Settings, why: str) -> str:
    return (f"cannot listen on {s.http_host}:{s.http_port} (port {s.http_port}): {why}; "
            "pass --port or set MUSTER_HTTP_PORT")


def _cannot_listen_metrics(s: Settings, why: str) -> str:
    return (f"cannot listen on {s.metrics_host}:{s.metrics_port} for /metrics: {why}; "
            "set MUSTER_METRICS_PORT (0 picks a free port)")


class Muster:
    """One running process: start() brings every part up in order, stop() takes it down."""

    def __init__(self, settings: Settings, components: tuple[str, ...] = COMPONENTS,
                 say: Callable[[str], None] = print, children: tuple[str, ...] = ()) -> None:
        self.settings = settings
        self.components = components
        self.children = Children(Path(settings.data_dir), children, settings.http_host)
        self.desk: RecordDesk | None = None
        self.say = say
        self.nats: EmbeddedNats | None = None
        self.pg: EmbeddedPostgres | None = None
        self.nc: Any = None
        self.pool: asyncpg.Pool | None = None
        self.log: EventLog | None = None
        self.intake: Intake | None = None
        self.parser: SiteParser | None = None
        self.gateway: Gateway | None = None
        self.tokens: auth.TokenStore | None = None
        self.tasks: list[asyncio.Task[Any]] = []
        self.runner: web.AppRunner | None = None
        self.port = settings.http_port
        self.metrics_runner: web.AppRunner | None = None
        self.metrics_port = settings.metrics_port
        self._starting: list[asyncio.Future[str]] = []
        self.notifier: Notifier | None = None
        self.sender: AppriseSender | None = None
        self.freezer: FreezeSurvivors | None = None

    async def start_servers(self) -> tuple[str, str]:
        s = self.settings
        nats_url, db_url = s.nats_url, s.database_url
        data = Path(s.data_dir)
        loop = asyncio.get_running_loop()
        if not (nats_url and db_url):
            credentials.private_dir(data)  # the servers' passwords are kept in it
        # stop() waits for these: a cancelled await leaves its thread starting the server.
        if not nats_url:
            self.nats = EmbeddedNats(data / "nats")
            self._starting.append(loop.run_in_executor(None, self.nats.start))
            nats_url = await self._starting[-1]
        if not db_url:
            self.pg = EmbeddedPostgres(data / "pg")
            self._starting.append(loop.run_in_executor(None, self.pg.start))
            db_url = await self._starting[-1]
        return nats_url, db_url

    async def start(self) -> None:
        s = self.settings
        # Checked before any server starts, so a taken port fails at once and leaves nothing.
        if s.http_port and (why := bind_error(s.http_host, s.http_port)):
            raise PortInUse(_cannot_listen(s, why))
        if s.metrics_port and (why := bind_error(s.metrics_host, s.metrics_port)):
            raise PortInUse(_cannot_listen_metrics(s, why))
        nats_url, db_url = await self.start_servers()
        self.nc = await reach_nats(nats_url, ca_file=s.nats_ca_file)
        self.log = EventLog(self.nc, stream=s.stream)
        await self.log.ensure_stream(s.stream_replicas)
        if not s.allow_open_broker:  # after ensure_stream: the probe needs JetStream to answer
            await refuse_open(nats_url, self.log.prefix, tls_context(s.nats_ca_file))
        self.pool = await reach_db(db_url)
        await db.migrate(self.pool)
        self.tokens = auth.TokenStore(self.pool)
        await self.tokens.start()
        routes = health_routes(self.ready) + openapi_routes()
        self.tasks.append(asyncio.create_task(watch_loop_lag()))
        show_metrics_of(self.components)
        if "intake" in self.components:
            self.intake = Intake(self.log, observe=observe_latency, rehearse=rehearsal.rehearse)
            await self.intake.start()
            self.parser = SiteParser(s.site_parse_timeout_s)  # its worker starts meanwhile
            routes += write_routes(self.intake, self.tokens, self.parser)
            if "notifier" in self.children.components:  # apart, it records through us
                self.desk = RecordDesk(self.intake, desk_subject(os.getpid()))
                await self.desk.start()
        if "projector" in self.components:
            self.tasks.append(asyncio.create_task(Projector(
                self.log, self.pool, operator_url=s.operator_alert_url).run()))
        if "boards" in self.components:
            self.gateway = Gateway(self.log, self.pool, operator_url=s.operator_alert_url)
            await self.gateway.start()
            routes += live_routes(self.gateway, self.tokens, s.boards_per_token)
            routes += read_routes(self.pool, self.tokens)
            routes += cap_routes(self.gateway, self.tokens) + page_routes()
            routes += report_routes(self.pool, self.tokens)
        if "notifier" in self.components:
            self.sender = AppriseSender(timeout=s.send_timeout_s)
            await self.sender.ready()
            # Beside intake, its records go through intake: no race for a site's sequence.
            writer: RecordWriter = (
                self.intake if self.intake is not None
                else DeskRecords(self.log, s.records_to) if s.records_to
                else StreamRecords(self.log))
            log_ = RecordingLog(self.log, writer)
            self.notifier = Notifier(log_, self.pool, self.sender,
                                     lease_s=s.send_timeout_s + 10,
                                     operator_url=s.operator_alert_url)
            self.tasks.append(asyncio.create_task(self.notifier.run()))
        limits = Limits(s.rate_per_token, s.rate_per_address, s.rate_emergency)
        origins = tuple(o.strip() for o in s.cors_origins.split(",") if o.strip())
        app = make_app(routes, [cors_middleware(origins), rate_limit_middleware(limits,
                                                                                self.tokens)],
                       body_timeout_s=s.body_timeout_s)
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
                metrics_routes() + self.children.metrics_routes(), s.metrics_host,
                s.metrics_port)
        except OSError as exc:
            raise PortInUse(_cannot_listen_metrics(s, exc.strerror or str(exc))) from exc
        if self.children.components:
            await self.children.start({
                "MUSTER_NATS_URL": nats_url, "MUSTER_DATABASE_URL": db_url,
                "MUSTER_RECORDS_TO": self.desk.subject if self.desk else "",
                "MUSTER_OPERATOR_ALERT_URL": s.operator_alert_url,  # a --config file's too
                "MUSTER_METRICS_PORT": "0"})  # each its own; relayed at /metrics/COMPONENT
        self._write_runtime(nats_url, db_url)
        # Everything loaded so far (site files, folded boards) lives for the process: keep the
        # collector from walking it again and again in long pauses on the critical path.
        gc.collect()
        gc.freeze()
        # And what is imported or folded later, once a full pass shows it costly.
        self.freezer = FreezeSurvivors(asyncio.get_running_loop())
        self.freezer.install()

    @property
    def url(self) -> str:
        return f"http://{self.settings.http_host}:{self.port}"

    @property
    def metrics_url(self) -> str:
        return f"http://{self.settings.metrics_host}:{self.metrics_port}/metrics"

    def _write_runtime(self, nats_url: str, db_url: str) -> None:
        path = self.settings.runtime_file
        path.parent.mkdir(parents=True, exist_ok=True)
        # Owner only: the URLs carry the servers' passwords.
        credentials.write_private(path, json.dumps({
            "nats_url": nats_url, "database_url": db_url, "http_url": self.url,
            "metrics_url": self.metrics_url, "pid": os.getpid()}))

    async def ready(self) -> dict[str, Any]:
        checks: dict[str, Any] = {"stream": bool(self.nc and self.nc.is_connected),
                                  "database": False}
        found: list[faults.Fault] = []
        if self.pool is not None:
            with contextlib.suppress(Exception):
                checks["database"] = await asyncio.wait_for(self.pool.fetchval("SELECT 1"),
                                                            1.0) == 1
            with contextlib.suppress(Exception):  # the projector's and the notifier's
                found = await asyncio.wait_for(faults.load_all(self.pool), 1.0)
        if self.gateway is not None:
            found += self.gateway.faults.values()
        # Reported, not failing readiness: every other site still needs this instance.
        checks["faulted_sites"] = msgspec.to_builtins(found)
        return checks

    async def import_site(self, doc: site_file.Site) -> bool:
        """Import a site file through intake unless the stream already holds the same one."""
        assert self.intake is not None
        if self.intake.state(doc.id).site == doc:
            return False
        await self.intake.execute(doc.id, c.ConfigureSite(site=doc), SYSTEM)
        return True

    async def demo(self) -> dict[str, str]:
        """Import demo-high and make one token per role, printed for the newcomer."""
        assert self.pool is not None
        doc = site_file.load(DEMO_PATH)
        await self.import_site(doc)
        tokens = {}
        for role in ("device", "staff", "responder", "commander", "dispatch", "admin"):
            # A second --demo prints new tokens: names are unique per site, so each gets its own
            secret, _ = await auth.create(self.pool, role, doc.id,
                                          name=f"demo-{role}-{secrets.token_hex(2)}")
            tokens[role] = secret
        return tokens

    async def stop(self) -> None:
        if self.freezer is not None:
            self.freezer.remove()
        await self.children.stop()  # first: they need the servers stopped below
        if self.gateway is not None:
            await self.gateway.stop()
        if self.runner is not None:
            await self.runner.cleanup()
        if self.metrics_runner is not None:
            await self.metrics_runner.cleanup()
        if self.notifier is not None:
            await self.notifier.stop()
        for task in self.tasks:
            task.cancel()
        if self.tasks:
            # Python 3.11's wait_for can swallow a cancel; never let that hang a shutdown.
            _, stuck = await asyncio.wait(self.tasks, timeout=5)
            for task in stuck:
                log.warning("a component did not stop in time: %s", task.get_coro())
        if self.sender is not None:
            self.sender.close()
        if self.desk is not None:
            await self.desk.stop()
        if self.intake is not None:
            await self.intake.stop()
        if self.parser is not None:
            self.parser.close()
        if self.tokens is not None:
            await self.tokens.stop()
        if self.pool is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.pool.close(), 5)
        if self.nc is not None:
            with contextlib.suppress(Exception):
                await self.nc.close()
        loop = asyncio.get_running_loop()
        await asyncio.gather(*self._starting, return_exceptions=True)
        if self.nats is not None:
            await loop.run_in_executor(None, self.nats.stop)
        if self.pg is not None:
            await loop.run_in_executor(None, self.pg.stop)
        with contextlib.suppress(OSError):
            self.settings.runtime_file.unlink()


async def run_until_stopped(muster: Muster, stop: asyncio.Event,
                            after_start: Callable[[Muster], Awaitable[None]] | None = None,
                            ) -> None:
    """Run until `stop` is set, even while still starting: a signal must not wait for a
    server that never answers."""

    async def run() -> None:
        await muster.start()
        if after_start is not None:
            await after_start(muster)
        await stop.wait()

    main = asyncio.create_task(run())
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({main, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if main.done():
            main.result()  # a failed start raises here and says why
        else:
            main.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await main
        muster.say("Muster is stopping…")
    finally:
        stopping.cancel()
        await muster.stop()
