"""The board's site-level parts: the roster by room a report ticks names from, buses and away
events included, so a driver's or a chaperone's report can say who is hurt or missing."""

from command.bootstrap import demo
from command.domain.board_site import roster_by_room


def test_a_bus_lists_its_riders_and_an_away_event_its_people_and_chaperones() -> None:
    site = demo.build()
    rosters = roster_by_room(site)
    (game,) = site.away_events
    for bus in site.buses:
        assert [p["id"] for p in rosters[bus.id]] == bus.riders
        assert {p["kind"] for p in rosters[bus.id]} == {"student"}
    assert [p["id"] for p in rosters[game.id]] == [*game.people, "ch-01", "ch-02"]
    assert rosters[game.id][-1] == {"id": "ch-02", "name": "Frank Osei", "kind": "chaperone"}


def test_every_person_stays_listed_in_their_home_room() -> None:
    site = demo.build()
    rosters = roster_by_room(site)
    homes = [p for room in site.rooms for p in rosters.get(room.id, [])]
    assert len(homes) == len(site.people)  # a rider is on the bus's list and at home


def test_no_site_no_roster() -> None:
    assert roster_by_room(None) == {}
