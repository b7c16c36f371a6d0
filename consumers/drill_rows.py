"""A site's drill-log rows for a school year, read from the read models (the incidents and
timeline tables, and the site's files), each folded by the pure `drill_log.row` with the site
file in force when the incident opened (consumers/site_versions.py), as `muster report` does.

Rows are computed on request; a row is kept in memory by its incident's id, the last sequence of
its timeline and its site file's sequence, so an incident is folded again only once something
new happened to it (a late send, a sign-off).
"""

from datetime import tzinfo

import asyncpg

from command.domain import drill_log
from command.domain import events as e
from command.domain.drill_log import DrillRow
from command.domain.school_year import SchoolYear
from command.domain.site import Site, zone
from consumers import site_versions

Key = tuple[str, int, int]  # incident id, last timeline seq, site file seq
KEPT = 20_000  # rows kept in memory: a district's few years of drills


class Sites:
    """What the read models know of the sites: each site's file, by id."""

    def __init__(self, rows: list[asyncpg.Record]) -> None:
        self.configs: dict[str, tuple[int, Site]] = {
            r["site"]: (r["seq"], e.decode_site(r["config"])) for r in rows}

    @classmethod
    async def read(cls, pool: asyncpg.Pool, site: str | None = None) -> "Sites":
        if site is None:
            return cls(await pool.fetch("SELECT site, seq, config FROM sites ORDER BY site"))
        return cls(await pool.fetch("SELECT site, seq, config FROM sites WHERE site=$1", site))

    def in_district(self, district: str) -> list[str]:
        return [s for s, (_, cfg) in self.configs.items() if cfg.district == district]

    def config(self, site: str) -> Site | None:
        found = self.configs.get(site)
        return found[1] if found else None

    def zone(self, site: str) -> tzinfo:
        return zone(self.config(site))


class DrillRows:
    """Drill-log rows from the read models, each kept until its incident changes."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.kept: dict[Key, DrillRow] = {}

    async def of_site(self, sites: Sites, site: str, year: SchoolYear) -> list[DrillRow]:
        """The school year's rows of `site`, in start order, replays left out."""
        found = sites.configs.get(site)
        config = found[1] if found else None
        start, end = year.bounds(zone(config))
        incidents = await self.pool.fetch(
            "SELECT i.id, t.first, t.last FROM incidents i LEFT JOIN LATERAL (SELECT min(seq) "
            "AS first, max(seq) AS last FROM timeline WHERE incident_id = i.id) t ON true "
            "WHERE i.site=$1 AND i.mode <> 'replay' AND i.opened_at >= $2 AND i.opened_at < $3 "
            "ORDER BY i.opened_at", site, start, end)
        versions = await site_versions.seqs(self.pool, site) if incidents else []
        current = found[0] if found else 0
        keys = {}
        for r in incidents:
            version = site_versions.before(versions, r["first"]) if r["first"] else None
            keys[r["id"]] = (r["id"], r["last"] or 0, current if version is None else version)
        missing = [iid for iid, key in keys.items() if key not in self.kept]
        if missing:
            wanted = {keys[iid][2] for iid in missing} - {current}
            files = await site_versions.configs(self.pool, site, wanted)
            await self._fold(missing, keys, files, config)
        return drill_log.log([self.kept[k] for k in keys.values() if k in self.kept], year,
                             zone(config))

    async def _fold(self, ids: list[str], keys: dict[str, Key],
                    files: dict[int, Site], config: Site | None) -> None:
        """Fold `ids`, each with its own site file (`files`, by its key's sequence), else with
        the current one, `config`."""
        records = await self.pool.fetch(
            "SELECT seq, event FROM timeline WHERE incident_id = ANY($1::text[]) ORDER BY seq",
            ids)
        grouped: dict[str, list[tuple[int, e.Event]]] = {iid: [] for iid in ids}
        for r in records:
            ev = e.decode(r["event"].encode())
            grouped[ev.incident_id or ""].append((r["seq"], ev))
        if len(self.kept) + len(ids) > KEPT:
            self.kept.clear()
        for iid, events in grouped.items():
            if events:  # an incident whose events are not yet projected is listed next time
                self.kept[keys[iid]] = drill_log.row(events, files.get(keys[iid][2], config),
                                                     incident_id=iid)
