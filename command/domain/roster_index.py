"""A site file's roster, indexed once per imported file: the board folds read it on every event.

Each index is computed the first time a site file is seen and kept while that very object
lives, so a fold never walks the whole roster to find the people of one room.
"""

import msgspec

from command.domain.site import Site


class Roster(msgspec.Struct, frozen=True):
    home: dict[str, str | None]  # each person's home room
    names: dict[str, str]
    per_room: dict[str | None, int]  # people at home in each room, before any change
    homes: dict[str | None, list[str]]  # the people at home in each room, in roster order
    order: dict[str, int]  # each person's place in the roster
    rooms: frozenset[str] = frozenset()  # the site's room ids
    units: frozenset[str] = frozenset()  # rooms', buses' and away events' ids: one namespace
    chaperones: frozenset[str] = frozenset()  # away events' adults not on the roster


EMPTY = Roster(home={}, names={}, per_room={}, homes={}, order={})
_ROSTERS: dict[int, tuple[Site, Roster]] = {}


def _index(config: Site) -> Roster:
    homes: dict[str | None, list[str]] = {}
    for p in config.people:
        homes.setdefault(p.room, []).append(p.id)
    chaperones = {ch.id: ch.name for ev in config.away_events for ch in ev.chaperones}
    units = [r.id for r in config.rooms] + [b.id for b in config.buses] + [
        ev.id for ev in config.away_events]
    return Roster(home={p.id: p.room for p in config.people},
                  names={**chaperones, **{p.id: p.name for p in config.people}},
                  per_room={room: len(ids) for room, ids in homes.items()}, homes=homes,
                  order={p.id: i for i, p in enumerate(config.people)},
                  rooms=frozenset(r.id for r in config.rooms), units=frozenset(units),
                  chaperones=frozenset(chaperones))


def roster(config: Site | None) -> Roster:
    """The roster's indexes for `config`, computed once per site file object."""
    if config is None:
        return EMPTY
    hit = _ROSTERS.get(id(config))
    if hit is None or hit[0] is not config:
        if len(_ROSTERS) > 256:
            _ROSTERS.clear()
        hit = _ROSTERS[id(config)] = (config, _index(config))
    return hit[1]
