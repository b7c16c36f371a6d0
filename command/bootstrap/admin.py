"""Administrative commands behind `muster token …` and `muster audit`, on real connections."""

import re
from datetime import UTC, datetime, timedelta

import asyncpg

from command.domain import events as e
from command.infra import auth
from command.infra.eventlog import EventLog

_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def expiry(text: str | None, now: datetime | None = None) -> datetime | None:
    """`30m`, `12h`, `7d` from now, or an ISO 8601 time; None for no expiry."""
    if not text:
        return None
    match = _DURATION.match(text.strip())
    now = now or datetime.now(UTC)
    if match:
        return now + timedelta(**{_UNITS[match[2]]: int(match[1])})
    at = datetime.fromisoformat(text)
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _when(at: datetime | None) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ") if at else "-"


async def token_table(pool: asyncpg.Pool) -> list[str]:
    lines = [f"{'NAME':<28} {'ROLE':<10} {'SITE':<16} {'CREATED':<21} {'EXPIRES':<21} "
             f"{'LAST USED':<21} STATE"]
    for t in await auth.listing(pool):
        expired = t.expires_at is not None and t.expires_at <= datetime.now(UTC)
        state = "revoked" if t.revoked_at else "expired" if expired else "active"
        lines.append(f"{t.name:<28} {t.role:<10} {t.site:<16} {_when(t.created_at):<21} "
                     f"{_when(t.expires_at):<21} {_when(t.last_used_at):<21} {state}")
    return lines


def _actor(actor: e.Actor) -> str:
    return f"{actor.kind}:{actor.id}" + (f" ({actor.role})" if actor.role else "")


async def audit(log: EventLog, site: str | None = None, since: datetime | None = None,
                ) -> list[str]:
    """Who did what, when: one line per event, from the stream (the only source of truth)."""
    lines = [f"{'SEQ':>6}  {'RECORDED (UTC)':<20}  {'SITE':<14}  {'INCIDENT':<36}  "
             f"{'TYPE':<22}  ACTOR"]
    async for seq, event in log.read(1):
        if site and event.site != site:
            continue
        if since and event.recorded_at < since:
            continue
        lines.append(f"{seq:>6}  {_when(event.recorded_at):<20}  {event.site:<14}  "
                     f"{event.incident_id or '-':<36}  {e.type_of(event):<22}  "
                     f"{_actor(event.actor)}"
                     + (f"  [{event.mode}]" if event.mode in ("drill", "tabletop") else ""))
    return lines
