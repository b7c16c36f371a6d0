"""The site writer: each site's commands, and records of what happened, appended one append at a
time, in order, with the site's expected last sequence.

Records (notifications sent) can wait an append where a press cannot, so they queue behind the
commands (site_queue). When many queue during an append (a whole school reporting at once) they
go out together in the next (site_batch).
"""

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from command.domain import events as e
from command.domain.errors import Unavailable
from command.infra.eventlog import Duplicate, EventLog, WrongLastSequence
from command.infra.metrics import INTAKE_CONFLICTS
from command.write.answers import Answers
from command.write.site_batch import SiteBatch
from command.write.site_directory import SiteDirectory
from command.write.site_queue import Pending, SiteQueue

log = logging.getLogger("muster.intake")
MAX_GROUP = 32  # commands in one append: NATS caps an atomic batch, and a press waits for all
# An atomic batch costs nats-server ~1 ms of CPU against 61 us for a single publish (python -m
# loadtest batchcost): commands are grouped only when this many wait, a queue outgrowing appends.
MIN_GROUP = 8


class SiteWriter:
    """Each site's one writer at a time: the caller of an idle site's job, or a task draining
    what queued meanwhile."""

    def __init__(self, log_: EventLog, sites: SiteDirectory, answers: Answers,
                 rehearse: Callable[[e.Envelope], None] | None = None) -> None:
        self.log = log_
        self.sites = sites
        self.answers = answers
        self._rehearse = rehearse
        self._queues: dict[str, SiteQueue] = {}
        self._writers: dict[str, asyncio.Task[None] | None] = {}  # None: a caller appends

    async def submit(self, site: str, job: Pending) -> Any:
        """Append `job` in its site's turn; its answer (a 202's, or a record's sequences)."""
        queue = self._queues.get(site)
        if queue is None:
            queue = self._queues[site] = SiteQueue()
        if site not in self._writers and not queue:
            return await self._inline(site, queue, job)
        queue.push(job)
        if site not in self._writers:
            self._writers[site] = asyncio.create_task(self._drain(site, queue))
        try:  # the writer answers by the deadline; this only bounds a writer that never does
            async with asyncio.timeout(max(job.deadline - time.monotonic(), 0.0) + 1.0):
                # Not shielded (a loop turn more): cancelling the wait leaves the job unanswered,
                # and the writer still appends it.
                return await job.future
        except TimeoutError:
            raise Unavailable("the event stream is not answering; try again") from None

    async def _inline(self, site: str, queue: SiteQueue, job: Pending) -> Any:
        """An idle site's job is appended by its caller: a writer task would start a loop turn
        later, and under load each turn waits behind hundreds of callbacks. Jobs arriving
        meanwhile queue for a writer started when this append ends."""
        self._writers[site] = None
        try:
            await self._commit(site, [job])
        except Exception as exc:  # a bug here must answer, not strand, the command
            log.exception("appending at %s failed", site)
            job.fail(exc)
        finally:
            del self._writers[site]
            if queue:
                self._writers[site] = asyncio.create_task(self._drain(site, queue))
        if not job.answered:  # cannot happen: _commit answers each job; never hang a press
            job.fail(Unavailable("the command was not appended; try again"))
        return job.future.result()

    async def _drain(self, site: str, queue: SiteQueue) -> None:
        """The site's one writer: append what queued, commands first, until nothing is left."""
        try:
            while queue:
                size = min(len(queue), MAX_GROUP) if len(queue) >= MIN_GROUP else 1
                group = queue.take(size, time.monotonic())
                try:
                    await self._commit(site, group)
                except Exception as exc:  # a bug here must answer, not strand, the commands
                    log.exception("appending at %s failed", site)
                    for job in group:
                        job.fail(exc)
        finally:
            del self._writers[site]

    async def _commit(self, site: str, group: list[Pending]) -> None:
        """Decide each job in turn on the state the ones before leave, append all their events
        as one batch, answer each. Lost races are retried until the deadline, never refused:
        each loss means another writer progressed, and a panic press must not get a 409.
        `todo` holds the groups still to append, in order: a retry, or a batch split to find
        its duplicate, goes first."""
        todo = [group]
        while todo:
            batch = SiteBatch.draft(site, todo.pop(0), self.sites.state(site), self.answers,
                                    self._rehearse)
            if not batch.written:
                if batch.again:
                    todo.insert(0, batch.again)
                continue
            try:
                seqs = await self.log.append(site, batch.events, batch.expected_last,
                                             timeout=max(batch.time_left(), 0.001))
            except WrongLastSequence as lost:
                INTAKE_CONFLICTS.inc()
                if await self._caught_up(site, lost.last, batch):
                    todo.insert(0, batch.jobs())
                continue
            except Duplicate as dup:
                todo[:0] = await self._split(batch, dup)
                continue
            except Exception as exc:  # unreachable or unanswered: each command hears it
                batch.fail(exc)
                continue
            for seq, event in zip(seqs, batch.events, strict=True):
                self.sites.apply(seq, event)
            batch.settle(seqs)
            if batch.again:
                todo.insert(0, batch.again)

    async def _caught_up(self, site: str, last: int, batch: SiteBatch) -> bool:
        """Wait until this replica has folded the site up to `last`, the append that beat ours,
        to decide again on it; by the first deadline, or every job hears 503."""
        if await self.sites.wait_until(lambda: self.sites.state(site).seq >= last,
                                       timeout=max(batch.time_left(), 0.0)):
            return True
        batch.fail(Unavailable("the event stream is behind; try again"))
        return False

    async def _split(self, batch: SiteBatch, dup: Duplicate) -> list[list[Pending]]:
        """Part of a batch was written before: one job at a time finds which. The groups to
        append next."""
        after = [batch.again] if batch.again else []
        if len(batch.written) > 1:
            return [[job] for job, _ in batch.written] + after
        job, events = batch.written[0]
        if job.cmd is None:
            job.fail(dup)  # a record already there: its writer knows what that means
            return after
        found = await self.sites.wait_until(lambda: events[0].id in self.answers,
                                            max(job.deadline - time.monotonic(), 0.0))
        if job.cid is None or not found:
            job.fail(Unavailable("a duplicate was detected but not yet readable"))
        else:
            job.settle((self.answers.again(job.cid), []))
        return after
