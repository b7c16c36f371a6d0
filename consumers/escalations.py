"""Escalation timers: an alert nobody acknowledged in its channel's `escalate_after_s` goes on
to the channels it names (`escalate_to`), once, and `NotificationEscalated` says so.

The fold starts a timer in the transaction that writes the alert's outbox row, and an
acknowledgement, a cancellation or the close stops the incident's timers there too; this loop
only fires the timers that fell due, and only once the fold has caught up (an acknowledgement
may still wait in the backlog).
"""

import asyncio
import logging
from collections.abc import Callable

import asyncpg
from prometheus_client import Counter

from command.domain import alert_rules
from command.domain.alert_rules import Delivery
from command.domain.errors import Unavailable
from consumers import faults, outbox
from consumers.faults import OUTAGE
from consumers.outbox_effects import channel_of
from consumers.outbox_fold import OutboxFold
from consumers.send_records import SendRecords

log = logging.getLogger("muster.notifier")
ESCALATIONS = Counter("muster_escalations_total",
                      "Alerts nobody acknowledged in time, escalated to their escalate_to channels",
                      ["mode"])
for _mode in ("live", "drill"):  # at 0 from the start, so the first one is an increase
    ESCALATIONS.labels(_mode)


class EscalationTimers:
    """Fires due timers: each writes its escalation rows and its record, one timer at a time."""

    def __init__(self, pool: asyncpg.Pool, fold: OutboxFold, records: SendRecords,
                 queued: Callable[[], None], tick_s: float = 0.2) -> None:
        self.pool = pool
        self.fold = fold  # the channels and incidents a timer reads
        self.records = records
        self.queued = queued  # new rows are in the outbox
        self.tick_s = tick_s
        self.stopping = False

    async def run(self) -> None:
        while not self.stopping:
            await asyncio.sleep(self.tick_s)
            if self.fold.caught_up:  # an acknowledgement may still wait in the backlog
                # A database or stream away: the next tick tries again, the timer stays due.
                try:
                    await self.escalate_due()
                except OUTAGE as exc:
                    log.warning("cannot escalate now: %s", exc)
                except Exception:  # whatever it is, the loop must live to the next tick
                    log.exception("escalation tick failed; trying again")

    async def escalate_due(self) -> None:
        escalated: list[str] = []  # modes, counted once the transaction holds
        async with self.pool.acquire() as conn, conn.transaction():
            due = await outbox.due_timers(conn)
            for row in due:
                try:
                    async with conn.transaction():  # a savepoint: this timer's rows alone
                        await self._escalate(conn, row)
                    escalated.append(row["mode"])
                except Exception as exc:
                    if faults.transient(exc) or isinstance(exc, Unavailable):
                        raise
                    # One site's timer that cannot escalate never holds back another site's.
                    log.error("escalation of %s on %s at site %r failed, dropped: %s",
                              row["event_id"], row["channel"], row["site"], exc, exc_info=exc)
                await outbox.stop_timers(conn, row["incident_id"], row["channel"])
        for mode in escalated:
            ESCALATIONS.labels(mode).inc()
        if due:
            self.queued()

    async def _escalate(self, conn: asyncpg.Connection, row: asyncpg.Record) -> None:
        site = row["site"]
        state = self.fold.state(site)  # one state throughout, though the fold moves on
        channel = channel_of(state, row["channel"])
        case = state.cases.get(row["incident_id"])  # silent until a commander's protocol, now
        original = Delivery(channel=row["channel"], event_id=row["event_id"],
                            site=site, incident_id=row["incident_id"],
                            mode=row["mode"], kind="alert", title=row["title"],
                            body=row["body"], level=row["level"], priority=row["priority"],
                            silent=case is not None and case.incident.silent)
        targets, sends = [], []
        for name in channel.escalate_to if channel else []:
            target = channel_of(state, name)
            d = alert_rules.escalation(original, target, channel.escalate_after_s or 0) \
                if target and channel else None
            if d is not None:
                sends.append(d)
                targets.append(name)
        if sends:
            await outbox.enqueue(conn, sends, row["seq"])
        await self.records.escalated(site, row["incident_id"], row["mode"], row["channel"],
                                     targets, row["event_id"])
