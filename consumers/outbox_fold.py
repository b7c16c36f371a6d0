"""The notifier's fold: the stream, in order, into outbox rows and escalation timers.

Folding only writes: a batch's (event, channel) rows, the timers it starts or stops, any site it
faults and the notifier's position go to PostgreSQL in one transaction, before anything is
sent. A batch that neither sends nor stops a timer moves the position in memory alone, and an
idle fold commits it now and then. Each event's sends are worked out once, as it is folded.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

import asyncpg

from command.domain import board
from command.domain.site import Channel
from command.infra.eventlog import EventLog
from consumers import faults, positions
from consumers.durable_consumer import durable, fetch, in_order
from consumers.faults import Fault
from consumers.outbox_effects import NAME, Batch, Effect, channel_of, write_effects

log = logging.getLogger("muster.notifier")
COMMIT_EVERY_S = 1.0  # a quiet stretch still moves the committed position this often


class OutboxFold:
    """Folds the stream into the boards' states and writes what they owe to the outbox."""

    def __init__(self, log_: EventLog, pool: asyncpg.Pool, queued: Callable[[], None],
                 operator_url: str = "") -> None:
        self.log = log_
        self.pool = pool
        self.queued = queued  # new rows are in the outbox
        self.faults: dict[str, Fault] = {}  # sites stopped at an event they could not apply
        self.alerter = faults.Alerter(pool, NAME, operator_url)
        self.states: dict[str, board.State] = {}
        self.position = 0  # folded; committed up to it, or past it only by quiet batches
        self._committed_at = 0.0
        self._committed = 0
        self.caught_up = False
        self.stopping = False

    def state(self, site: str) -> board.State:
        return self.states.get(site) or board.empty(site)

    def channel(self, site: str, name: str) -> Channel | None:
        """A site's channel as the fold has it now; None once the site file dropped it."""
        return channel_of(self.state(site), name)

    async def resume(self) -> None:
        """The first load, faulted sites folded again from their faults (`load`); PostgreSQL or
        NATS away at start-up is waited out, as later outages are, never the end of alerting."""
        while not self.stopping:
            try:
                await self.load(resume=True)
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                if self.stopping:
                    return
                log.exception("notifier cannot load its states yet; trying again")
                await asyncio.sleep(0.5)

    async def run(self) -> None:
        """Fold, and after any failure (NATS or PostgreSQL away, a missed delivery) start again
        from the committed position, as the projector does: an outage must not end alerting."""
        while not self.stopping:
            try:
                await self.load()
                await self._follow()
            except asyncio.CancelledError:
                raise
            except Exception:
                if self.stopping:
                    return
                log.exception("notifier failed; starting again from the committed position")
                self.caught_up = False
                await asyncio.sleep(0.5)

    async def load(self, resume: bool = False) -> None:
        """The states up to the committed position, which a commit whose answer was lost may
        have moved past ours; swapped in whole, since sends read their channels from them.
        With `resume`, faulted sites are folded too, and the outbox rows of their events from
        the fault on are written: a site whose events all apply now is live again."""
        if resume:
            self.faults = await faults.load(self.pool, NAME)
            faults.count(NAME, self.faults)
            self.alerter.kick()
        committed = await positions.position(self.pool, NAME)
        self._committed = committed
        if committed <= self.position:  # quiet batches folded past it: the states are ours
            return
        resumed = {s: f.seq for s, f in self.faults.items() if resume and s}
        batch = Batch(self.states, set(self.faults) - set(resumed))
        async for seq, raw in self.log.read_raw(self.position + 1, committed):
            batch.step(seq, raw)
        # The others' effects were written when first folded; a resumed site's were not.
        owed = [x for x in batch.effects
                if x.event.site in resumed and x.seq >= resumed[x.event.site]]
        if owed or batch.new or resumed:
            await self._commit(owed, batch, committed, floor=0, resumed=set(resumed))
        self.states, self.position = batch.states, committed

    async def _follow(self) -> None:
        sub: Any = await durable(self.log, NAME, self.position, ack_wait=60)
        delivered = 0
        try:
            while not self.stopping:
                msgs = await fetch(sub, 256)
                if not msgs:
                    self.caught_up = True
                    await self._commit_quiet()
                    continue
                delivered = in_order(delivered, msgs)
                queued = await self._fold(msgs)
                await msgs[-1].ack()  # AckPolicy.ALL: the last acks the batch
                self.caught_up = msgs[-1].metadata.num_pending == 0
                if queued:  # the sender claims only when there may be something to claim
                    self.queued()
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()  # the next run binds a new subscription

    async def _fold(self, msgs: list[Any]) -> bool:
        """Fold a batch; only a batch that sends or stops a timer opens a transaction. A quiet
        batch moves the position in memory alone: replaying it after a crash writes nothing."""
        batch = Batch(self.states, set(self.faults))
        last = self.position
        for m in msgs:
            seq = m.metadata.sequence.stream
            if seq <= last:
                continue
            last = seq
            batch.step(seq, m.data)
        if batch.effects or batch.new or time.monotonic() - self._committed_at > COMMIT_EVERY_S:
            await self._commit(batch.effects, batch, last)
        self.states, self.position = batch.states, last
        return bool(batch.effects)

    async def _commit(self, effects: list[Effect], batch: Batch, last: int,
                      floor: int | None = None, resumed: set[str] | None = None) -> None:
        """Write the effects past `floor` (the committed position unless given), the faults
        and the position in one transaction. If that fails for a reason of an event's, it is
        written again effect by effect, and the site whose effect fails is faulted."""
        try:
            pos = await write(self.pool, effects, batch, last, floor, resumed, careful=False)
        except Exception as exc:
            if faults.transient(exc):
                raise
            log.warning("the outbox write failed (%s); writing it effect by effect", exc)
            pos = await write(self.pool, effects, batch, last, floor, resumed, careful=True)
        self._committed_at, self._committed = time.monotonic(), max(last, pos)
        new = batch.new
        for fault in new.values():
            faults.report(fault)
        cleared = (resumed or set()) - set(new)
        for site in cleared:
            log.warning("notifier resumed site %r, stopped at seq %d since %s", site,
                        self.faults[site].seq, self.faults[site].at.isoformat())
            del self.faults[site]
        self.faults.update(new)
        if new or cleared:
            faults.count(NAME, self.faults)
            self.alerter.kick()

    async def _commit_quiet(self) -> None:
        """Idle: the position of quiet batches folded since the last commit, so a restart (and
        anyone reading positions) finds the notifier at the stream's end."""
        if self.position > self._committed:
            await positions.advance(self.pool, NAME, self.position)
            self._committed, self._committed_at = self.position, time.monotonic()


async def write(pool: asyncpg.Pool, effects: list[Effect], batch: Batch, last: int,
                floor: int | None, resumed: set[str] | None, careful: bool) -> int:
    """One transaction: the effects past `floor` (else the committed position), the faults and
    the position; `careful`, each effect in a savepoint, and one that fails faults its site.
    Returns the committed position found, which a commit whose answer was lost moved past."""
    new = batch.new
    async with pool.acquire() as conn, conn.transaction():
        pos = await positions.position(conn, NAME)  # past ours: an answer was lost
        for effect in effects:
            site = effect.event.site
            if effect.seq <= (pos if floor is None else floor) or (
                    site in new and effect.seq >= new[site].seq):
                continue
            if not careful:
                await write_effects(conn, effect)
                continue
            try:
                async with conn.transaction():  # a savepoint: this event's rows alone
                    await write_effects(conn, effect)
            except Exception as exc:
                if faults.transient(exc):
                    raise
                new[site] = faults.of(NAME, effect.seq, None, exc, effect.event)
                batch.states[site] = effect.before  # the site waits at this event
        if new:
            await faults.record(conn, new.values())
        if resumed and resumed - set(new):
            await faults.clear(conn, NAME, resumed - set(new))
        await positions.set_to(conn, NAME, max(last, pos))
    return pos
