"""The site files a site has had (the site_versions read model), and which one was in force
when an incident opened: a past drill is folded with its own file, not today's."""

from bisect import bisect_left

import asyncpg

from command.domain import events as e
from command.domain.site import Site


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
