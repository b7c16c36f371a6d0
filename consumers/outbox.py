"""The notifier's outbox in PostgreSQL: the one home of its SQL (`notifications`, the rows a
channel sends, and `escalations`, their timers).

Rows are ranked by `priority` (command/domain/alert_rules.py); $1 or $4 below is its STATE, at and
above which a row says an incident's state.
"""

from datetime import datetime
from typing import Any

import asyncpg

from command.domain.alert_rules import STATE, Delivery

# An incident's message ($1: alert_rules.STATE) that failed and waits for a retry is superseded
# by the incident's newest state on that channel (a protocol, its lifting, a false alarm; never
# another press), which then names it (`replaces`).
SUPERSEDE = (
    "WITH open AS (SELECT DISTINCT site, channel, incident_id FROM notifications "
    "WHERE status IN ('pending','sending') AND attempts > 0 AND priority >= $1 "
    "AND incident_id IS NOT NULL), "
    "latest AS (SELECT DISTINCT ON (n.site, n.channel, n.incident_id) n.site, n.channel, "
    "n.incident_id, n.id, n.event_id FROM notifications n JOIN open USING "
    "(site, channel, incident_id) WHERE n.priority >= $1 AND n.supersedes "
    "ORDER BY n.site, n.channel, n.incident_id, n.id DESC), "
    "gone AS (UPDATE notifications n SET status='superseded', superseded_by=l.event_id "
    "FROM latest l WHERE (n.site, n.channel, n.incident_id) = (l.site, l.channel, l.incident_id) "
    "AND n.id < l.id AND n.priority >= $1 AND n.attempts > 0 "
    "AND (n.status = 'pending' OR (n.status = 'sending' AND n.next_at <= now())) "
    "RETURNING n.event_id, n.channel, l.event_id AS by) "
    "UPDATE notifications n SET superseded_by = g.by FROM gone g "  # a chain names the newest
    "WHERE n.status = 'superseded' AND n.superseded_by = g.event_id AND n.channel = g.channel")
# Due rows, ranked per channel: by priority, an incident's states together, newest incident
# first and oldest first within it (so a lockdown's presses go in one batch, in order; a secure
# never lands after the lockdown that followed it), routine records oldest first. An incident's
# later state waits while an earlier one is in backoff or in flight, so an alert is never
# overtaken by its own all clear.
CLAIM = (
    "WITH due AS (SELECT n.event_id, n.channel, n.site, n.incident_id, n.id, n.priority, "
    "(n.priority >= $4 AND n.incident_id IS NOT NULL) AS state FROM notifications n "
    "WHERE status IN ('pending','sending') AND next_at <= now() "
    "AND NOT (site || '/' || channel = ANY($2::text[])) "
    "AND (priority < $4 OR incident_id IS NULL OR NOT EXISTS (SELECT 1 FROM notifications o "
    "WHERE o.site = n.site AND o.channel = n.channel AND o.incident_id = n.incident_id "
    "AND o.priority >= $4 AND o.status IN ('pending','sending') AND o.next_at > now() "
    "AND o.id < n.id))), "
    "grouped AS (SELECT d.*, CASE WHEN state THEN max(priority) OVER g ELSE priority END AS gp, "
    "CASE WHEN state THEN max(id) OVER g ELSE -id END AS gn FROM due d "
    "WINDOW g AS (PARTITION BY site, channel, incident_id, state)), "
    "ranked AS (SELECT event_id, channel, row_number() OVER (PARTITION BY site, channel "
    "ORDER BY gp DESC, gn DESC, id) AS rank FROM grouped) "
    "UPDATE notifications n SET status='sending', attempts=n.attempts+1, "
    "next_at = now() + make_interval(secs => $1) FROM ranked r "
    "WHERE n.event_id=r.event_id AND n.channel=r.channel AND r.rank <= $3 "
    "RETURNING n.*, r.rank, ARRAY(SELECT s.title FROM notifications s "
    "WHERE s.superseded_by = n.event_id AND s.channel = n.channel ORDER BY s.id) AS replaces")


async def enqueue(conn: asyncpg.Connection, sends: list[Delivery], seq: int) -> None:
    """An event's (event, channel) rows, in order, in one round trip; written again after a
    crash, the first stand."""
    await conn.executemany(
        "INSERT INTO notifications(event_id, channel, site, incident_id, seq, mode, kind, "
        "title, body, level, priority, supersedes) "
        "VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12) "
        "ON CONFLICT (event_id, channel) DO NOTHING",
        [(d.event_id, d.channel, d.site, d.incident_id, seq, d.mode, d.kind, d.title, d.body,
          d.level, d.priority, d.supersedes) for d in sends])


async def backlog(pool: asyncpg.Pool) -> tuple[int, float]:
    """Messages not yet sent, and the oldest one's wait in seconds; Handle With Care aside, as a
    count of them would tell a notice was issued."""
    row = await pool.fetchrow(
        "SELECT count(*) AS n, coalesce(extract(epoch FROM now() - min(created_at)), 0) AS age "
        "FROM notifications WHERE status IN ('pending','sending') AND kind <> 'handle_with_care'")
    return int(row["n"]), float(row["age"])


async def alerted(conn: asyncpg.Connection, incident_id: str | None) -> frozenset[str]:
    """The channels that got an incident's alerts or escalations: its false alarm goes there."""
    rows = await conn.fetch("SELECT DISTINCT channel FROM notifications WHERE incident_id=$1 "
                            "AND kind IN ('alert','escalation')", incident_id)
    return frozenset(r["channel"] for r in rows)


async def claim(pool: asyncpg.Pool, lease_s: float, busy: list[str],
                batch: int) -> list[asyncpg.Record]:
    """Each channel's due rows not `busy` here, up to `batch`, leased for `lease_s` and ranked
    most urgent first; before that, an incident's failed state messages give way to its newest."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(SUPERSEDE, STATE)
        return await conn.fetch(CLAIM, lease_s, busy, batch, STATE)


async def sent(pool: asyncpg.Pool, d: Delivery) -> None:
    await pool.execute("UPDATE notifications SET status='sent', sent_at=now(), error=NULL "
                       "WHERE event_id=$1 AND channel=$2", d.event_id, d.channel)


async def failed(pool: asyncpg.Pool, d: Delivery, error: str, final: bool,
                 delay_s: float) -> None:
    """A failed send: tried again after `delay_s`, or given up for good when `final`."""
    await pool.execute(  # a row superseded meanwhile stays so: a newer one speaks
        "UPDATE notifications SET status=$3, error=$4, "
        "next_at = now() + make_interval(secs => $5) WHERE event_id=$1 AND channel=$2 "
        "AND status <> 'superseded'",
        d.event_id, d.channel, "failed" if final else "pending", error, delay_s)


async def unclaim(pool: asyncpg.Pool, rows: list[dict[str, Any]]) -> None:
    """Claimed rows never tried: back to pending, without spending one of their attempts."""
    if rows:
        await pool.execute(
            "UPDATE notifications SET status='pending', attempts=attempts-1, next_at=now() "
            "WHERE (event_id, channel) IN (SELECT * FROM unnest($1::text[], $2::text[]))",
            [r["event_id"] for r in rows], [r["channel"] for r in rows])


# --- escalation timers: one per (incident, channel) alerted, until acknowledged ------------

async def start_timers(conn: asyncpg.Connection,
                       timers: list[tuple[Delivery, datetime]]) -> None:
    """Each (delivery, due) pair's escalation timer, in one round trip."""
    await conn.executemany(
        "INSERT INTO escalations(incident_id, channel, site, event_id, due_at) "
        "VALUES ($1,$2,$3,$4,$5) ON CONFLICT DO NOTHING",
        [(d.incident_id, d.channel, d.site, d.event_id, due) for d, due in timers])


async def stop_timers(conn: asyncpg.Connection, incident_id: str,
                      channel: str | None = None) -> None:
    """An incident's timers (or its timer on one `channel`) never fire again."""
    if channel is None:
        await conn.execute("UPDATE escalations SET done = true WHERE incident_id=$1",
                           incident_id)
    else:
        await conn.execute("UPDATE escalations SET done = true WHERE incident_id=$1 "
                           "AND channel=$2", incident_id, channel)


async def due_timers(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """Timers due, each with its original row's words, locked for this transaction alone."""
    return await conn.fetch(
        "SELECT e.*, n.title, n.body, n.level, n.mode, n.seq, n.priority FROM "
        "escalations e JOIN "
        "notifications n ON n.event_id = e.event_id AND n.channel = e.channel "
        "WHERE NOT e.done AND e.due_at <= now() FOR UPDATE OF e SKIP LOCKED")
