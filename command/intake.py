"""Intake: decide a command against the site's state folded from the stream, append, answer.

Each site's state is kept in memory, folded from the stream at start and kept current by an
ordered consumer, so several intake replicas can run side by side: an append carries the site's
expected last sequence, and a replica that lost the race catches up and decides again.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence

import msgspec

from command import commands as c
from command import events as e
from command.errors import Unavailable
from command.eventlog import Duplicate, EventLog, WrongLastSequence
from command.incident import Ctx, SiteState, decide, evolve, seal
from command.metrics import INTAKE_CONFLICTS

log = logging.getLogger("muster.intake")
OPENERS = (c.RaiseAlert, c.StartDrill)  # the commands whose decision may open an incident
MAIN = (e.AlertRaised, e.IncidentCancelled)  # the event a 202 names when a command writes several


class Accepted(msgspec.Struct, frozen=True):
    incident_id: str | None
    event_id: str
    seq: int
    duplicate: bool = False


class _SiteOnly(msgspec.Struct):
    site: str = ""


_site_only = msgspec.json.Decoder(_SiteOnly)


class Intake:
    def __init__(self, log_: EventLog, observe: Callable[[float], None] | None = None) -> None:
        self.log = log_
        self.states: dict[str, SiteState] = {}
        # event id -> (incident, seq, is a main event): answers a retried command after any delay
        self.known: dict[str, tuple[str | None, int, bool]] = {}
        self.incident_site: dict[str, str] = {}
        self.applied = 0
        self._locks: dict[str, asyncio.Lock] = {}
        self._tick = asyncio.Event()
        self._sub: object | None = None
        self._observe = observe

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
        first_id = e.client_event_ids(cid, 1)[0] if cid else None
        if first_id and first_id in self.known:
            return self._duplicate(cid), []  # type: ignore[arg-type]
        # One answer, 202 or 503, within one append's timeout: commands queued behind an append
        # that NATS never answers must not each wait out a timeout of their own.
        deadline = time.monotonic() + self.log.timeout
        lock = self._locks.get(site) or self._locks.setdefault(site, asyncio.Lock())
        try:
            async with asyncio.timeout(self.log.timeout):  # a timer, not wait_for's extra task
                await lock.acquire()
        except TimeoutError:
            raise Unavailable("the event stream is not answering; try again") from None
        try:
            # Lost races are retried until the deadline, never refused: each loss means another
            # writer progressed, and a panic press must not get a 409 for someone else's write.
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Unavailable("the event stream is not answering; try again")
                state = self.state(site)
                now = e.now()
                ctx = Ctx(site=site, actor=actor, now=now, incident_id=incident_id, room=room,
                          commander=commander,
                          new_incident_id=self._incident_id(cmd, cid))
                drafts = decide(state, cmd, ctx)
                events = seal(drafts, ctx, e.client_event_ids(cid, len(drafts)))
                try:
                    seqs = await self.log.append(site, events, state.seq, timeout=left)
                except WrongLastSequence as lost:
                    INTAKE_CONFLICTS.inc()
                    caught = await self.wait_until(
                        lambda lost=lost: self.state(site).seq >= lost.last,
                        timeout=max(deadline - time.monotonic(), 0.0))
                    if not caught:
                        raise Unavailable("the event stream is behind; try again") from lost
                    continue
                except Duplicate as dup:
                    found = await self.wait_until(
                        lambda first=events[0].id: first in self.known,
                        max(deadline - time.monotonic(), 0.0))
                    if cid is None or not found:
                        raise Unavailable("a duplicate was detected but not yet readable") from dup
                    return self._duplicate(cid), []
                for seq, event in zip(seqs, events, strict=True):
                    self.apply(seq, event)
                if self._observe:
                    self._observe(time.perf_counter() - started)
                main = next((ev for ev in events if isinstance(ev, MAIN)), events[0])
                return Accepted(main.incident_id, main.id, seqs[-1]), events
        finally:
            lock.release()

    async def record(self, site: str, events: list[e.Envelope],
                     timeout: float | None = None) -> list[int]:
        """Append records of what happened (notifications: no decision to check) under the
        site's lock and fold them at once, so this replica's next command at the site is not
        refused for a sequence it had only not read back yet."""
        lock = self._locks.get(site) or self._locks.setdefault(site, asyncio.Lock())
        try:
            async with asyncio.timeout(self.log.timeout):
                await lock.acquire()
        except TimeoutError:  # commands queue at the site: a record must not wait for them
            return await self.log.append(site, events, None, timeout)
        try:
            try:
                seqs = await self.log.append(site, events, self.state(site).seq, timeout)
            except WrongLastSequence:  # another replica wrote: the follower folds both
                return await self.log.append(site, events, None, timeout)
            for seq, event in zip(seqs, events, strict=True):
                self.apply(seq, event)
            return seqs
        finally:
            lock.release()

    @staticmethod
    def _incident_id(cmd: c.Command, cid: str | None) -> str:
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
