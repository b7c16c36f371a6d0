"""A site's earlier drills for the report's comparison: each drill and live incident in a run of
the site's events, as its drill-log row, each folded with the site file it was held under."""

from collections.abc import Iterable

from command.domain import drill_log
from command.domain import events as e
from command.domain.drill_log import DrillRow
from command.domain.site import Site

COMPARED_MODES = ("drill", "live")  # a tabletop or a replay is no drill to compare with


def rows(events: Iterable[tuple[int, e.Event]], config: Site | None = None) -> list[DrillRow]:
    """Every drill and live incident opened among `events` (a site's, any order), as its row;
    each is folded with the last site file before its opening, else `config`."""
    latest: tuple[int, e.Event] | None = None
    groups: dict[str, list[tuple[int, e.Event]]] = {}
    for seq, ev in sorted(events, key=lambda x: x[0]):
        if isinstance(ev, e.SiteConfigured):
            latest = (seq, ev)
        elif ev.incident_id in groups:
            groups[ev.incident_id].append((seq, ev))
        elif isinstance(ev, e.IncidentOpened) and ev.incident_id and ev.mode in COMPARED_MODES:
            groups[ev.incident_id] = [*([latest] if latest else []), (seq, ev)]
    return [drill_log.row(found, config, incident_id=iid) for iid, found in groups.items()]
