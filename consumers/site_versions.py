"""The site files a site has had (the site_versions read model), and which one was in force
when an incident opened: a past drill is folded with its own file, not today's; and an
incident's events with the config changes made while it was open (`interleaved`, `history`),
so the desk and a replay fold it as the board and intake did."""

from bisect import bisect_left
from collections.abc import Iterable, Sequence

import asyncpg

from command.domain import events as e
from command.domain.site import Site

ENDS = (e.IncidentClosed, e.IncidentCancelled)


async def seqs(pool: asyncpg.Pool, site: str) -> list[int]:
    """The sequences of the events that set `site`'s config (a SiteConfigured, a RosterChanged,
    an AwayEventScheduled) the read models hold, in order."""
    return [r["seq"] for r in await pool.fetch(
        "SELECT seq FROM site_versions WHERE site=$1 ORDER BY seq", site)]


def before(versions: list[int], first: int) -> int | None:
    """The version in force at `first` (an incident's first sequence): the last one before it.
    None when the read models hold none that early (a database projected before versions were
    kept): the caller then folds with the site's current file."""
    i = bisect_left(versions, first)
    return versions[i - 1] if i else None


async def configs(pool: asyncpg.Pool, site: str, wanted: set[int]) -> dict[int, Site]:
    """The site files of `site` set at the sequences `wanted`."""
    if not wanted:
        return {}
    rows = await pool.fetch("SELECT seq, config FROM site_versions WHERE site=$1 "
                            "AND seq = ANY($2::bigint[])", site, sorted(wanted))
    return {r["seq"]: e.decode_site(r["config"]) for r in rows}


def interleaved(events: Sequence[tuple[int, e.Event]], changes: Iterable[tuple[int, e.Event]],
                ) -> list[tuple[int, e.Event]]:
    """The incident's events (with their sequences) and the site's config changes made after
    its first event and before its end, merged by sequence: the order the board and intake
    folded them in (pure). The config before the first event is the caller's starting file."""
    if not events:
        return []
    first = min(seq for seq, _ in events)
    end = min((seq for seq, ev in events if isinstance(ev, ENDS)), default=None)
    kept = [(seq, ev) for seq, ev in changes if seq > first and (end is None or seq < end)]
    return sorted([*events, *kept], key=lambda x: x[0])


async def history(pool: asyncpg.Pool, site: str, events: Sequence[tuple[int, e.Event]],
                  ) -> tuple[Site | None, list[tuple[int, e.Event]]]:
    """The file in force at the incident's first event (None when the read models hold none
    that early) and its events interleaved with the config changes made while it was open."""
    if not events:
        return None, []
    first = events[0][0]
    rows = await pool.fetch("SELECT seq, config, event FROM site_versions WHERE site=$1 "
                            "AND seq >= (SELECT coalesce(max(seq), 0) FROM site_versions "
                            "WHERE site=$1 AND seq < $2) ORDER BY seq", site, first)
    start = e.decode_site(rows[0]["config"]) if rows and rows[0]["seq"] < first else None
    changes = [(r["seq"], _change(site, r["config"], r["event"], events)) for r in rows
               if r["seq"] > first]
    return start, interleaved(events, changes)


def _change(site: str, config: str, event: str | None,
            events: Sequence[tuple[int, e.Event]]) -> e.Event:
    """A version as the event that set it: an away event's own (its time places its people),
    else a site file that gives the version's config, as a file or an import did."""
    if event is not None:
        return e.decode(event.encode())
    at = events[0][1].occurred_at
    return e.SiteConfigured(id=f"version-{site}", site=site, occurred_at=at, recorded_at=at,
                            data=e.decode_site(config))
