"""Intake: decide a command against the site's state folded from the stream, append, answer.

Each site's state is kept in memory, folded from the stream at start and kept current by an
ordered consumer, so several intake replicas can run side by side: an append carries the site's
expected last sequence, and a replica that lost the race catches up and decides again.

A site's commands are written one append at a time, in order, before records of what happened
(notifications sent), which can wait an append where a press cannot. When many queue during an
append (a whole school reporting at once) they go out together in the next: each is decided on
the state the ones before it leave, and all their events are one atomic batch, one stream round
trip, so a site's queue drains at the rate of appends times the batch, not one command each.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import msgspec

from command.domain import commands as c
from command.domain import events as e
from command.domain.errors import Invalid, Unavailable, from_validation
from command.domain.site_state import Ctx, SiteState, decide, evolve, seal
from command.infra.eventlog import Duplicate, EventLog, WrongLastSequence
from command.infra.metrics import INTAKE_CONFLICTS
from command.write.site_queue import Pending, SiteQueue

log = logging.getLogger("muster.intake")
OPENERS = (c.RaiseAlert, c.StartDrill)  # the commands whose decision may open an incident
MAIN = (e.AlertRaised, e.IncidentCancelled)  # the event a 202 names when a command writes several
MAX_GROUP = 32  # commands in one append: NATS caps an atomic batch, and a press waits for all
# An atomic batch costs nats-server ~1 ms of CPU against 61 us for a single publish (python -m
# loadtest.batchcost): commands are grouped only when this many wait, a queue outgrowing appends.
MIN_GROUP = 8


class Accepted(msgspec.Struct, frozen=True):
    incident_id: str | None
    event_id: str
    seq: int
    duplicate: bool = False


class _SiteOnly(msgspec.Struct):
    site: str = ""


_site_only = msgspec.json.Decoder(_SiteOnly)


class Intake:
    def __init__(self, log_: EventLog, observe: Callable[[float], None] | None = None,
                 rehearse: Callable[[e.Envelope], None] | None = None) -> None:
        self.log = log_
        self.states: dict[str, SiteState] = {}
        # event id -> (incident, seq, is a main event): answers a retried command after any delay
        self.known: dict[str, tuple[str | None, int, bool]] = {}
        self.incident_site: dict[str, str] = {}
        self.applied = 0
        self._queues: dict[str, SiteQueue] = {}
        self._writers: dict[str, asyncio.Task[None] | None] = {}  # None: a caller appends
        self._tick = asyncio.Event()
        self._sub: object | None = None
        self._observe = observe
        # The consumers' own fold, passed in by the composition root (command/ never imports
        # consumers/): a site file is tried through it before it is written.
        self._rehearse = rehearse

    # --- the fold ------------------------------------------------------------------------

    def apply(self, seq: int, event: e.Event) -> None:
        state = self.states.get(event.site) or SiteState()
        if seq > state.seq:
            self.states[event.site] = msgspec.structs.replace(evolve(state, event), seq=seq)
            self.known[event.id] = (event.incident_id, seq, isinstance(event, MAIN))
            if event.incident_id:
                self.incident_site[event.incident_id] = event.site
        self.applied = max(self.applied, seq)
        self._tick.set()
        self._tick = asyncio.Event()

    async def _on_msg(self, msg: object) -> None:
        seq = msg.metadata.sequence.stream  # type: ignore[attr-defined]
        try:
            self.apply(seq, e.decode(msg.data))  # type: ignore[attr-defined]
        except msgspec.ValidationError:
            # An event this version cannot read still moves its site's sequence on.
            site = _site_only.decode(msg.data).site  # type: ignore[attr-defined]
            state = self.states.get(site) or SiteState()
            self.states[site] = msgspec.structs.replace(state, seq=max(state.seq, seq))
            self.applied = max(self.applied, seq)
            log.warning("skipped an event this version cannot decode at seq %d", seq)

    async def start(self, subjects: str | None = None) -> None:
        """Fold the stream so far, then keep following it."""
        last = await self.log.last_seq()
        self._sub = await self.log.follow(1, self._on_msg, subjects=subjects, raw=True)
        await self.wait_until(lambda: self.applied >= last, timeout=600)

    async def stop(self) -> None:
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()  # type: ignore[attr-defined]

    async def wait_until(self, done: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not done():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._tick.wait(), timeout=min(left, 0.05))
        return True

    # --- commands ------------------------------------------------------------------------

    def site_of(self, incident_id: str) -> str | None:
        return self.incident_site.get(incident_id)

    def state(self, site: str) -> SiteState:
        return self.states.get(site) or SiteState()

    async def execute(self, site: str, cmd: c.Command, actor: e.Actor, *,
                      incident_id: str | None = None, room: str | None = None,
                      commander: bool = False) -> tuple[Accepted, list[e.Envelope]]:
        """Decide and append `cmd`; the answer and the events written (none for a duplicate)."""
        started = time.perf_counter()
        cid = str(cmd.client_event_id) if cmd.client_event_id else None
        # One answer, 202 or 503, within one append's timeout: commands queued behind an append
        # that NATS never answers must not each wait out a timeout of their own.
        job = Pending(time.monotonic() + self.log.timeout, cmd, actor, cid, incident_id, room,
                   commander)
        if job.first_id and job.first_id in self.known:
            return self._duplicate(cid), []  # type: ignore[arg-type]
        answer: tuple[Accepted, list[e.Envelope]] = await self._submit(site, job)
        if self._observe and answer[1] and not isinstance(answer[1][0], e.NEVER_SHOWN):
            self._observe(time.perf_counter() - started)  # a count would tell a notice was issued
        return answer

    async def record(self, site: str, events: list[e.Envelope],
                     timeout: float | None = None) -> list[int]:
        """Append records of what happened (notifications: no decision to check) in the site's
        next append and fold them at once, so this replica's next command at the site is not
        refused for a sequence it had only not read back yet."""
        job = Pending(time.monotonic() + (timeout or self.log.timeout), events=events)
        seqs: list[int] = await self._submit(site, job)
        return seqs

    async def _submit(self, site: str, job: Pending) -> Any:
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

    def _decide(self, site: str, state: SiteState, job: Pending) -> list[e.Envelope]:
        ctx = Ctx(site=site, actor=job.actor, now=e.now(), incident_id=job.incident_id,
                  room=job.room, commander=job.commander,
                  new_incident_id=self._incident_id(job.cmd, job.cid))  # type: ignore[arg-type]
        drafts = decide(state, job.cmd, ctx)  # type: ignore[arg-type]
        ids = e.client_event_ids(job.cid, len(drafts), start=1 if job.first_id else 0)
        events = seal(drafts, ctx, [job.first_id, *ids] if job.first_id else ids)
        for event in events:
            admit(event, self._rehearse)
        return events

    async def _commit(self, site: str, group: list[Pending]) -> None:
        """Decide each job in turn on the state the ones before leave, append all their events
        as one batch, answer each. Lost races are retried until the deadline, never refused:
        each loss means another writer progressed, and a panic press must not get a 409."""
        while True:
            now = time.monotonic()
            for job in group:
                if job.deadline <= now:
                    job.fail(Unavailable("the event stream is not answering; try again"))
            group = [job for job in group if not job.answered]
            state = start = self.state(site)
            written: list[tuple[Pending, list[e.Envelope]]] = []
            again: list[Pending] = []  # a retry queued beside its first: answered once that is in
            ids: set[str] = set()
            for job in group:
                events = job.events
                if job.first_id and job.first_id in self.known:
                    job.settle((self._duplicate(job.cid), []))  # written since it queued
                    continue
                if job.first_id in ids:
                    again.append(job)
                    continue
                if job.first_id:
                    ids.add(job.first_id)
                if events is None:
                    try:
                        events = self._decide(site, state, job)
                    except Exception as exc:  # refused (or failed): only this command
                        job.fail(exc)
                        continue
                    for event in events:
                        state = evolve(state, event)
                written.append((job, events))
            if not written:
                return await self._commit(site, again) if again else None
            batch = [event for _, events in written for event in events]
            left = min(job.deadline for job, _ in written) - time.monotonic()
            try:
                seqs = await self.log.append(site, batch, start.seq, timeout=max(left, 0.001))
            except WrongLastSequence as lost:
                INTAKE_CONFLICTS.inc()
                left = min(job.deadline for job, _ in written) - time.monotonic()
                group = [job for job, _ in written] + again
                if not await self.wait_until(lambda lost=lost: self.state(site).seq >= lost.last,
                                             timeout=max(left, 0.0)):
                    for job in group:
                        job.fail(Unavailable("the event stream is behind; try again"))
                    return
                continue
            except Duplicate as dup:
                await self._duplicates(site, written, dup)
                return await self._commit(site, again) if again else None
            except Exception as exc:  # unreachable or unanswered: each command hears it
                for job in [job for job, _ in written] + again:
                    job.fail(exc)
                return
            for seq, event in zip(seqs, batch, strict=True):
                self.apply(seq, event)
            at = 0
            for job, events in written:
                mine, at = seqs[at:at + len(events)], at + len(events)
                if job.cmd is None:
                    job.settle(mine)
                else:
                    main = next((ev for ev in events if isinstance(ev, MAIN)), events[0])
                    job.settle((Accepted(main.incident_id, main.id, mine[-1]), events))
            if again:
                await self._commit(site, again)
            return

    async def _duplicates(self, site: str, written: list[tuple[Pending, list[e.Envelope]]],
                          dup: Duplicate) -> None:
        """Part of a batch was written before: one job at a time finds which."""
        if len(written) > 1:
            for job, _ in written:
                await self._commit(site, [job])
            return
        job, events = written[0]
        if job.cmd is None:
            job.fail(dup)  # a record already there: its writer knows what that means
            return
        found = await self.wait_until(lambda: events[0].id in self.known,
                                      max(job.deadline - time.monotonic(), 0.0))
        if job.cid is None or not found:
            job.fail(Unavailable("a duplicate was detected but not yet readable"))
        else:
            job.settle((self._duplicate(job.cid), []))

    @staticmethod
    def _incident_id(cmd: c.Command | None, cid: str | None) -> str:
        """The id an incident this command opens would get; only presses and drills open one."""
        if not isinstance(cmd, OPENERS):
            return ""
        return e.client_event_ids(f"{cid}/incident", 1)[0] if cid else e.new_id()

    def _duplicate(self, cid: str) -> Accepted:
        """The first answer again: the command's events are the known ids derived from `cid`."""
        ids = e.client_event_ids(cid, 16)
        found = [(i, self.known[i]) for i in ids if i in self.known]
        main_id, (incident_id, _, _) = next(((i, k) for i, k in found if k[2]), found[0])
        return Accepted(incident_id, main_id, max(k[1] for _, k in found), duplicate=True)


def admit(event: e.Envelope, rehearse: Callable[[e.Envelope], None] | None = None) -> None:
    """Refuse (400, naming the field) an event its readers could not read back exactly as
    written, or, for a site file, one the consumers could not apply (`rehearse`): once in the
    stream, such an event would stop every consumer that meets it."""
    try:
        same = e.strict(e.encode(event)) == event
    except msgspec.ValidationError as exc:
        raise _on_command(from_validation(exc)) from None
    except (msgspec.MsgspecError, ValueError) as exc:  # not encodable: NaN never gets here
        raise Invalid(f"the command cannot be recorded: {exc}", field="$") from None
    if not same:  # e.g. a float that JSON turns into null
        raise Invalid("the command does not read back as written", field="$")
    # Only a site file is folded: it alone carries numbers and names from a file, and a fold
    # of a whole school per press would cost what a panic press cannot wait.
    if rehearse is not None and isinstance(event, e.SiteConfigured):
        rehearse(event)


def _on_command(error: Invalid) -> Invalid:
    """An event's path (`$.data.x`) as the command's: the data is the command's body."""
    field = error.field or "$"
    if field.startswith("$.data"):
        field = "$" + field.removeprefix("$.data")
    return Invalid(error.message, field=field)


class IntakeLog(EventLog):
    """The event log of a notifier in intake's own process: its records go through intake, so
    the two never race for a site's expected last sequence (132 conflicts per 1,000 presses)."""

    def __init__(self, intake: Intake) -> None:
        log_ = intake.log
        super().__init__(log_.nc, stream=log_.stream, prefix=log_.prefix, timeout=log_.timeout)
        self.intake = intake

    async def append(self, site: str, events: Sequence[e.Envelope], expected_last: int | None,
                     timeout: float | None = None) -> list[int]:
        if expected_last is not None:
            return await super().append(site, events, expected_last, timeout)
        return await self.intake.record(site, list(events), timeout)
