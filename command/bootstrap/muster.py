"""The composition root of a Muster process: servers, stream, database and every component.

`muster up` and `muster serve` both come here. `Muster` builds the write side and the read side
with their real adapters, serves the HTTP app from both sides' route lists, and starts and stops
it all in order; what each side holds is in write_side.py and read_side.py.
"""

import asyncio
import contextlib
import gc
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
from aiohttp import web
from prometheus_client import REGISTRY

from command.bootstrap import runtime_file, site_import
from command.bootstrap.listeners import Listeners, PortInUse, api_app
from command.bootstrap.openapi import openapi_routes
from command.bootstrap.read_side import ReadSide, stop_tasks
from command.bootstrap.servers import Servers
from command.bootstrap.write_side import WriteSide
from command.domain import site as site_file
from command.infra import auth, db, metrics
from command.infra.broker import refuse_open
from command.infra.config import COMPONENTS, Settings, to_env
from command.infra.embedded import reach_db, reach_nats, tls_context
from command.infra.eventlog import EventLog
from command.infra.gcfreeze import FreezeSurvivors
from command.infra.health import HEALTH_ROUTES
from command.infra.metrics import watch_loop_lag, watch_reach
from command.infra.record_writer import RecordWriter, StreamRecords
from command.infra.route_table import serve
from command.write.intake import Intake
from command.write.notification_records import DeskRecords, desk_subject
from command.write.site_parse import SiteParser
from consumers import (
    board_sockets,
    dispatcher,
    escalations,
    faults,
    gateway,
    outbox_backlog,
    projector,
    sender,
)
from consumers.component_processes import Children
from consumers.gateway import Gateway

__all__ = ["Muster", "PortInUse", "run_until_stopped"]
OWN_METRICS = {
    "intake": (metrics.INTAKE_REQUESTS, metrics.INTAKE_LATENCY, metrics.EVENTS_APPENDED,
               metrics.INTAKE_CONFLICTS),
    "projector": (projector.LAG, projector.POSITION),
    "boards": (board_sockets.CONNECTED, gateway.GATEWAY_SEQ, gateway.FANOUT_LAG),
    "notifier": (sender.SENDS, sender.SEND_SECONDS, dispatcher.FIRST_SEND,
                 escalations.ESCALATIONS, outbox_backlog.BACKLOG, outbox_backlog.OLDEST),
}


# Settings a child of `muster up` is given its own value of, or has no use for.
OWN_TO_EACH = frozenset({"nats_url", "database_url", "http_host", "http_port", "metrics_port",
                         "data_dir", "emergency_port", "apart", "records_to", "desk"})


def show_metrics_of(components: tuple[str, ...]) -> None:
    """/metrics lists the metrics of the components running in this process only: one run
    apart would otherwise show here at zero, and "0 alerts sent" is a lie an operator acts on."""
    shown = set(components) | ({"intake"} if "emergency" in components else set())
    for component, collectors in OWN_METRICS.items():
        for collector in collectors:
            if component in shown:
                with contextlib.suppress(ValueError):  # already registered
                    REGISTRY.register(collector)
            else:
                with contextlib.suppress(KeyError):  # already left out
                    REGISTRY.unregister(collector)


class Muster:
    """One running process: start() brings every part up in order, stop() takes it down."""

    def __init__(self, settings: Settings, components: tuple[str, ...] = COMPONENTS,
                 say: Callable[[str], None] = print, children: tuple[str, ...] = ()) -> None:
        self.settings = settings
        self.components = components
        self.say = say
        self.children = Children(Path(settings.data_dir), children, settings.http_host,
                                 ports={"emergency": settings.emergency_port or 0})
        self.servers = Servers(Path(settings.data_dir))
        self.http = Listeners(settings)
        self.nc: Any = None
        self.log: EventLog | None = None
        self.pool: asyncpg.Pool | None = None
        self.tokens: auth.TokenStore | None = None
        self.write: WriteSide | None = None
        self.read = ReadSide(settings, components)
        self.tasks: list[asyncio.Task[Any]] = []
        self.freezer: FreezeSurvivors | None = None

    async def start(self) -> None:
        s = self.settings
        self.http.check()  # before any server starts
        nats_url, db_url = await self.servers.start(s.nats_url, s.database_url)
        self.nc = await reach_nats(nats_url, ca_file=s.nats_ca_file)
        self.log = EventLog(self.nc, stream=s.stream)
        await self.log.ensure_stream(s.stream_replicas)
        if not s.allow_open_broker:  # after ensure_stream: the probe needs JetStream to answer
            await refuse_open(nats_url, self.log.prefix, tls_context(s.nats_ca_file))
        self.pool = await reach_db(db_url)
        await db.migrate(self.pool)
        self.tokens = auth.TokenStore(self.pool)
        await self.tokens.start()
        self.tasks.append(asyncio.create_task(watch_loop_lag()))
        pool, nc = self.pool, self.nc
        self.tasks.append(asyncio.create_task(
            watch_reach(lambda: bool(nc.is_connected), lambda: pool.fetchval("SELECT 1"))))
        show_metrics_of(self.components)
        routes = serve(HEALTH_ROUTES, self.ready) + openapi_routes()
        if "intake" in self.components or "emergency" in self.components:
            self.write = WriteSide(self.log, s.site_parse_timeout_s)
            emergency = "intake" not in self.components
            # A notifier apart records through an intake's desk: the emergency listener's when
            # it runs, since the alerts' records then queue behind the presses they follow
            # rather than race them for the site's sequence from another process.
            if emergency:
                here = s.desk
            else:
                here = "" if "emergency" in self.children.components else self.records_desk
            await self.write.start(desk=here, emergency=emergency)
            routes += self.write.routes(self.tokens)
        # Beside intake, a notifier's records go through intake: no race for a site's sequence.
        records: RecordWriter = (
            self.intake if self.intake is not None
            else DeskRecords(self.log, s.records_to) if s.records_to
            else StreamRecords(self.log))
        await self.read.start(self.log, self.pool, records)
        routes += self.read.routes(self.tokens, self.pool)
        await self.http.serve(api_app(s, routes, self.tokens), self.children.metrics_routes())
        if self.children.components:
            await self.children.start({
                **to_env(s, OWN_TO_EACH),  # a --config file's settings too (limits, CORS, TLS …)
                "MUSTER_EMERGENCY_PORT": "",  # the child is the emergency listener, not its parent
                "MUSTER_DESK": self.records_desk,  # read by the emergency listener alone
                "MUSTER_NATS_URL": nats_url, "MUSTER_DATABASE_URL": db_url,
                "MUSTER_RECORDS_TO": self.records_desk,
                "MUSTER_METRICS_PORT": "0"})  # each its own; relayed at /metrics/COMPONENT
        runtime_file.write(s, nats_url, db_url, self.url, self.metrics_url,
                           self.children.url_of("emergency"))
        # Everything loaded so far (site files, folded boards) lives for the process: keep the
        # collector from walking it again and again in long pauses on the critical path.
        gc.collect()
        gc.freeze()
        # And what is imported or folded later, once a full pass shows it costly.
        self.freezer = FreezeSurvivors(asyncio.get_running_loop())
        self.freezer.install()

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
        found += self.read.faults()
        # Reported, not failing readiness: every other site still needs this instance.
        checks["faulted_sites"] = msgspec.to_builtins(found)
        return checks

    async def import_site(self, doc: site_file.Site) -> bool:
        """Import a site file through intake unless the stream already holds the same one."""
        assert self.intake is not None
        return await site_import.import_site(self.intake, doc) is not None

    async def demo(self) -> dict[str, str]:
        """Import demo-high and make one token per role, printed for the newcomer."""
        assert self.intake is not None and self.pool is not None
        return await site_import.demo(self.intake, self.pool)

    async def stop(self) -> None:
        if self.freezer is not None:
            self.freezer.remove()
        await self.children.stop()  # first: they need the servers stopped below
        await self.read.stop_boards()
        await self.http.stop()
        await self.read.stop_notifier()
        await stop_tasks(self.read.tasks + self.tasks)
        self.read.close()
        if self.write is not None:
            await self.write.stop()
        if self.tokens is not None:
            await self.tokens.stop()
        if self.pool is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.pool.close(), 5)
        if self.nc is not None:
            with contextlib.suppress(Exception):
                await self.nc.close()
        await self.servers.stop()
        runtime_file.remove(self.settings)

    @property
    def records_desk(self) -> str:
        """Where a notifier apart sends its records: a desk this `muster up` runs, or none."""
        if "notifier" not in self.children.components or self.write is None:
            return ""
        return desk_subject(os.getpid())

    # What the CLI and the tests read of a running process.
    @property
    def url(self) -> str:
        return self.http.url

    @property
    def metrics_url(self) -> str:
        return self.http.metrics_url

    @property
    def port(self) -> int:
        return self.http.port

    @property
    def metrics_port(self) -> int:
        return self.http.metrics_port

    @property
    def runner(self) -> web.AppRunner | None:
        return self.http.runner

    @property
    def metrics_runner(self) -> web.AppRunner | None:
        return self.http.metrics_runner

    @property
    def intake(self) -> Intake | None:
        return self.write.intake if self.write is not None else None

    @property
    def parser(self) -> SiteParser | None:
        return self.write.parser if self.write is not None else None

    @property
    def gateway(self) -> Gateway | None:
        return self.read.gateway


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
