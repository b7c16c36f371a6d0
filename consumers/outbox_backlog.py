"""The notifier's backlog, for operators: how many messages wait in the outbox unsent, and how
long the oldest has waited. Read from PostgreSQL now and then, where the truth is, so the gauges
stay true across restarts and leases, and a stuck dispatcher shows as an age that keeps growing."""

import asyncio
import contextlib
import logging

import asyncpg
from prometheus_client import Gauge

from consumers import outbox

log = logging.getLogger("muster.notifier")
BACKLOG = Gauge("muster_notifier_backlog_messages",
                "Outbox messages not yet sent (waiting, in backoff or being sent), notices aside")
OLDEST = Gauge("muster_notifier_backlog_oldest_seconds",
               "How long the oldest outbox message not yet sent has waited; 0 when none waits")
EVERY_S = 5.0


class OutboxBacklog:
    """Counts the unsent every `every_s` until `stopping`; an outage leaves the last figures."""

    def __init__(self, pool: asyncpg.Pool, every_s: float = EVERY_S) -> None:
        self.pool = pool
        self.every_s = every_s
        self.stopping = False
        self._stop = asyncio.Event()

    async def run(self) -> None:
        while not self.stopping:
            try:
                waiting, oldest = await outbox.backlog(self.pool)
                BACKLOG.set(waiting)
                OLDEST.set(oldest)
            except Exception as exc:  # PostgreSQL away: its own gauge says so; try again
                log.debug("cannot read the outbox backlog: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.every_s)

    def stop(self) -> None:
        self.stopping = True
        self._stop.set()
