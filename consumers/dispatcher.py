"""The notifier's send loop: claims the outbox's due rows and sends them through Apprise.

Each channel's rows go most urgent first (a newer incident's lockdown before older retries; one
incident's messages in order, its newest standing in for older ones that failed), one channel
batch at a time, retried with backoff. Each outcome is recorded in the stream
(`NotificationSent` / `NotificationFailed`), then in the outbox. A row claimed but never recorded
as sent (a crash mid-send) is sent again when its lease runs out: at least once, at most twice.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import asyncpg
from prometheus_client import Histogram

from command.domain import alert_rules
from command.domain.alert_rules import URGENT, Delivery
from command.domain.site import Channel
from consumers import outbox
from consumers.faults import OUTAGE
from consumers.outbox_effects import EVENT_TIMES
from consumers.send_records import SendRecords
from consumers.sender import Sender

log = logging.getLogger("muster.notifier")
FIRST_SEND = Histogram(
    "muster_notification_first_send_seconds",
    "From an event's time to the first attempt to send its message done, by message kind and "
    "channel kind (the Apprise URL's scheme)", ["kind", "channel_kind"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0))
TIMED = ("alert", "false_alarm")  # an escalation is late by design; a notice is never counted
_first_send: dict[tuple[str, str], Any] = {}  # each (kind, scheme)'s child, looked up once


def first_send(kind: str, url: str, event_id: str, written_at: datetime | None) -> None:
    """Time a message's first send attempt from its event, or, when the fold here did not see
    it (written before a restart, or past the times kept), from its outbox row's writing."""
    if kind not in TIMED:
        return
    at = EVENT_TIMES.get(event_id)
    if at is None and written_at is not None:
        at = written_at.timestamp()
    if at is None:
        return
    key = (kind, url.partition("://")[0][:32])
    child = _first_send.get(key)
    if child is None:
        child = _first_send[key] = FIRST_SEND.labels(*key)
    child.observe(max(0.0, time.time() - at))


class Dispatcher:
    """Claims, sends and records; nothing but `stop` ends its loop."""

    def __init__(self, pool: asyncpg.Pool, sender: Sender, records: SendRecords,
                 channel: Callable[[str, str], Channel | None], *,
                 backoff: tuple[float, ...] = (0.5, 2.0, 5.0), lease_s: float = 15.0,
                 tick_s: float = 0.2, batch: int = 16) -> None:
        self.pool = pool
        self.sender = sender
        self.records = records
        self.channel = channel  # (site, name): as the fold has it now
        self.backoff = backoff
        self.lease_s = lease_s
        self.tick_s = tick_s
        self.batch = batch
        self._wake = asyncio.Event()
        self._generation = 0  # counts enqueues: a channel's batch gives way to newer rows
        self._busy: set[str] = set()
        self._inflight: set[asyncio.Task[None]] = set()
        # Checked by the loop: a cancel swallowed on its way (Python 3.11's wait_for, a
        # library) must not leave a notifier retrying against a closed pool forever.
        self.stopping = False

    def queued(self) -> None:
        """New rows are in the outbox: claim them, and let batches in flight give way."""
        self._generation += 1
        self._wake.set()

    async def run(self) -> None:
        while not self.stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.tick_s)
            self._wake.clear()
            generation = self._generation
            try:
                rows = await outbox.claim(self.pool, self.lease_s, list(self._busy), self.batch)
            except OUTAGE as exc:
                log.warning("cannot claim notifications: %s", exc)
                continue
            except Exception:  # the one loop that sends: nothing may end it but a stop
                log.exception("claiming notifications failed; trying again")
                continue
            by_channel: dict[str, list[dict[str, Any]]] = {}
            for row in sorted(rows, key=lambda r: r["rank"]):
                by_channel.setdefault(f"{row['site']}/{row['channel']}", []).append(dict(row))
            for key, queued in by_channel.items():
                self._busy.add(key)
                task = asyncio.create_task(self._deliver(queued, key, generation))
                self._inflight.add(task)
                task.add_done_callback(self._inflight.discard)

    async def _deliver(self, rows: list[dict[str, Any]], key: str, generation: int) -> None:
        """Send one channel's rows in rank order; each is recorded while the next is on its way.
        After a failure, or once newer rows were queued, the rest go back unsent, so the next
        claim ranks them again: no retry and no routine backlog holds back a new alert."""
        records: list[asyncio.Task[None]] = []
        try:
            for i, row in enumerate(rows):
                d = alert_rules.replacing(
                    Delivery(**{k: row[k] for k in Delivery.__struct_fields__ if k in row}),
                    row["replaces"])
                channel = self.channel(d.site, d.channel)
                error = ("the channel is no longer configured" if channel is None
                         else await self.sender.send(channel, d))
                if channel is not None and row["attempts"] == 1:
                    first_send(d.kind, channel.url, d.event_id, row.get("created_at"))
                records.append(asyncio.create_task(self._settle(d, row["attempts"], error)))
                # Newer rows may outrank the rest, unless the rest are extreme alerts themselves:
                # a lockdown's presses then go in one batch, not one claim each.
                rest = rows[i + 1:]
                if error is not None or (generation != self._generation and rest
                                         and rest[0]["priority"] < URGENT):
                    await outbox.unclaim(self.pool, rest)
                    break
            await asyncio.gather(*records)
        except Exception as exc:
            if self.stopping:  # shutting down: the lease sends it again after the restart
                log.warning("delivery to %s cut short by shutdown (%s); its lease will retry it",
                            key, exc)
            else:
                log.exception("delivery to %s failed to record; its lease will retry it", key)
        finally:
            self._busy.discard(key)
            self._wake.set()

    async def _settle(self, d: Delivery, attempt: int, error: str | None) -> None:
        """Record one send's outcome: in the stream, then in the outbox."""
        if error is None:
            await self.records.sent(d, attempt)
            await outbox.sent(self.pool, d)
            return
        final = attempt > len(self.backoff)
        await self.records.failed(d, attempt, error)
        await outbox.failed(self.pool, d, error, final,
                            0.0 if final else self.backoff[attempt - 1])

    async def stop(self) -> None:
        """Sends in flight are cancelled: their leases send them again."""
        self.stopping = True
        tasks = list(self._inflight)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
