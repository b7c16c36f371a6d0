"""The read side of a running Muster: the projector, the gateway's live boards and the notifier,
each only when its component runs in this process. `Muster` builds it and gives it the writer its
notifier records through.
"""

import asyncio
import logging
from typing import Any

import asyncpg
from aiohttp import web

from command.infra.auth import TokenStore
from command.infra.config import Settings
from command.infra.eventlog import EventLog
from command.infra.record_writer import RecordWriter
from command.infra.route_table import serve
from consumers import faults
from consumers.api import ReadSources
from consumers.gateway import Gateway
from consumers.notifier import Notifier
from consumers.page import PAGE_ROUTES
from consumers.projector import Projector
from consumers.read_routes import READ_ROUTES
from consumers.sender import AppriseSender

log = logging.getLogger("muster")
STOP_S = 5.0


class ReadSide:
    def __init__(self, settings: Settings, components: tuple[str, ...]) -> None:
        self.settings = settings
        self.components = components
        self.gateway: Gateway | None = None
        self.sender: AppriseSender | None = None
        self.notifier: Notifier | None = None
        self.tasks: list[asyncio.Task[Any]] = []

    async def start(self, log_: EventLog, pool: asyncpg.Pool, records: RecordWriter) -> None:
        """Start this process's read components; the notifier writes its records to `records`."""
        s = self.settings
        if "projector" in self.components:
            self.tasks.append(asyncio.create_task(Projector(
                log_, pool, operator_url=s.operator_alert_url).run()))
        if "boards" in self.components:
            self.gateway = Gateway(log_, pool, operator_url=s.operator_alert_url)
            await self.gateway.start()
        if "notifier" in self.components:
            self.sender = AppriseSender(timeout=s.send_timeout_s)
            await self.sender.ready()
            self.notifier = Notifier(log_, pool, self.sender, lease_s=s.send_timeout_s + 10,
                                     operator_url=s.operator_alert_url, records=records)
            self.tasks.append(asyncio.create_task(self.notifier.run()))

    def routes(self, tokens: TokenStore, pool: asyncpg.Pool) -> list[web.RouteDef]:
        """The boards' routes and the board page, when the boards run here; else none."""
        if self.gateway is None:
            return []
        s = self.settings
        sources = ReadSources(tokens, pool, self.gateway, s.boards_per_token, s.eido_resend_s,
                              s.eido_resends)
        return serve(READ_ROUTES, sources) + serve(PAGE_ROUTES, None)

    def faults(self) -> list[faults.Fault]:
        """The sites the live boards stopped folding (the others' are in the database)."""
        return list(self.gateway.faults.values()) if self.gateway is not None else []

    async def stop_boards(self) -> None:
        """First of all: the boards close before the HTTP server waits on their sockets."""
        if self.gateway is not None:
            await self.gateway.stop()

    async def stop_notifier(self) -> None:
        """After the HTTP server; the projector's and notifier's tasks are then cancelled
        with the process's others, and `close` ends the Apprise workers."""
        if self.notifier is not None:
            await self.notifier.stop()

    def close(self) -> None:
        if self.sender is not None:
            self.sender.close()


async def stop_tasks(tasks: list[asyncio.Task[Any]]) -> None:
    for task in tasks:
        task.cancel()
    if tasks:
        # Python 3.11's wait_for can swallow a cancel; never let that hang a shutdown.
        _, stuck = await asyncio.wait(tasks, timeout=STOP_S)
        for task in stuck:
            log.warning("a component did not stop in time: %s", task.get_coro())
