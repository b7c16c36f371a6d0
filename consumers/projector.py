"""The projector: a durable JetStream consumer folding events into PostgreSQL read models.

Rows and the stream position are written in one transaction, and messages are acked only after
it commits; no row is written again for an event at or below the stored position. So a crash at
any point, replayed, ends in exactly the state a rebuild from sequence 1 gives.

The board states the fold resumes from (up to ~130 KB a busy site) are written less often than
the rows: at a checkpoint every few seconds, and when the stream goes quiet, with the position
they are current to (`projector.states`). A projector starting again folds from there, writing no
row for what the rows already hold, so the rows never step back.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable

import asyncpg
from prometheus_client import Gauge

from command.domain import board
from command.domain import events as e
from command.domain.render_cache import Memo
from command.infra.eventlog import EventLog
from consumers import faults, positions, read_models, stream_chunks
from consumers.durable_consumer import durable, fetch, in_order
from consumers.faults import Fault
from consumers.projection_batch import Batch
from consumers.read_models import sole_writer

log = logging.getLogger("muster.projector")
NAME = read_models.WRITER
LAG = Gauge("muster_projection_lag_events", "Events in the stream not yet projected")
POSITION = Gauge("muster_projection_position", "Last stream sequence committed to PostgreSQL")
# The fold yields to the loop this often; it holds its own transaction, so nothing else sees it.
EVENTS_PER_SLICE = 64
# Read models may trail the live boards a little: a batch renders and writes each site it
# touched once, so gathering for a moment writes a busy site once instead of per few events.
PACE_S = 0.1
# Board states are written this often (and when the stream is quiet): each touched site's state
# was ~80 % of what a batch wrote (PostgreSQL 18 % of a core in the lockdown benchmark).
CHECKPOINT_S = 5.0
# A rebuild writes this many events a transaction: each renders its touched boards once.
REBUILD_CHUNK = 4096


class StaleStates(RuntimeError):
    """The read models moved past the states a writer holds: another projector wrote them."""


async def apply(pool: asyncpg.Pool, states: dict[str, board.State], at: int,
                items: Iterable[tuple[int, bytes]], name: str = NAME,
                memos: dict[str, Memo] | None = None, *, rows_at: int | None = None,
                dirty: set[str] | None = None, checkpoint: bool = True,
                faulted: dict[str, Fault] | None = None,
                resume: Fault | None = None) -> tuple[int, dict]:
    """Fold `items` into `states` (current to `at`) and write, in one transaction, the rows of
    those past the committed position `rows_at` (`at` unless given); the new position and
    states. With `checkpoint`, the states of the sites touched here and in `dirty` are written
    too, as current to the last item, and `dirty` is emptied; without, it gathers them.

    An event whose fold or rows fail faults its site (consumers/faults.py), in the same
    transaction: the site's later events are passed by, every other site goes on. `faulted`
    gets the faults recorded. With `resume` (a faulted site's events), the site is folded again
    and its rows written from the faulted seq; it is cleared if they all apply.

    If the committed position is not `rows_at`, StaleStates is raised and nothing written: the
    lock alone cannot tell a projector whose lock connection died that a standby took over,
    and its next batch would fold onto states older than the rows."""
    items = list(items)
    args = (pool, states, at, items, name, memos, rows_at, dirty, checkpoint, faulted, resume)
    try:
        return await _apply(*args, careful=False)
    except StaleStates:
        raise
    except Exception as exc:
        if faults.transient(exc):
            raise
        # Rows are written a batch at once: written again event by event, the site is found.
        log.warning("a batch's rows failed (%s); writing them event by event", exc)
        return await _apply(*args, careful=True)


async def _apply(pool: asyncpg.Pool, states: dict[str, board.State], at: int,
                 items: list[tuple[int, bytes]], name: str, memos: dict[str, Memo] | None,
                 rows_at: int | None, dirty: set[str] | None, checkpoint: bool,
                 faulted: dict[str, Fault] | None, resume: Fault | None, *,
                 careful: bool) -> tuple[int, dict]:
    rows_at = at if rows_at is None else rows_at
    new: dict[str, Fault] = {}
    async with pool.acquire() as conn, conn.transaction():
        pos, stopped = await positions.hold(conn, name)
        if pos != rows_at:
            raise StaleStates(f"the read models are at {pos}, this projector's rows at {rows_at}")
        if resume is not None:
            stopped.discard(resume.site)
        batch = Batch(dict(states), memos, written=pos if resume is None else resume.seq - 1)
        last = at
        for i, (seq, data) in enumerate(items, 1):
            if i % EVENTS_PER_SLICE == 0:
                await asyncio.sleep(0)  # a long batch must not hold the loop in one stretch
            if seq <= last:
                continue
            last = seq
            if not careful:
                _add(batch, seq, data, stopped, new, name)
                continue
            prior = dict(batch.states)
            one = Batch(batch.states, memos, written=batch.written)
            event = _add(one, seq, data, stopped, new, name)
            if event is None:
                continue
            try:
                async with conn.transaction():  # a savepoint: this event's rows alone
                    await one.write(conn, ())
            except Exception as exc:
                if faults.transient(exc):
                    raise
                new[event.site] = faults.of(name, seq, data, exc, event)
                batch.states.clear()
                batch.states.update(prior)
                continue
            batch.touched |= one.touched
        pending = batch.touched | (dirty or set())
        if last > pos or (checkpoint and pending) or resume is not None:
            await batch.write(conn, pending if checkpoint else ())
        if last > pos:
            await positions.move_held(conn, name, last)
        if checkpoint and pending and resume is None:  # a resumed site alone is not all states
            await positions.move_held(conn, positions.states_of(name), last)
        if new:
            await faults.record(conn, new.values())
        if resume is not None and resume.site not in new:
            await faults.clear(conn, name, [resume.site])
    if dirty is not None:
        if checkpoint:
            dirty.clear()
        else:
            dirty |= batch.touched
    for fault in new.values():
        faults.report(fault)
    if faulted is not None:
        faulted.update(new)
        if resume is not None and resume.site not in new:
            faulted.pop(resume.site, None)
    return max(last, pos), batch.states


def _add(batch: Batch, seq: int, data: bytes, stopped: set[str], new: dict[str, Fault],
         name: str) -> e.Event | None:
    """Fold one event into `batch` unless its site is stopped; the event, or None if it was
    passed by or its site faulted at it (into `new`)."""
    try:
        event = e.decode(data)
    except Exception as exc:
        fault = faults.of(name, seq, data, exc)
        if fault.site not in stopped and fault.site not in new:
            new[fault.site] = fault
        return None
    if event.site in stopped or event.site in new:
        return None  # never applied out of order: the site waits at its fault
    try:
        batch.add(seq, event)
    except Exception as exc:
        new[event.site] = faults.of(name, seq, data, exc, event)
        return None
    return event


class Projector:
    def __init__(self, log_: EventLog, pool: asyncpg.Pool, batch: int = 256,
                 on_commit: Callable[[int], None] | None = None,
                 pace_s: float = PACE_S, operator_url: str = "") -> None:
        self.log = log_
        self.pool = pool
        self.faults: dict[str, Fault] = {}  # sites stopped at an event they could not apply
        self.alerter = faults.Alerter(pool, NAME, operator_url)
        self.batch = batch
        self.pace_s = pace_s
        self.position = 0
        self.states: dict[str, board.State] = {}
        self.memos: dict[str, Memo] = {}  # a board's render reuses its unchanged parts
        self.on_commit = on_commit

    async def run(self) -> None:
        try:
            while True:
                try:
                    await self._run_once()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("projector failed; starting again from the committed position")
                    await asyncio.sleep(0.5)
        finally:
            await self.alerter.stop()

    async def _run_once(self) -> None:
        async with sole_writer(self.pool):  # a second projector waits here, a standby
            await self._project()

    async def _project(self) -> None:
        stored = await read_models.snapshot(self.pool, NAME)
        self.position, self.states, self.faults = stored.rows_at, stored.states, stored.faults
        folded = stored.states_at  # the states load at their own position
        for fault in list(self.faults.values()):
            if fault.site:  # a fix deployed since: the site folds again from its fault
                await self._resume(fault)
        self._faults_changed()
        POSITION.set(self.position)
        sub = await durable(self.log, NAME, folded)
        delivered = 0  # the consumer sequence of the last delivery this run received
        dirty: set[str] = set()  # sites whose stored state is older than the rows
        saved = time.monotonic()
        try:
            while True:
                msgs = await fetch(sub, self.batch)
                if not msgs:
                    if dirty:  # the stream is quiet: the stored states catch up
                        self.position, self.states = await apply(
                            self.pool, self.states, folded, [], rows_at=self.position,
                            dirty=dirty)
                        saved = time.monotonic()
                    continue
                started = time.monotonic()
                delivered = in_order(delivered, msgs)
                items = [(m.metadata.sequence.stream, m.data) for m in msgs]
                checkpoint = started - saved >= CHECKPOINT_S
                known = len(self.faults)
                self.position, self.states = await apply(
                    self.pool, self.states, folded, items, memos=self.memos,
                    rows_at=self.position, dirty=dirty, checkpoint=checkpoint,
                    faulted=self.faults)
                if len(self.faults) != known:
                    self._faults_changed()
                folded = max(folded, items[-1][0])
                if checkpoint:
                    saved = started
                await msgs[-1].ack()  # AckPolicy.ALL: the last acks the batch
                POSITION.set(self.position)
                LAG.set(msgs[-1].metadata.num_pending)
                if self.on_commit:
                    self.on_commit(self.position)
                if len(msgs) < self.batch:  # at most one part batch per pace: the next gathers
                    await asyncio.sleep(started + self.pace_s - time.monotonic())
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def _resume(self, fault: Fault) -> None:
        """Fold a faulted site's events again, from its stored state up to the position."""
        state = self.states.get(fault.site)
        at = state.seq if state is not None else 0
        items = [item async for item in self.log.read_site(fault.site, at + 1, self.position)]
        _, self.states = await apply(self.pool, self.states, at, items, memos=self.memos,
                                     rows_at=self.position, faulted=self.faults, resume=fault)
        if fault.site not in self.faults:
            log.warning("projector resumed site %r, stopped at seq %d since %s", fault.site,
                        fault.seq, fault.at.isoformat())

    def _faults_changed(self) -> None:
        faults.count(NAME, self.faults)
        self.alerter.kick()


async def rebuild(log_: EventLog, pool: asyncpg.Pool, progress: Callable[[int, int], None],
                  chunk: int = REBUILD_CHUNK) -> int:
    """Drop the read models and fold the whole stream again; the final position. Refused
    (ProjectorBusy) while a projector runs against the same database."""
    async with sole_writer(pool, wait=False):
        return await _rebuild(log_, pool, progress, chunk)


async def _rebuild(log_: EventLog, pool: asyncpg.Pool, progress: Callable[[int, int], None],
                   chunk: int) -> int:
    await read_models.drop(pool, NAME)  # the durable is made again by the pull below
    progress(0, end := await log_.last_seq())
    states: dict[str, board.State] = {}
    memos: dict[str, Memo] = {}  # a board rendered again each chunk converts only what changed
    dirty: set[str] = set()  # every site folded: its state is written once, at the end
    pos = 0
    # The next chunks are pulled while this one is written: the read overlaps PostgreSQL's work.
    chunks: stream_chunks.Chunks = asyncio.Queue(maxsize=2)
    reader = asyncio.create_task(stream_chunks.pull(log_, NAME, end, chunk, chunks))
    try:
        while pos < end:
            items = await chunks.get()  # undecoded: apply faults a site at a bad one
            if isinstance(items, Exception):
                raise items
            pos, states = await apply(pool, states, pos, items, memos=memos, dirty=dirty,
                                      checkpoint=False)
            progress(pos, end)
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
    pos, states = await apply(pool, states, pos, [], dirty=dirty)
    progress(end, end)
    return pos
