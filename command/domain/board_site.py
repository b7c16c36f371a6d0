"""The parts of a board that come from the site file alone: the roster by room, the floor plan
and the places people go. They change only when the site file does, so a board keeps them by
the site file's identity and an update never carries them otherwise (board_render.diff).
"""

from typing import Any

from command.domain.site import Site, shape


def roster_by_room(config: Site | None) -> dict[str, list[dict[str, str]]]:
    """Everyone on the roster by home room ("" for no room), in roster order, so a teacher's
    room report can tick the missing and the injured by name. For roster roles only."""
    if config is None:
        return {}
    rooms: dict[str, list[dict[str, str]]] = {}
    for p in config.people:
        rooms.setdefault(p.room or "", []).append({"id": p.id, "name": p.name, "kind": p.kind})
    # A bus's riders and an away event's people and chaperones, so its report ticks them too.
    by_id = {p.id: p for p in config.people}
    for bus in config.buses:
        rooms[bus.id] = [{"id": i, "name": by_id[i].name, "kind": by_id[i].kind}
                         for i in bus.riders if i in by_id]
    for event in config.away_events:
        rooms[event.id] = [{"id": i, "name": by_id[i].name, "kind": by_id[i].kind}
                           for i in event.people if i in by_id]
        rooms[event.id] += [{"id": c.id, "name": c.name, "kind": "chaperone"}
                            for c in event.chaperones]
    return rooms


def plan(config: Site | None) -> dict[str, dict[str, Any]] | None:
    """Each room's geometry on its floor, by room id; None when no room has any (the page
    then lays rooms out by zone)."""
    if config is None:
        return None
    shapes = {r.id: s for r in config.rooms if (s := shape(r)) is not None}
    return shapes or None


def places(config: Site | None) -> list[dict[str, Any]]:
    """The site's evacuation sites: where people assemble and where families reunite."""
    if config is None:
        return []
    return [{"id": p.id, "name": p.name, "kind": p.kind, "off_site": p.off_site,
             "address": p.address} for p in config.evacuation_sites]
