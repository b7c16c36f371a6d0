"""Units (issue 21): buses and away events beside rooms — placement at open, alerts naming a
unit, reports on it, away events scheduled through the API, and relocation's history."""

from datetime import timedelta

import msgspec
import pytest
from msgspec.structs import replace

from command.domain import accounting, board, board_render, redact, units
from command.domain import commands as c
from command.domain import events as e
from command.domain.site import AwayEvent, Bus, Chaperone, EvacuationSite, Location, Site
from command.domain.site_state import SiteState
from tests.command.domain.test_site_state import (
    COMMANDER,
    LIVE,
    STAFF,
    T0,
    configured,
    ctx,
    given,
    rejects,
    run,
    site,
    then,
    types,
)

ROADSIDE = Location(text="Route 9 at mile 12", lat=41.88, lon=-87.63)
STADIUM = Location(text="Central High stadium", lat=41.91, lon=-87.67)
GAME = AwayEvent(id="game", name="Away game", kind="game", place=STADIUM,
                 starts_at=T0 - timedelta(hours=1), ends_at=T0 + timedelta(hours=3),
                 people=["s-3", "t-2"], chaperones=[Chaperone(id="c-1", name="Pat Parent")])
TRIP = replace(GAME, id="trip", name="Museum trip", people=["s-5"], chaperones=[],
               starts_at=T0 + timedelta(days=2), ends_at=None)
BUS = Bus(id="bus-7", name="Bus 7", driver="Sam", riders=["s-1", "s-4"])


def with_units() -> Site:
    return site(buses=[BUS], away_events=[GAME, TRIP])


def on(state_site: Site | None = None) -> SiteState:
    return given(configured(state_site or with_units()))


def tally_total(ledger: accounting.Ledger) -> int:
    return sum(sum(counts.values()) for counts in ledger.tally.values())


# --- units.py ---------------------------------------------------------------------------------


def test_an_away_event_is_active_between_its_bounds_and_a_missing_bound_is_open() -> None:
    assert units.active(GAME, T0)
    assert not units.active(GAME, T0 + timedelta(hours=4))
    assert not units.active(TRIP, T0) and units.active(TRIP, T0 + timedelta(days=30))
    assert units.active(AwayEvent(id="x", name="x"), T0)


def test_a_time_written_without_a_zone_is_the_site_s_local_time() -> None:
    local = replace(GAME, starts_at=(T0 + timedelta(hours=1)).replace(tzinfo=None), ends_at=None)
    denver = site(timezone="America/Denver", away_events=[local])
    # 10:00 in Denver is 17:00 UTC: at 09:00 UTC (02:00 there) the game has not begun.
    assert units.active_events(denver, T0) == []
    assert units.active_events(denver, T0 + timedelta(hours=8)) == [local]


def test_each_id_names_one_kind_of_unit() -> None:
    config = with_units()
    assert [units.kind_of(config, u) for u in ("B-112", "bus-7", "game", "nowhere")] == [
        "room", "bus", "away_event", None]
    assert units.members(config, "bus-7") == ["s-1", "s-4"]
    assert units.members(config, "game") == ["s-3", "t-2", "c-1"]


def test_placement_puts_event_people_at_the_event_and_the_alerted_bus_riders_on_it() -> None:
    """Given a game on and a bus, when an incident opens on the bus, then the game's people and
    chaperone are at the game, the riders on the bus, and nobody anywhere else twice."""
    placed = units.placement(with_units(), T0, "bus-7")
    assert placed == {"s-3": "game", "t-2": "game", "c-1": "game", "s-1": "bus-7",
                      "s-4": "bus-7"}
    assert units.placement(with_units(), T0, "B-112") == {"s-3": "game", "t-2": "game",
                                                         "c-1": "game"}


def test_the_alerted_unit_wins_over_an_event_for_a_person_on_both() -> None:
    team_bus = replace(BUS, riders=["s-3"])
    assert units.placement(site(buses=[team_bus], away_events=[GAME]), T0, "bus-7")["s-3"] \
        == "bus-7"


# --- alerts on units ---------------------------------------------------------------------------


def test_a_bus_alert_with_a_location_opens_an_incident_on_the_bus() -> None:
    cmd = c.RaiseAlert(kind="medical", bus="bus-7", location=ROADSIDE)
    _, events = then(on(), cmd, ctx(STAFF))
    assert types(events) == ["IncidentOpened", "AlertRaised", "ProtocolDeclared"]
    assert (events[0].data.room, events[0].data.unit) == ("bus-7", "bus")
    assert (events[1].data.room, events[1].data.unit, events[1].data.location) == (
        "bus-7", "bus", ROADSIDE)


@pytest.mark.parametrize("given_units", [{}, {"room": "B-112", "bus": "bus-7"},
                                         {"bus": "bus-7", "away_event": "game"}])
def test_an_alert_names_exactly_one_unit_or_it_is_400_at_room(given_units: dict) -> None:
    err = rejects(on(), c.RaiseAlert(kind="medical", **given_units), ctx(STAFF))
    assert (err.code, err.field) == ("invalid", "$.room")


@pytest.mark.parametrize("field,uid", [("bus", "bus-99"), ("away_event", "B-112"),
                                       ("room", "bus-7"), ("away_event", "nope")])
def test_an_unknown_unit_is_404_naming_its_field(field: str, uid: str) -> None:
    err = rejects(on(), c.RaiseAlert(kind="medical", **{field: uid}), ctx(STAFF))
    assert (err.code, err.field) == ("not_found", f"$.{field}")


def test_a_second_press_on_the_bus_joins_and_the_board_shows_the_latest_location() -> None:
    later = Location(text="Route 9 at mile 14", lat=41.9, lon=-87.6)
    state, first = then(on(), c.RaiseAlert(kind="medical", bus="bus-7", location=ROADSIDE),
                        ctx(STAFF))
    _, second = then(state, c.RaiseAlert(kind="medical", bus="bus-7", location=later),
                     ctx(STAFF, at=30))
    assert types(second) == ["AlertRaised"] and second[0].incident_id == LIVE
    rendered = shown([configured(with_units()), *first, *second])
    row = next(r for r in rendered["rooms"] if r["id"] == "bus-7")
    assert row["unit"] == "bus" and row["location"] == msgspec.to_builtins(later)
    assert row["building"] == ""


def shown(events: list[e.Envelope]) -> dict:
    return board_render.render(board.fold("test-high", list(enumerate(events, 1))))


# --- counted once --------------------------------------------------------------------------------


def test_counted_once_at_open_in_intake_and_on_the_board_alike() -> None:
    """Given a game on, when a bus alert opens an incident, then the site's total is the roster
    plus the game's chaperone, the bus and the game hold their people, and the board agrees."""
    state, events = then(on(), c.RaiseAlert(kind="medical", bus="bus-7"), ctx(STAFF))
    ledger = state.open["live"].ledger
    assert tally_total(ledger) == len(site().people) + 1
    assert ledger.tally["bus-7"]["unknown"] == 2 and ledger.tally["game"]["unknown"] == 3
    assert ledger.tally["B-112"]["unknown"] == 2  # s-2 and t-1: s-1 rides the bus
    rendered = shown([configured(with_units()), *events])
    assert rendered["accountability"]["total"] == len(site().people) + 1
    rows = {r["id"]: r for r in rendered["rooms"]}
    assert rows["game"]["unit"] == "away_event" and rows["game"]["location"]["text"] == \
        STADIUM.text
    assert "trip" not in rows  # not on today, not raised on
    assert rows["bus-7"]["accountability"]["unknown"] == 2


def test_a_bus_report_with_present_settles_its_riders_and_no_one_else() -> None:
    state, _ = then(on(), c.RaiseAlert(kind="medical", bus="bus-7"), ctx(STAFF))
    state, _ = then(state, c.ReportRoomStatus(status="secured", present=2),
                    ctx(STAFF, at=20, incident=LIVE, room="bus-7"))
    ledger = state.open["live"].ledger
    assert ledger.tally["bus-7"]["accounted"] == 2 and ledger.tally["bus-7"]["unknown"] == 0
    assert ledger.tally["B-112"]["unknown"] == 2
    assert tally_total(ledger) == len(site().people) + 1


def test_a_chaperone_is_reported_missing_at_the_game_and_counted_once() -> None:
    state, _ = then(on(), c.RaiseAlert(kind="lockdown", away_event="game"), ctx(STAFF))
    state, _ = then(state, c.ReportRoomStatus(status="secured", present=2, missing=["c-1"]),
                    ctx(STAFF, at=20, incident=LIVE, room="game"))
    ledger = state.open["live"].ledger
    assert ledger.tally["game"] == {**ledger.tally["game"], "accounted": 2, "missing": 1,
                                    "unknown": 0}
    assert tally_total(ledger) == len(site().people) + 1


def test_a_chaperone_of_an_event_not_on_is_never_counted() -> None:
    later = site(away_events=[replace(GAME, starts_at=T0 + timedelta(days=1), ends_at=None)])
    state, _ = then(on(later), c.RaiseAlert(kind="lockdown", room="B-112"), ctx(STAFF))
    state, _ = then(state, c.AccountPersons(entries=[e.AccountingEntry(person_id="c-1",
                                                                       status="accounted")]),
                    ctx(STAFF, at=20, incident=LIVE))
    assert tally_total(state.open["live"].ledger) == len(site().people)


# --- away events through the API ------------------------------------------------------------------


def schedule(**changes: object) -> c.ScheduleAwayEvent:
    fields = {"id": "match", "name": "Chess match", "kind": "other", "place": STADIUM,
              "people": ["s-6"], "chaperones": [Chaperone(id="c-9", name="Kim Coach")]}
    return c.ScheduleAwayEvent(**{**fields, **changes})  # type: ignore[arg-type]


def test_an_away_event_scheduled_then_an_alert_on_it_places_its_people_there() -> None:
    state, written = run(on(site()), (schedule(), ctx(STAFF)),
                         (c.RaiseAlert(kind="lockdown", away_event="match"), ctx(STAFF, at=5)))
    assert types(written)[0] == "AwayEventScheduled" and written[0].incident_id is None
    assert [ev.id for ev in state.site.away_events] == ["match"]
    ledger = state.open["live"].ledger
    assert ledger.tally["match"]["unknown"] == 2 and tally_total(ledger) == len(site().people) + 1
    rows = {r["id"]: r for r in shown([configured(site()), *written])["rooms"]}
    assert rows["match"]["unit"] == "away_event"


def test_an_event_scheduled_during_an_incident_joins_the_open_case() -> None:
    state, written = run(on(site()), (c.RaiseAlert(kind="lockdown", room="B-112"), ctx(STAFF)),
                         (schedule(), ctx(STAFF, at=5)))
    ledger = state.open["live"].ledger
    assert ledger.tally["match"]["unknown"] == 2 and ledger.tally["A-102"]["unknown"] == 1
    rendered = shown([configured(site()), *written])
    assert next(r for r in rendered["rooms"] if r["id"] == "match")["accountability"][
        "unknown"] == 2
    assert rendered["accountability"]["total"] == len(site().people) + 1


@pytest.mark.parametrize("changes,code,field", [
    ({"id": "B-112"}, "conflict", "$.id"), ({"id": "bus-7"}, "conflict", "$.id"),
    ({"people": ["s-6", "ghost"]}, "not_found", "$.people[1]"),
    ({"chaperones": [Chaperone(id="s-1", name="Ada")]}, "conflict", "$.chaperones[0].id")])
def test_a_bad_away_event_is_refused_naming_the_field(changes: dict, code: str,
                                                      field: str) -> None:
    err = rejects(on(), schedule(**changes), ctx(STAFF))
    assert (err.code, err.field) == (code, field)


def test_an_event_scheduled_again_replaces_the_one_of_its_id() -> None:
    state, _ = run(on(site()), (schedule(), ctx(STAFF)), (schedule(name="Chess final"),
                                                           ctx(STAFF, at=1)))
    assert [ev.name for ev in state.site.away_events] == ["Chess final"]


def test_a_site_file_import_keeps_the_api_s_away_events_it_does_not_name() -> None:
    state, _ = then(on(with_units()), schedule(), ctx(STAFF))
    state, written = then(state, c.ConfigureSite(site=with_units()), ctx(COMMANDER, at=10))
    assert [ev.id for ev in written[0].data.away_events] == ["game", "trip", "match"]
    # An event the file itself drops is gone: only the API's are kept.
    state, written = then(state, c.ConfigureSite(site=site()), ctx(COMMANDER, at=20))
    assert [ev.id for ev in written[0].data.away_events] == ["match"]


# --- relocation ---------------------------------------------------------------------------------


PLACES = [EvacuationSite(id="field", name="the north field"),
          EvacuationSite(id="church", name="St. Mark's", kind="reunification", off_site=True,
                         address="400 Elm Street", hazards=["fire"])]


def test_relocating_twice_keeps_every_place_in_order() -> None:
    """Given a fire evacuation to the church (the site serving fires), when the commander
    relocates to the field and then elsewhere, then each is one evacuate naming where from, and
    the board's protocol lists the three places, the last in force."""
    config = site(evacuation_sites=PLACES)
    state, opened = then(on(config), c.RaiseAlert(kind="fire", room="B-112"), ctx(STAFF))
    assert opened[2].data.evacuate_to == "St. Mark's"
    state, first = then(state, c.Relocate(to="field", reason="smoke over the church"),
                        ctx(COMMANDER, at=60, incident=LIVE))
    _, second = then(state, c.Relocate(to="the library", reason="rain"),
                     ctx(COMMANDER, at=120, incident=LIVE))
    d = first[0].data
    assert (d.action, d.evacuate_to, d.evacuation_site, d.reason, d.relocated_from,
            d.relocation_reason) == ("evacuate", "the north field", "field", "relocation",
                                     "St. Mark's", "smoke over the church")
    assert second[0].data.relocated_from == "the north field"
    protocol = shown([configured(config), *opened, *first, *second])["protocol"]
    assert [(p["name"], p["site_id"], p["reason"]) for p in protocol["places"]] == [
        ("St. Mark's", "church", "alert"), ("the north field", "field", "smoke over the church"),
        ("the library", None, "rain")]
    assert protocol["evacuate_to"] == "the library"


def test_relocation_without_an_evacuation_is_409() -> None:
    state, _ = then(on(), c.RaiseAlert(kind="lockdown", room="B-112"), ctx(STAFF))
    err = rejects(state, c.Relocate(to="field", reason="x"), ctx(COMMANDER, incident=LIVE))
    assert (err.code, err.field) == ("conflict", "$.to")


def test_relocation_to_the_place_in_force_is_409() -> None:
    config = site(evacuation_sites=PLACES)
    state, _ = then(on(config), c.RaiseAlert(kind="fire", room="B-112"), ctx(STAFF))
    err = rejects(state, c.Relocate(to="church", reason="x"), ctx(COMMANDER, incident=LIVE))
    assert err.code == "conflict"


@pytest.mark.parametrize("role", ["responder", "dispatch", "device", "staff", "commander"])
def test_a_scheduled_event_names_its_people_only_to_roster_roles(role: str) -> None:
    """Roster roles read who goes and the chaperones' names and phones; the others read the
    event's id, name, place and times, and how many people and chaperones go."""
    _, written = then(on(site()), schedule(chaperones=[Chaperone(id="c-9", name="Kim Coach",
                                                                 phone="555-0100")]),
                      ctx(STAFF))
    doc = {"type": "AwayEventScheduled", **msgspec.to_builtins(written[0])}
    shown = redact.event_view(doc, role)
    assert shown is not None
    trip = shown["data"]["event"]
    if role in redact.ROSTER_ROLES:
        assert trip == doc["data"]["event"] and trip["people"] == ["s-6"]
    else:
        assert (trip["people"], trip["chaperones"]) == (1, 1)
        assert "Kim Coach" not in str(trip) and "555-0100" not in str(trip)
        assert (trip["id"], trip["name"]) == (doc["data"]["event"]["id"],
                                              doc["data"]["event"]["name"])
        assert {"place", "starts_at", "ends_at"} <= trip.keys()


def test_an_idle_board_shows_every_room_and_bus_and_no_away_event() -> None:
    rows = {r["id"]: r for r in shown([configured(with_units())])["rooms"]}
    assert set(rows) == {"A-101", "A-102", "B-112", "GYM", "bus-7"}
    assert (rows["bus-7"]["unit"], rows["bus-7"]["location"], rows["bus-7"]["building"]) == (
        "bus", None, "")
    assert (rows["GYM"]["unit"], rows["GYM"]["location"]) == ("room", None)


def test_a_lockdown_at_the_game_is_accounted_there_and_lifted_as_anywhere() -> None:
    """Given the away game on, when a lockdown is pressed on it and its coach reports everyone
    present, then the game's people are accounted for, the rest of the school still unknown."""
    state, _ = run(on(), (c.RaiseAlert(kind="lockdown", away_event="game"), ctx(STAFF)),
                   (c.ReportRoomStatus(status="secured", present=3),
                    ctx(STAFF, at=30, incident=LIVE, room="game")))
    ledger = state.open["live"].ledger
    assert ledger.tally["game"]["accounted"] == 3
    assert accounting.unknown(ledger) == len(site().people) - 2


def test_an_away_event_the_file_redefined_is_the_file_s_to_drop() -> None:
    state, _ = then(on(site()), schedule(), ctx(STAFF))
    from_file = AwayEvent(id="match", name="Chess match (the file's)", people=["s-6"])
    state, _ = then(state, c.ConfigureSite(site=site(away_events=[from_file])),
                    ctx(COMMANDER, at=10))
    _, written = then(state, c.ConfigureSite(site=site()), ctx(COMMANDER, at=20))
    assert written[0].data.away_events == []


def test_a_press_on_an_away_event_not_on_yet_places_its_people_there_and_shows_it() -> None:
    """Given the museum trip planned for later, when someone presses on it now (it left
    early), then its people are counted at the trip and the board shows it beside the rooms."""
    state, written = then(on(), c.RaiseAlert(kind="medical", away_event="trip"), ctx(STAFF))
    assert state.open["live"].ledger.tally["trip"]["unknown"] == 1  # s-5
    rows = {r["id"]: r for r in shown([configured(with_units()), *written])["rooms"]}
    assert rows["trip"]["unit"] == "away_event" and rows["game"]["unit"] == "away_event"


def test_a_press_from_a_bus_during_an_incident_puts_its_riders_on_it() -> None:
    """Given a lockdown pressed in B-112, when bus 7's driver presses too, then bus 7's riders
    nobody had accounted for are on the bus (counted there, not at home), intake and board
    alike; a rider already accounted for stays where they were reported."""
    state, first = run(on(), (c.RaiseAlert(kind="lockdown", room="B-112"), ctx(STAFF)),
                       (c.AccountPersons(entries=[e.AccountingEntry(person_id="s-4",
                                                                    status="accounted")]),
                        ctx(STAFF, at=10, incident=LIVE)))
    state, second = then(state, c.RaiseAlert(kind="medical", bus="bus-7", location=ROADSIDE),
                         ctx(STAFF, at=20))
    ledger = state.open["live"].ledger
    assert ledger.tally["bus-7"]["unknown"] == 1 and ledger.people["s-1"].room == "bus-7"
    assert ledger.people["s-4"].room == "A-101"
    rendered = shown([configured(with_units()), *first, *second])
    assert next(r for r in rendered["rooms"] if r["id"] == "bus-7")["accountability"][
        "unknown"] == 1
    assert rendered["accountability"]["total"] == tally_total(ledger)
