"""The notifier: a durable consumer that turns events into Apprise sends (CONTRACT §5).

Folding is in stream order and only writes an outbox: the (event, channel) rows are recorded in
PostgreSQL, with the notifier's position and any escalation timers, in one transaction, before
anything is sent. A sender loop then delivers each channel's rows most urgent first (a newer
incident's lockdown before older retries; one incident's messages in order, its newest standing
in for older ones that failed), retries with backoff, and appends `NotificationSent` /
`NotificationFailed` back to the stream. A row claimed but never recorded as sent (a crash
mid-send) is sent again: at least once, at most twice.
"""

import asyncio
import contextlib
import logging
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import msgspec

from command.domain import alert_rules, board
from command.domain import events as e
from command.domain.alert_rules import STATE, URGENT, Delivery
from command.domain.errors import Unavailable
from command.domain.site import Channel
from command.infra.eventlog import Duplicate, EventLog
from consumers import faults, outbox
from consumers.durable_consumer import durable, fetch, in_order, position
from consumers.faults import Fault
from consumers.sender import Sender

log = logging.getLogger("muster.notifier")
NAME = "notifier"
ACTOR = e.Actor(kind="system", id="notifier")
_NS = uuid.UUID("0b5f3c7e-2f4d-4c61-8f0e-7a2d9c1e5b44")
ESCALATE_ON = (e.AlertRaised, e.ProtocolDeclared)
STOP_TIMERS = (e.ResponderAcknowledged, e.IncidentCancelled, e.IncidentClosed)
# Types whose fold touches only what no message reads (rooms, people, notes, notifications):
# unless a channel asks for one, the notifier passes it by without decoding it.
COMMIT_EVERY_S = 1.0  # a quiet stretch still moves the committed position this often
QUIET = frozenset({"RoomStatusReported", "PersonsAccounted", "NoteAdded", "StudentCheckedIn",
                   "StudentReleased", "GuardianCheckedIn", "DispatchUpdated",
                   "CommandTransferred", "NotificationSent", "NotificationFailed",
                   "NotificationEscalated"})


class _Head(msgspec.Struct):
    type: str
    site: str


_head = msgspec.json.Decoder(_Head)
# PostgreSQL or NATS away: a closed connection under a transaction is asyncpg's InterfaceError,
# not a PostgresError (it ended the send loop for good in a CI run of test_crashes).
OUTAGE = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, Unavailable)


def acts(state: board.State, event: e.Event) -> bool:
    """Whether folding `event` writes to the outbox or the timers (so needs a transaction)."""
    return isinstance(event, (e.IncidentCancelled, *STOP_TIMERS)) or bool(
        alert_rules.deliveries(state, event))


def passes_by(states: dict[str, board.State], data: bytes) -> bool:
    """Whether an event can neither send nor change what a later send reads."""
    head = _head.decode(data)
    if head.type not in QUIET:
        return False
    config = states[head.site].config if head.site in states else None
    return config is None or not any(head.type in ch.events for ch in config.channels)


def record_id(*parts: object) -> str:
    """Deterministic ids for the notifier's own events: a retried append is absorbed."""
    return str(uuid.uuid5(_NS, "/".join(map(str, parts))))


class Notifier:
    def __init__(self, log_: EventLog, pool: asyncpg.Pool, sender: Sender, *,
                 backoff: tuple[float, ...] = (0.5, 2.0, 5.0), lease_s: float = 15.0,
                 tick_s: float = 0.2, batch: int = 16, operator_url: str = "") -> None:
        self.log = log_
        self.pool = pool
        self.faults: dict[str, Fault] = {}  # sites stopped at an event they could not apply
        self.alerter = faults.Alerter(pool, NAME, operator_url)
        self.sender = sender
        self.backoff = backoff
        self.lease_s = lease_s
        self.tick_s = tick_s
        self.batch = batch
        self.states: dict[str, board.State] = {}
        self.position = 0  # folded; committed up to it, or past it only by quiet batches
        self._committed_at = 0.0
        self._committed = 0
        self.caught_up = False
        self._wake = asyncio.Event()
        self._generation = 0  # counts enqueues: a channel's batch gives way to newer rows
        self._busy: set[str] = set()
        self._inflight: set[asyncio.Task[None]] = set()
        # Checked by every loop: a cancel swallowed on its way (Python 3.11's wait_for, a
        # library) must not leave a notifier retrying against a closed pool forever.
        self.stopping = False

    async def run(self) -> None:
        # Before any send, since a send reads its channel from the states; a faulted site is
        # folded again from its fault here, so a fix deployed resumes it.
        await self._load(resume=True)
        await asyncio.gather(self._fold_forever(), self._send_loop(), self._timer_loop())

    async def _fold_forever(self) -> None:
        """Fold, and after any failure (NATS or PostgreSQL away, a missed delivery) start again
        from the committed position, as the projector does: an outage must not end alerting."""
        while not self.stopping:
            try:
                await self._load()
                await self._fold_loop()
            except asyncio.CancelledError:
                raise
            except Exception:
                if self.stopping:
                    return
                log.exception("notifier failed; starting again from the committed position")
                self.caught_up = False
                await asyncio.sleep(0.5)

    async def _load(self, resume: bool = False) -> None:
        """The states up to the committed position, which a commit whose answer was lost may
        have moved past ours; swapped in whole, since sends read their channels from them.
        With `resume`, faulted sites are folded too, and the outbox rows of their events from
        the fault on are written: a site whose events all apply now is live again."""
        if resume:
            self.faults = await faults.load(self.pool, NAME)
            faults.count(NAME, self.faults)
            self.alerter.kick()
        committed = await position(self.pool, NAME)
        self._committed = committed
        if committed <= self.position:  # quiet batches folded past it: the states are ours
            return
        states = dict(self.states)
        resumed = {s: f.seq for s, f in self.faults.items() if resume and s}
        stopped = set(self.faults) - set(resumed)
        new: dict[str, Fault] = {}
        effects: list[tuple[board.State, int, e.Event]] = []
        async for seq, raw in self.log.read_raw(self.position + 1, committed):
            self._step(states, stopped, new, effects, seq, raw)
        # The others' effects were written when first folded; a resumed site's were not.
        owed = [x for x in effects if x[2].site in resumed and x[1] >= resumed[x[2].site]]
        if owed or new or resumed:
            await self._commit(owed, new, states, committed, floor=0, resumed=set(resumed))
        self.states, self.position = states, committed

    def _state(self, site: str) -> board.State:
        return self.states.get(site) or board.empty(site)

    # --- fold: events -> outbox ----------------------------------------------------------

    async def _fold_loop(self) -> None:
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
                    self._queued()
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()  # the next run binds a new subscription

    async def _fold(self, msgs: list[Any]) -> bool:
        """Fold a batch; only a batch that sends or stops a timer opens a transaction. A quiet
        batch moves the position in memory alone: replaying it after a crash writes nothing."""
        states = dict(self.states)
        effects: list[tuple[board.State, int, e.Event]] = []
        new: dict[str, Fault] = {}
        stopped = set(self.faults)
        last = self.position
        for m in msgs:
            seq = m.metadata.sequence.stream
            if seq <= last:
                continue
            last = seq
            self._step(states, stopped, new, effects, seq, m.data)
        if effects or new or time.monotonic() - self._committed_at > COMMIT_EVERY_S:
            await self._commit(effects, new, states, last)
        self.states, self.position = states, last
        return bool(effects)

    def _step(self, states: dict[str, board.State], stopped: set[str], new: dict[str, Fault],
              effects: list[tuple[board.State, int, e.Event]], seq: int, raw: bytes) -> None:
        """Fold one event into `states` unless its site is stopped; one that raises faults its
        site (into `new`), and the site's later events are passed by: never a gap."""
        try:
            if passes_by(states, raw):
                return
            event = e.decode(raw)
        except Exception as exc:
            fault = faults.of(NAME, seq, raw, exc)
            if fault.site not in stopped and fault.site not in new:
                new[fault.site] = fault
            return
        site = event.site
        if site in stopped or site in new:
            return
        before = states.get(site) or board.empty(site)
        try:
            acting = acts(before, event)
            states[site] = board.evolve(before, seq, event)
        except Exception as exc:
            new[site] = faults.of(NAME, seq, raw, exc, event)
            return
        if acting:
            effects.append((before, seq, event))

    async def _commit(self, effects: list[tuple[board.State, int, e.Event]],
                      new: dict[str, Fault], states: dict[str, board.State], last: int,
                      floor: int | None = None, resumed: set[str] | None = None) -> None:
        """Write the effects past `floor` (the committed position unless given), the faults
        and the position in one transaction. If that fails for a reason of an event's, it is
        written again effect by effect, and the site whose effect fails is faulted."""
        try:
            pos = await self._write(effects, new, states, last, floor, resumed, careful=False)
        except Exception as exc:
            if faults.transient(exc):
                raise
            log.warning("the outbox write failed (%s); writing it effect by effect", exc)
            pos = await self._write(effects, new, states, last, floor, resumed, careful=True)
        self._committed_at, self._committed = time.monotonic(), max(last, pos)
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

    async def _write(self, effects: list[tuple[board.State, int, e.Event]],
                     new: dict[str, Fault], states: dict[str, board.State], last: int,
                     floor: int | None, resumed: set[str] | None, careful: bool) -> int:
        async with self.pool.acquire() as conn, conn.transaction():
            pos = await position(conn, NAME)  # past ours: a commit whose answer was lost
            for before, seq, event in effects:
                site = event.site
                if seq <= (pos if floor is None else floor) or (
                        site in new and seq >= new[site].seq):
                    continue
                if not careful:
                    await self._effects(conn, before, seq, event)
                    continue
                try:
                    async with conn.transaction():  # a savepoint: this event's rows alone
                        await self._effects(conn, before, seq, event)
                except Exception as exc:
                    if faults.transient(exc):
                        raise
                    new[site] = faults.of(NAME, seq, None, exc, event)
                    states[site] = before  # the site waits at this event
            if new:
                await faults.record(conn, new.values())
            if resumed and resumed - set(new):
                await faults.clear(conn, NAME, resumed - set(new))
            await conn.execute(
                "INSERT INTO projection_position(name, seq) VALUES ($1,$2) ON CONFLICT "
                "(name) DO UPDATE SET seq = EXCLUDED.seq", NAME, max(last, pos))
        return pos

    async def _commit_quiet(self) -> None:
        """Idle: the position of quiet batches folded since the last commit, so a restart (and
        anyone reading positions) finds the notifier at the stream's end."""
        if self.position > self._committed:
            await self.pool.execute(
                "INSERT INTO projection_position(name, seq) VALUES ($1,$2) ON CONFLICT (name) "
                "DO UPDATE SET seq = GREATEST(projection_position.seq, EXCLUDED.seq)",
                NAME, self.position)
            self._committed, self._committed_at = self.position, time.monotonic()

    async def _effects(self, conn: asyncpg.Connection, before: board.State, seq: int,
                       event: e.Event) -> None:
        alerted: frozenset[str] = frozenset()
        if isinstance(event, e.IncidentCancelled):
            rows = await conn.fetch("SELECT DISTINCT channel FROM notifications WHERE "
                                    "incident_id=$1 AND kind IN ('alert','escalation')",
                                    event.incident_id)
            alerted = frozenset(r["channel"] for r in rows)
        for d in alert_rules.deliveries(before, event, alerted):
            await self._enqueue(conn, d, seq)
            channel = _channel(before, d.channel)
            if (isinstance(event, ESCALATE_ON) and channel and channel.escalate_after_s
                    and channel.escalate_to and d.incident_id):
                await conn.execute(
                    "INSERT INTO escalations(incident_id, channel, site, event_id, due_at) "
                    "VALUES ($1,$2,$3,$4,$5) ON CONFLICT DO NOTHING", d.incident_id,
                    d.channel, d.site, d.event_id,
                    event.occurred_at + timedelta(seconds=channel.escalate_after_s))
        if isinstance(event, STOP_TIMERS) and event.incident_id:
            await conn.execute("UPDATE escalations SET done = true WHERE incident_id=$1",
                               event.incident_id)

    @staticmethod
    async def _enqueue(conn: asyncpg.Connection, d: Delivery, seq: int) -> None:
        await conn.execute(
            "INSERT INTO notifications(event_id, channel, site, incident_id, seq, mode, kind, "
            "title, body, level, priority, supersedes) "
            "VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12) "
            "ON CONFLICT (event_id, channel) DO NOTHING", d.event_id, d.channel, d.site,
            d.incident_id, seq, d.mode, d.kind, d.title, d.body, d.level, d.priority,
            d.supersedes)

    # --- escalation timers ---------------------------------------------------------------

    async def _timer_loop(self) -> None:
        while not self.stopping:
            await asyncio.sleep(self.tick_s)
            if self.caught_up:  # an acknowledgement may still wait in the backlog
                # A database or stream away: the next tick tries again, the timer stays due.
                try:
                    await self._escalate_due()
                except OUTAGE as exc:
                    log.warning("cannot escalate now: %s", exc)
                except Exception:  # whatever it is, the loop must live to the next tick
                    log.exception("escalation tick failed; trying again")

    async def _escalate_due(self) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            due = await conn.fetch(
                "SELECT e.*, n.title, n.body, n.level, n.mode, n.seq, n.priority FROM "
                "escalations e JOIN "
                "notifications n ON n.event_id = e.event_id AND n.channel = e.channel "
                "WHERE NOT e.done AND e.due_at <= now() FOR UPDATE OF e SKIP LOCKED")
            for row in due:
                try:
                    async with conn.transaction():  # a savepoint: this timer's rows alone
                        await self._escalate(conn, row)
                except Exception as exc:
                    if faults.transient(exc) or isinstance(exc, Unavailable):
                        raise
                    # One site's timer that cannot escalate never holds back another site's.
                    log.error("escalation of %s on %s at site %r failed, dropped: %s",
                              row["event_id"], row["channel"], row["site"], exc, exc_info=exc)
                await conn.execute("UPDATE escalations SET done = true WHERE incident_id=$1 "
                                   "AND channel=$2", row["incident_id"], row["channel"])
        if due:
            self._queued()

    async def _escalate(self, conn: asyncpg.Connection, row: asyncpg.Record) -> None:
        state = self._state(row["site"])
        channel = _channel(state, row["channel"])
        case = state.cases.get(row["incident_id"])  # silent until a commander's protocol, now
        original = Delivery(channel=row["channel"], event_id=row["event_id"],
                            site=row["site"], incident_id=row["incident_id"],
                            mode=row["mode"], kind="alert", title=row["title"],
                            body=row["body"], level=row["level"], priority=row["priority"],
                            silent=case is not None and case.incident.silent)
        targets = []
        for name in channel.escalate_to if channel else []:
            target = _channel(state, name)
            d = alert_rules.escalation(original, target, channel.escalate_after_s or 0) \
                if target and channel else None
            if d is not None:
                await self._enqueue(conn, d, row["seq"])
                targets.append(name)
        await self._record(e.NotificationEscalated, row["site"], row["incident_id"],
                           row["mode"], e.NotificationEscalatedData(
                               channel=row["channel"], to=targets, event_id=row["event_id"]),
                           record_id(row["event_id"], row["channel"], "escalated"))

    # --- sending -------------------------------------------------------------------------

    def _queued(self) -> None:
        """New rows are in the outbox: claim them, and let batches in flight give way."""
        self._generation += 1
        self._wake.set()

    async def _send_loop(self) -> None:
        while not self.stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.tick_s)
            self._wake.clear()
            generation = self._generation
            try:
                rows = await self._claim()
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

    async def _claim(self) -> list[asyncpg.Record]:
        """Each channel's due rows not in flight here, up to `batch`, ranked most urgent first;
        before that, an incident's state messages that failed give way to its newest."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(outbox.SUPERSEDE, STATE)
            return await conn.fetch(outbox.CLAIM, self.lease_s, list(self._busy), self.batch,
                                    STATE)

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
                channel = _channel(self._state(d.site), d.channel)
                error = ("the channel is no longer configured" if channel is None
                         else await self.sender.send(channel, d))
                records.append(asyncio.create_task(self._settle(d, row["attempts"], error)))
                # Newer rows may outrank the rest, unless the rest are extreme alerts themselves:
                # a lockdown's presses then go in one batch, not one claim each.
                rest = rows[i + 1:]
                if error is not None or (generation != self._generation and rest
                                         and rest[0]["priority"] < URGENT):
                    await self._unclaim(rest)
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
            await self._record(e.NotificationSent, d.site, d.incident_id, d.mode,
                               e.NotificationSentData(channel=d.channel, event_id=d.event_id,
                                                      attempt=attempt),
                               record_id(d.event_id, d.channel, "sent"))
            await self.pool.execute(
                "UPDATE notifications SET status='sent', sent_at=now(), error=NULL "
                "WHERE event_id=$1 AND channel=$2", d.event_id, d.channel)
            return
        final = attempt > len(self.backoff)
        await self._record(e.NotificationFailed, d.site, d.incident_id, d.mode,
                           e.NotificationFailedData(channel=d.channel, event_id=d.event_id,
                                                    attempt=attempt, error=error),
                           record_id(d.event_id, d.channel, attempt, "failed"))
        delay = 0.0 if final else self.backoff[attempt - 1]
        await self.pool.execute(  # a row superseded meanwhile stays so: a newer one speaks
            "UPDATE notifications SET status=$3, error=$4, "
            "next_at = now() + make_interval(secs => $5) WHERE event_id=$1 AND channel=$2 "
            "AND status <> 'superseded'",
            d.event_id, d.channel, "failed" if final else "pending", error, delay)

    async def _unclaim(self, rows: list[dict[str, Any]]) -> None:
        """Claimed rows never tried: back to pending, without spending one of their attempts."""
        if rows:
            await self.pool.execute(
                "UPDATE notifications SET status='pending', attempts=attempts-1, next_at=now() "
                "WHERE (event_id, channel) IN (SELECT * FROM unnest($1::text[], $2::text[]))",
                [r["event_id"] for r in rows], [r["channel"] for r in rows])

    async def _record(self, cls: type[e.Envelope], site: str, incident_id: str | None,
                      mode: str, data: msgspec.Struct, event_id: str) -> None:
        now = datetime.now(UTC)
        event = cls(id=event_id, site=site, incident_id=incident_id, mode=mode,  # type: ignore[call-arg]
                    occurred_at=now, recorded_at=now, actor=ACTOR, data=data)
        with contextlib.suppress(Duplicate):
            await self.log.append(site, [event], expected_last=None)

    async def stop(self) -> None:
        """Sends in flight are cancelled (their leases send them again); `run` then returns
        within a fetch's timeout even if nobody cancels it."""
        self.stopping = True
        tasks = list(self._inflight)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _channel(state: board.State, name: str) -> Channel | None:
    config = state.config
    return next((c for c in config.channels if c.name == name), None) if config else None
