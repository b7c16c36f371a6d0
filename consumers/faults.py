"""Faulted sites: a consumer that cannot apply one of a site's events stops that site alone.

The first event of a site a consumer could not apply is recorded (`consumer_faults`, in the
transaction that moves the consumer's position), the site's later events are passed by, so they
are never applied out of order or with a gap, and every other site goes on. The operator hears
of it once, through an Apprise URL of their own, never through a site's channels. A consumer
starting again (a fix deployed) folds a faulted site's events again from the faulted one.
"""

import asyncio
import logging
from collections.abc import Iterable
from datetime import UTC, datetime

import asyncpg
import msgspec
from prometheus_client import Gauge

from command.domain import events as e
from command.domain.errors import Unavailable
from consumers.sender import _send_blocking

log = logging.getLogger("muster.faults")
# One series per consumer, not per site: the sites are in /readyz and the log.
FAULTED = Gauge("muster_consumer_faulted_sites",
                "Sites a consumer stopped applying at an event it could not apply", ["consumer"])
ALERT_TIMEOUT_S = 10.0
# Connection, resources, operator intervention (a cancelled statement), rollback, system: the
# database's trouble, not the event's; the consumer starts again instead of faulting a site.
TRANSIENT_SQLSTATE = ("08", "53", "57", "40", "58")
# PostgreSQL or NATS away: a closed connection under a transaction is asyncpg's InterfaceError,
# not a PostgresError (it ended the notifier's send loop for good in a CI run of test_crashes).
OUTAGE = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, Unavailable)


class Fault(msgspec.Struct, frozen=True, kw_only=True):
    consumer: str
    site: str
    seq: int
    event_id: str
    type: str
    error: str
    at: datetime = msgspec.field(default_factory=lambda: datetime.now(UTC))


class _Head(msgspec.Struct):
    site: str = ""
    type: str = ""
    id: str = ""


_head = msgspec.json.Decoder(_Head)


def transient(exc: BaseException) -> bool:
    """Whether `exc` says the database or the stream is away, not that the event is bad."""
    # InternalClientError: a connection cut mid-operation ("cannot switch to state …").
    if isinstance(exc, (OSError, TimeoutError, asyncpg.InterfaceError,
                        asyncpg.exceptions.InternalClientError)):
        return True
    return isinstance(exc, asyncpg.PostgresError) and str(
        getattr(exc, "sqlstate", "") or "").startswith(TRANSIENT_SQLSTATE)


def of(consumer: str, seq: int, raw: bytes | None, exc: BaseException,
       event: e.Envelope | None = None) -> Fault:
    """The fault for the event at `seq`, from the event or, if it does not decode, its bytes
    (an event whose site cannot be read at all is the site "")."""
    if event is not None:
        site, kind, event_id = event.site, e.type_of(event), event.id
    else:
        try:
            head = _head.decode(raw or b"")
            site, kind, event_id = head.site, head.type, head.id
        except msgspec.DecodeError:
            site, kind, event_id = "", "", ""
    return Fault(consumer=consumer, site=site, seq=seq, event_id=event_id, type=kind,
                 error=f"{type(exc).__name__}: {exc}"[:500])


def report(fault: Fault, exc: BaseException | None = None) -> None:
    log.error("%s stopped site %r at seq %d (event %s, %s): %s; its other sites go on",
              fault.consumer, fault.site, fault.seq, fault.event_id or "?", fault.type or "?",
              fault.error, exc_info=exc)


def count(consumer: str, faults: dict[str, Fault]) -> None:
    FAULTED.labels(consumer).set(len(faults))


async def load(conn: asyncpg.Connection | asyncpg.Pool, consumer: str) -> dict[str, Fault]:
    rows = await conn.fetch("SELECT consumer, site, seq, event_id, type, error, at FROM "
                            "consumer_faults WHERE consumer=$1", consumer)
    return {r["site"]: Fault(**dict(r)) for r in rows}


async def load_all(conn: asyncpg.Connection | asyncpg.Pool) -> list[Fault]:
    rows = await conn.fetch("SELECT consumer, site, seq, event_id, type, error, at FROM "
                            "consumer_faults ORDER BY consumer, site")
    return [Fault(**dict(r)) for r in rows]


async def record(conn: asyncpg.Connection, faults: Iterable[Fault]) -> None:
    """Write faults; a site faulted again at a resume keeps one row, at the seq it now stops
    at (its alert is owed again only if that seq moved)."""
    await conn.executemany(
        "INSERT INTO consumer_faults(consumer, site, seq, event_id, type, error, at) "
        "VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT (consumer, site) DO UPDATE SET "
        "seq=EXCLUDED.seq, event_id=EXCLUDED.event_id, type=EXCLUDED.type, "
        "error=EXCLUDED.error, alerted = consumer_faults.alerted AND "
        "consumer_faults.seq = EXCLUDED.seq",
        [(f.consumer, f.site, f.seq, f.event_id, f.type, f.error, f.at) for f in faults])


async def clear(conn: asyncpg.Connection, consumer: str, sites: Iterable[str]) -> None:
    await conn.execute("DELETE FROM consumer_faults WHERE consumer=$1 AND site = ANY($2)",
                       consumer, list(sites))


def message(fault: Fault) -> tuple[str, str]:
    return (f"[MUSTER] {fault.consumer} stopped site {fault.site or '?'}",
            f"The {fault.consumer} could not apply event {fault.event_id or '?'} "
            f"({fault.type or 'unreadable'}, seq {fault.seq}) of site {fault.site or '?'} and "
            f"passes that site's later events by; every other site goes on. Error: "
            f"{fault.error}. Deploy a fix and restart Muster: the site is folded again from "
            f"seq {fault.seq}.")


async def alert(url: str, fault: Fault) -> str | None:
    """One operator alert through Apprise (off the loop); None when it was accepted."""
    if not url:
        return "no operator alert URL (MUSTER_OPERATOR_ALERT_URL) is set"
    title, body = message(fault)
    try:
        return await asyncio.wait_for(asyncio.to_thread(
            _send_blocking, url, title, body, "failure", ALERT_TIMEOUT_S), ALERT_TIMEOUT_S + 1)
    except Exception as exc:  # an operator alert must never stop a consumer
        return f"{type(exc).__name__}: {exc}"


async def alert_unsent(pool: asyncpg.Pool, consumer: str, url: str) -> None:
    """Alert the operator of each of the consumer's faults not yet alerted, once: a fault is
    marked alerted only after Apprise took it, so a crash in between alerts it again."""
    rows = await pool.fetch(
        "SELECT consumer, site, seq, event_id, type, error, at FROM consumer_faults "
        "WHERE consumer=$1 AND NOT alerted", consumer)
    for row in rows:
        fault = Fault(**dict(row))
        error = await alert(url, fault)
        if error is not None:
            log.warning("operator alert for %s at site %r not sent: %s", consumer,
                        fault.site, error)
            continue
        await pool.execute("UPDATE consumer_faults SET alerted = true WHERE consumer=$1 AND "
                           "site=$2 AND seq=$3", consumer, fault.site, fault.seq)


async def alert_logged(url: str, fault: Fault) -> None:
    """An alert for a consumer that keeps no faults in PostgreSQL (the live boards)."""
    error = await alert(url, fault)
    if error is not None:
        log.warning("operator alert for %s at site %r not sent: %s", fault.consumer,
                    fault.site, error)


class Alerter:
    """Operator alerts in the background: a slow Apprise URL never holds a fold."""

    def __init__(self, pool: asyncpg.Pool | None, consumer: str, url: str) -> None:
        self.pool = pool
        self.consumer = consumer
        self.url = url
        self._task: asyncio.Task[None] | None = None
        self._again = False

    def kick(self) -> None:
        if self.pool is None:
            return
        if self._task is not None and not self._task.done():
            self._again = True  # the running pass may have read the faults before this one
            return
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        assert self.pool is not None
        while True:
            self._again = False
            try:
                await alert_unsent(self.pool, self.consumer, self.url)
            except Exception as exc:  # the database away: the next fault or start tries again
                log.warning("operator alerts for %s not sent: %s", self.consumer, exc)
            if not self._again:
                return

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
