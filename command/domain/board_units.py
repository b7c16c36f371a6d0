"""A board's units besides rooms — buses and away events — and an evacuation's places.

A case shows every site room, every bus, the away events active when it opened and the unit it
was raised on, each as a `board_case.Room` row with its `unit` kind and `location` (a bus's last
told location, an away event's place). An evacuation's places are kept in order: relocations.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import msgspec
from msgspec.structs import replace

from command.domain import accounting, units
from command.domain import events as e
from command.domain.site import AwayEvent, Bus, Location, Site, zone

if TYPE_CHECKING:
    from command.domain.board_case import Case


class Room(msgspec.Struct, frozen=True, kw_only=True):
    """A unit's row on a board: a room, a bus or an away event (`unit`); board_case's Room."""

    id: str
    name: str
    building: str
    floor: int
    zone: str
    status: str | None = None
    reported_at: datetime | None = None
    reported_by: str | None = None
    present: int | None = None
    missing: list[str] = []
    injured: list[str] = []
    extra: list[str] = []
    unit: str = "room"
    location: Location | None = None  # a bus's last told location; an away event's place


class Place(msgspec.Struct, frozen=True, kw_only=True):
    """A place an evacuation named: the last of a case's is the one in force."""

    name: str
    site_id: str | None
    at: datetime
    reason: str  # alert, drill, commander; a relocation's own words


def bus_row(bus: Bus) -> Room:
    return Room(id=bus.id, name=bus.name, building="", floor=1, zone="", unit="bus")


def event_row(event: AwayEvent) -> Room:
    place = event.place if event.place != Location() else None
    return Room(id=event.id, name=event.name, building="", floor=1, zone="",
                unit="away_event", location=place)


def unit_rows(config: Site | None, at: datetime | None = None,
              unit: str | None = None) -> dict[str, Room]:
    """Every room and bus; with `at`, the away events active then and the unit raised on."""
    if config is None:
        return {}
    rows = {r.id: Room(id=r.id, name=r.name, building=r.building, floor=r.floor, zone=r.zone)
            for r in config.rooms}
    rows.update({b.id: bus_row(b) for b in config.buses})
    if at is not None:
        shown = set(units.on_case(config, at, unit))
        rows.update({ev.id: event_row(ev) for ev in config.away_events if ev.id in shown})
    return rows


def alerted(case: Case, ev: e.AlertRaised, config: Site | None) -> Case:
    """A press on a unit: the row shows the location it told (the latest press's), a unit the
    case did not show yet (an away event not on at the open) joins it, and its people nobody
    has placed or accounted for yet are there (intake's ledger places them alike)."""
    d = ev.data
    row = case.rooms.get(d.room)
    if row is None and d.unit == "away_event" and (event := units.away_event(config, d.room)):
        row = event_row(event)
    elif row is None and d.unit == "bus" and (found := units.bus(config, d.room)):
        row = bus_row(found)
    if row is None:
        return case
    if d.unit == "room":
        return case
    if d.location is not None:
        row = replace(row, location=d.location)
    ledger = accounting.joined(accounting.Ledger(people=case.people, tally=case.tally), config,
                               d.room)
    return replace(case, rooms={**case.rooms, d.room: row}, people=ledger.people,
                   tally=ledger.tally)


def scheduled(case: Case, config: Site, ev: e.AwayEventScheduled) -> Case:
    """An away event scheduled while the case is open: shown, and its people not yet placed or
    accounted for placed there, when it is on now (intake's ledger does the same); an event
    the case shows already takes its new name and place."""
    event = ev.data.event
    on = units.active(event, ev.occurred_at, zone(config))
    row = case.rooms.get(event.id)
    if row is None and not on:
        return case
    fresh = event_row(event)
    row = fresh if row is None else replace(row, name=fresh.name,
                                            location=fresh.location or row.location)
    case = replace(case, rooms={**case.rooms, event.id: row})
    if not on:
        return case
    ledger = accounting.joined(accounting.Ledger(people=case.people, tally=case.tally), config,
                               event.id)
    return replace(case, people=ledger.people, tally=ledger.tally)


def placed(case: Case, d: e.ProtocolDeclaredData, at: datetime) -> list[Place]:
    """The case's places after a declaration: a new place is added; the same place again is
    not (a protocol re-declared does not move anyone)."""
    if d.action != "evacuate" or not d.evacuate_to:
        return case.places
    if case.places and case.places[-1].name == d.evacuate_to and d.reason != "relocation":
        return case.places
    reason = d.relocation_reason or d.reason if d.reason == "relocation" else d.reason
    return [*case.places, Place(name=d.evacuate_to, site_id=d.evacuation_site, at=at,
                                reason=reason)]


def reporting(case: Case) -> dict[str, Room]:
    """The rows expected to report: every room, and a bus or away event only where people are
    placed or someone reported it (an idle bus never holds up "every room in place")."""
    return {uid: row for uid, row in case.rooms.items()
            if row.unit == "room" or row.status is not None
            or any(case.tally.get(uid, {}).values())}
