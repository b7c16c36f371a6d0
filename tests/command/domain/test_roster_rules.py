"""Roster decisions (`command/domain/roster_rules.py`), given events and a command: an import
writes only what changed, nothing for the same roster, parts in one decision when large; the
folds give every reader a new site config; a site file's import keeps a OneRoster roster."""

from datetime import timedelta

import msgspec
from msgspec.structs import replace

from command.domain import board, guardian_messages, redact
from command.domain import commands as c
from command.domain.reunification_rules import guardian_flags
from command.domain.roster_diff import PART
from command.domain.site import AwayEvent, Bus, Chaperone, GuardianContact, GuardianMessages, Person
from consumers.live_boards import public_event
from tests.command.domain.test_site_state import (
    COMMANDER,
    DRILL,
    LIVE,
    T0,
    configured,
    ctx,
    given,
    press,
    rejects,
    site,
    then,
    types,
    when,
)

ADMIN = replace(COMMANDER, id="it-admin", role="admin")


def imported(people: list[Person], restrictions: bool = True) -> c.ImportRoster:
    """A bundle's people; `restrictions`: users.csv has the metadata.muster.restricted column."""
    return c.ImportRoster(people=people, restrictions=restrictions)


def test_the_same_roster_writes_nothing() -> None:
    state = given(configured())
    assert when(state, imported(list(site().people)), ctx(ADMIN)) == []


def test_a_move_a_guardian_and_a_restriction_are_one_roster_changed() -> None:
    people = list(site().people)
    people[0] = replace(people[0], restricted=["Lord Byron", "Someone"])
    people[2] = replace(people[2], room="GYM")
    people[4] = replace(people[4], guardians=["Jane Huberman", "Moshe Liskov"])
    state, events = then(given(configured()), imported(people), ctx(ADMIN))
    assert types(events) == ["RosterChanged"]
    assert [p.id for p in events[0].data.changed] == ["s-1", "s-3", "s-5"]
    assert events[0].data.added == [] and events[0].data.removed == []
    assert state.site is not None and state.site.people == people  # the decision state's config
    assert when(state, imported(people), ctx(ADMIN)) == []  # and it is now the same


def test_added_and_removed_people_change_who_is_known() -> None:
    people = [*site().people[1:], Person(id="s-9", name="Frances Allen", room="GYM")]
    state, _ = then(given(configured()), imported(people), ctx(ADMIN))
    assert "s-9" in state.students and "s-1" not in state.people


def test_a_large_import_is_parts_of_one_decision() -> None:
    people = [Person(id=f"n-{i}", name=f"N {i}", room="GYM") for i in range(PART * 2 + 5)]
    drafts = when(given(configured()), imported(people), ctx(ADMIN))
    assert [(d[1].part, d[1].parts) for d in drafts] == [(1, 3), (2, 3), (3, 3)]
    assert sum(len(d[1].added) + len(d[1].removed) for d in drafts) == len(people) + 8


def test_an_unknown_room_or_a_duplicate_is_400() -> None:
    state = given(configured())
    lost = [*site().people, Person(id="s-9", name="Lost", room="Z-1")]
    assert rejects(state, imported(lost), ctx(ADMIN)).field == "$.people[8].room"
    twice = [*site().people, site().people[0]]
    assert rejects(state, imported(twice), ctx(ADMIN)).field == "$.people[8].id"


def test_the_board_folds_a_roster_change_into_a_new_config() -> None:
    people = [*site().people, Person(id="s-9", name="Frances Allen", room="GYM")]
    _, events = then(given(configured()), imported(people), ctx(ADMIN))
    before = board.evolve(board.empty("test-high"), 1, configured())
    after = board.evolve(before, 2, events[0])
    assert after.config is not before.config and after.config is not None
    assert [p.id for p in after.config.people][-1] == "s-9"


def test_a_site_file_import_keeps_a_oneroster_roster() -> None:
    people = [*site().people, Person(id="s-9", name="Frances Allen", room="GYM")]
    state, _ = then(given(configured(site(roster_source="oneroster"))), imported(people),
                    ctx(ADMIN))
    renamed = site(name="Test High School", roster_source="oneroster", people=[])
    state, events = then(state, c.ConfigureSite(site=renamed), ctx(ADMIN))
    assert events[0].data.name == "Test High School"
    assert state.site is not None and state.site.people == people
    # a site file without roster_source = "oneroster" says who is on the roster itself
    state, _ = then(state, c.ConfigureSite(site=site()), ctx(ADMIN))
    assert state.site is not None and state.site.people == site().people


def test_a_site_file_dropping_a_room_the_roster_uses_is_400() -> None:
    state = given(configured(site(roster_source="oneroster")))
    rooms = [r for r in site().rooms if r.id != "GYM"]
    people = [*site().people, Person(id="s-9", name="Frances Allen", room="GYM")]
    state, _ = then(state, imported(people), ctx(ADMIN))
    err = rejects(state, c.ConfigureSite(site=site(roster_source="oneroster", rooms=rooms)),
                  ctx(ADMIN))
    assert err.code == "invalid"


def test_removing_a_rider_or_an_away_events_person_drops_them_there() -> None:
    trip = AwayEvent(id="trip-oct", name="October museum trip", people=["s-5", "s-6"],
                     starts_at=T0 - timedelta(days=40), ends_at=T0 - timedelta(days=40, hours=-6))
    bus = Bus(id="bus-7", name="Route 7", riders=["s-1", "s-5"])
    state = given(configured(site(buses=[bus], away_events=[trip])))
    people = [p for p in site().people if p.id != "s-5"]  # s-5 left the school
    state, events = then(state, imported(people), ctx(ADMIN))
    assert events[0].data.removed == ["s-5"]
    assert state.site is not None and state.site.buses[0].riders == ["s-1"]
    assert state.site.away_events[0].people == ["s-6"]
    config = board.evolve(board.evolve(board.empty("test-high"), 1, configured(site(
        buses=[bus], away_events=[trip]))), 2, events[0]).config
    assert config is not None and config.buses == state.site.buses  # every fold alike
    assert config.away_events == state.site.away_events


def test_a_chaperones_id_given_to_a_new_person_is_still_409() -> None:
    trip = AwayEvent(id="trip", name="Trip", chaperones=[Chaperone(id="c-1", name="Pat Doe")])
    state = given(configured(site(away_events=[trip])))
    err = rejects(state, imported([*site().people, Person(id="c-1", name="Pat Doe")]),
                  ctx(ADMIN))
    assert err.code == "conflict" and "chaperones" in str(err)


def test_without_the_restriction_column_every_restriction_is_kept() -> None:
    """Most SIS exports have no metadata.muster.restricted column: a sync must not read that as
    "nobody is restricted" and drop a custody order the site file holds."""
    ada = site().people[0]
    assert ada.restricted == ["Lord Byron"]
    bundle = [replace(ada, restricted=[], guardians=["Anne Byron", "LORD  byron"]),
              *site().people[1:]]  # the SIS lists him as her agent: he is no guardian here
    state = given(configured())
    assert when(state, imported(bundle, restrictions=False), ctx(ADMIN)) == []  # nothing else
    moved = [replace(bundle[0], room="A-101"), *bundle[1:]]
    state, events = then(state, imported(moved, restrictions=False), ctx(ADMIN))
    kept = events[0].data.changed[0]
    assert (kept.restricted, kept.guardians, kept.room) == (["Lord Byron"], ["Anne Byron"],
                                                            "A-101")
    # with the column, the student's cell is what counts: an emptied cell lifts it
    state, events = then(state, imported([replace(ada, restricted=[]), *site().people[1:]]),
                         ctx(ADMIN))
    assert events[0].data.changed[0].restricted == []


def test_a_restriction_may_come_during_an_incident_a_move_may_not() -> None:
    ada = site().people[0]
    barred = [replace(ada, restricted=["Lord Byron", "Tom Brook"]), *site().people[1:]]
    moved = [replace(ada, room="A-101"), *site().people[1:]]
    for drill, iid in ((False, LIVE), (True, DRILL)):
        state = then(given(configured()), press(drill=drill), ctx(new=iid))[0]
        state, events = then(state, imported(barred), ctx(ADMIN))
        assert types(events) == ["RosterChanged"]
        assert state.site is not None and state.site.people[0].restricted[1] == "Tom Brook"
        err = rejects(state, imported(moved), ctx(ADMIN))
        assert err.code == "conflict" and f"a {'drill' if drill else 'live'} incident" in str(err)


def test_a_roster_change_shows_counts_only_to_every_role() -> None:
    people = [*site().people, Person(id="s-9", name="Frances Allen", room="GYM",
                                     guardians=["Mr Allen"])]
    _, events = then(given(configured()), imported(people), ctx(ADMIN))
    shown = msgspec.to_builtins(events[0])
    for role in ("commander", "staff", "responder", "dispatch"):
        view = redact.event_view(shown, role)
        assert view is not None and view["data"]["added"] == 1
        assert "Frances" not in msgspec.json.encode(view).decode()
    doc = public_event(events[0])
    assert doc["data"] == {"added": 1, "changed": 0, "removed": 0, "part": 1, "parts": 1,
                           "source": "oneroster"}


def test_a_change_waits_while_a_live_or_drill_incident_is_open() -> None:
    people = [*site().people, Person(id="s-9", name="Frances Allen", room="GYM")]
    for drill, iid in ((False, LIVE), (True, DRILL)):
        state = then(given(configured()), press(drill=drill), ctx(new=iid))[0]
        assert rejects(state, imported(people), ctx(ADMIN)).code == "conflict"
        assert when(state, imported(list(site().people)), ctx(ADMIN)) == []  # nothing to wait


def test_a_restriction_survives_a_night_absent_from_the_export() -> None:
    """An SIS that knows no custody orders lists both of Ada's parents; she is missing from one
    night's export and back the next: her restriction is in force again, in intake and on the
    board alike, the checker is told and he is never messaged."""
    sis = [replace(p, restricted=[], guardians=[*p.guardians, "Lord Byron"], contacts=[
        GuardianContact(name=n, phone=f"+1555{i}{j}") for j, n in enumerate(p.guardians)]
        + ([GuardianContact(name="Lord Byron", phone="+15559")] if p.id == "s-1" else []))
        if p.kind == "student" else p for i, p in enumerate(site().people)]
    cfg = configured(site(guardian_messages=GuardianMessages(sms="json://x/{phone}")))
    state, night1 = then(given(cfg), imported(sis[1:], restrictions=False), ctx(ADMIN))
    assert state.site is not None and state.site.custody == {"s-1": ["Lord Byron"]}
    state, night2 = then(state, imported(sis, restrictions=False), ctx(ADMIN))
    back = night2[0].data.added[0]
    assert (back.id, back.restricted, back.guardians) == ("s-1", ["Lord Byron"], ["Anne Byron"])
    assert [ct.name for ct in back.contacts] == ["Anne Byron"]
    assert state.site is not None and state.site.custody == {}
    shown = board.empty("test-high")
    for seq, ev in enumerate([cfg, *night1, *night2], 1):
        shown = board.evolve(shown, seq, ev)
    assert shown.config == state.site  # the board's fold agrees with intake's
    assert guardian_flags(state.site, "LORD BYRON", True, ["s-1"]) == ["s-1: custody restriction"]
    assert "+15559" not in str(guardian_messages.plan(state.site).batches)
