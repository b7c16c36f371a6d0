"""A site's earlier drills of the same kind, for the report's comparison, from the read models
(HTTP) or from the stream (`muster report`, which needs no database)."""

import asyncpg

from command.domain import events as e
from command.domain.drill_log import DrillRow
from command.domain.report import HISTORY
from command.domain.report_compare import COMPARED_MODES, earlier_rows, may_be_same_kind
from command.domain.site import Site
from command.infra.eventlog import EventLog
from consumers import site_versions

SCANNED = 200  # earlier incidents whose kind is looked at
READ = 2 * HISTORY  # of those that may be of the same kind, the newest whose events are read


async def from_read_models(pool: asyncpg.Pool, record: DrillRow, config: Site | None,
                           ) -> list[DrillRow]:
    """The rows of the site's drills and live incidents opened before `record`'s that may be of
    its kind (the report keeps those that are), each folded with the site file in force when it
    opened, else (a database projected before site files were kept) with `config`."""
    found = await pool.fetch(
        "SELECT id, kind, action FROM incidents WHERE site=$1 AND id<>$2 AND opened_at<$3 "
        "AND mode = ANY($4::text[]) ORDER BY opened_at DESC LIMIT $5", record.site,
        record.incident_id, record.started_at, list(COMPARED_MODES), SCANNED)
    ids = [r["id"] for r in found if may_be_same_kind(record, r["kind"], r["action"])][:READ]
    if not ids:
        return []
    rows = await pool.fetch("SELECT seq, event FROM timeline WHERE incident_id = ANY($1::text[])"
                            " ORDER BY seq", ids)
    grouped: dict[str, list[tuple[int, e.Event]]] = {}
    for r in rows:  # in seq order, so each group's first is its opening
        ev = e.decode(r["event"].encode())
        grouped.setdefault(ev.incident_id or "", []).append((r["seq"], ev))
    versions = await site_versions.seqs(pool, record.site)
    chosen = {iid: site_versions.before(versions, events[0][0])
              for iid, events in grouped.items()}
    files = await site_versions.configs(pool, record.site,
                                        {v for v in chosen.values() if v is not None})
    return [row for iid, events in grouped.items()
            for row in earlier_rows(events, config if chosen[iid] is None
                                    else files.get(chosen[iid], config))]


async def from_stream(log: EventLog, site: str, until_seq: int) -> list[DrillRow]:
    """The rows of every drill and live incident of `site` in the stream up to `until_seq`,
    each folded with the site file it was held under."""
    events = [(seq, e.decode(raw)) async for seq, raw in log.read_site(site, 1, until_seq)]
    return earlier_rows(events)
