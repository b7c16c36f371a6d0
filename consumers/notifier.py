"""The notifier: a durable consumer that turns events into Apprise sends (CONTRACT §5).

Three parts, each with its own loop: the fold writes each event's outbox rows and escalation
timers with its position in one transaction, before anything is sent (consumers/outbox_fold.py);
the dispatcher claims the rows, sends them most urgent first and records each outcome in the
stream (consumers/dispatcher.py); the timers escalate an alert nobody acknowledged
(consumers/escalations.py); the guardian messenger sends guardians where reunification is
(consumers/guardian_messenger.py). This class only puts them together.

It reads the stream from `log_`, and writes its records through `records` (a
command/infra/record_writer.py `RecordWriter`); without one, they are appended to `log_`.
"""

import asyncio

import asyncpg

from command.infra.eventlog import EventLog
from command.infra.record_writer import RecordWriter, StreamRecords
from consumers.dispatcher import Dispatcher
from consumers.escalations import EscalationTimers
from consumers.guardian_messenger import GuardianMessenger
from consumers.outbox_backlog import OutboxBacklog
from consumers.outbox_fold import OutboxFold
from consumers.send_records import SendRecords
from consumers.sender import Sender


class Notifier:
    def __init__(self, log_: EventLog, pool: asyncpg.Pool, sender: Sender, *,
                 backoff: tuple[float, ...] = (0.5, 2.0, 5.0), lease_s: float = 15.0,
                 tick_s: float = 0.2, batch: int = 16, operator_url: str = "",
                 records: RecordWriter | None = None) -> None:
        written = SendRecords(records or StreamRecords(log_))
        self.fold = OutboxFold(log_, pool, self._queued, operator_url)
        self.dispatcher = Dispatcher(pool, sender, written, self.fold.channel, backoff=backoff,
                                     lease_s=lease_s, tick_s=tick_s, batch=batch)
        self.timers = EscalationTimers(pool, self.fold, written, self._queued, tick_s)
        self.backlog = OutboxBacklog(pool)
        self.guardians = GuardianMessenger(log_, getattr(sender, "pool", None),
                                           records or StreamRecords(log_),
                                           getattr(sender, "timeout", 5.0))

    def _queued(self) -> None:
        self.dispatcher.queued()

    async def run(self) -> None:
        # Before any send, since a send reads its channel from the states; a faulted site is
        # folded again from its fault here, so a fix deployed resumes it.
        await self.fold.resume()
        await asyncio.gather(self.fold.run(), self.dispatcher.run(), self.timers.run(),
                             self.backlog.run(), self.guardians.run())

    async def stop(self) -> None:
        """Sends in flight are cancelled (their leases send them again); `run` then returns
        within a fetch's timeout even if nobody cancels it."""
        self.fold.stopping = self.timers.stopping = True
        self.backlog.stop()
        await self.guardians.stop()
        await self.dispatcher.stop()
