"""The demo's places, buses, away game and guardian contacts: enough to run a bus incident, an
away-game lockdown with a relocation, and a reunification with messages, each person once."""

import re
from datetime import UTC, datetime

from command.bootstrap import demo


def test_places_say_where_and_how_many() -> None:
    places = {p.id: p for p in demo.build().evacuation_sites}
    assert set(places) == {"north-field", "stadium", "st-marks", "lincoln-ms"}
    assert not places["north-field"].off_site and places["north-field"].kind == "assembly"
    off = [p for p in places.values() if p.off_site]
    assert {p.id for p in off} == {"st-marks", "lincoln-ms"}  # point + relocation
    assert all(p.kind == "reunification" and p.address for p in off)
    for p in places.values():
        assert p.lat is not None and p.lon is not None and p.capacity and p.capacity >= 900
        assert p.address.startswith(("1200 Lincoln", "400 Elm", "2100 Oak"))


def test_two_buses_carry_students_each_on_one_bus() -> None:
    s = demo.build()
    students = {p.id for p in s.people if p.kind == "student"}
    assert [b.id for b in s.buses] == ["bus-7", "bus-12"]
    riders = [r for b in s.buses for r in b.riders]
    assert all(len(b.riders) == 40 and b.driver for b in s.buses)
    assert len(set(riders)) == len(riders) and set(riders) <= students
    ids = {r.id for r in s.rooms}
    assert not ids & ({b.id for b in s.buses} | {e.id for e in s.away_events})  # one namespace


def test_the_away_game_has_players_coaches_and_two_chaperones_off_the_buses() -> None:
    s = demo.build()
    (game,) = s.away_events
    kinds = {p.id: p.kind for p in s.people}
    assert game.kind == "game" and game.place.text.startswith("Central High stadium")
    assert game.place.lat is not None and game.place.lon is not None
    assert sum(kinds[p] == "student" for p in game.people) >= 25
    assert sum(kinds[p] == "staff" for p in game.people) == 2
    assert [c.id for c in game.chaperones] == ["ch-01", "ch-02"]
    assert not {c.id for c in game.chaperones} & set(kinds)  # not on the roster
    assert not set(game.people) & {r for b in s.buses for r in b.riders}
    # Planned ahead, in the future: the demo's other incidents place nobody at the game.
    assert game.starts_at is not None and game.starts_at > datetime(2026, 12, 31, tzinfo=UTC)
    assert game.ends_at is not None and game.ends_at > game.starts_at


def test_a_few_guardians_have_fake_contacts_and_the_restricted_adult_is_marked() -> None:
    people = demo.build().people
    with_contacts = [p for p in people if p.contacts]
    assert 5 <= len(with_contacts) <= 20
    for p in with_contacts:
        assert {c.name for c in p.contacts} == set(p.guardians) | set(p.restricted)
        for c in p.contacts:
            assert re.fullmatch(r"\+1-303-555-01\d\d", c.phone)
            assert c.email.endswith("@example.org")
            assert (c.name in p.restricted) == c.relationship.startswith("restricted")
