"""The site file's places and directives, and the declarations that say them in words."""

import re
from datetime import UTC
from zoneinfo import ZoneInfo

import msgspec
import pytest

from command.bootstrap.demo import DEMO_PATH
from command.domain import commands as c
from command.domain import site as site_file
from command.domain.policy import DIRECTIVES, directive
from command.domain.site import Directive, EvacuationSite, SiteError, plan_for
from command.domain.site_state import SiteState, evolve
from tests.command.domain.test_site_state import COMMANDER, LIVE, configured, ctx, rejects, then

DEMO = site_file.load(DEMO_PATH)


def demo_state() -> SiteState:
    return evolve(SiteState(), configured(msgspec.structs.replace(DEMO, id="test-high")))


def declared(kind: str) -> dict:
    """The automatic declaration a press of `kind` in the demo school makes."""
    events = then(demo_state(), c.RaiseAlert(kind=kind, room="B-112"), ctx())[1]  # type: ignore[arg-type]
    return msgspec.to_builtins(events[-1].data)


def test_a_fire_press_names_the_assembly_area() -> None:
    d = declared("fire")
    assert (d["action"], d["evacuate_to"], d["evacuation_site"]) == (
        "evacuate", "the north field", "north-field")


def test_a_bomb_threat_names_its_own_place_off_site() -> None:
    assert declared("bomb_threat")["evacuate_to"] == "St. Mark's Church, 400 Elm Street"


def test_a_weather_press_names_the_hazard_and_the_strategy() -> None:
    d = declared("weather")
    assert (d["hazard"], d["strategy"]) == ("a tornado", "drop, cover and hold")


def test_a_hazard_never_borrows_another_hazards_strategy() -> None:
    """Given only a general shelter directive (a tornado), a hazmat press names its own
    hazard and says its strategy is not yet given, rather than "drop, cover and hold"."""
    only = msgspec.structs.replace(DEMO, directives={"shelter": DEMO.directives["shelter"]})
    plan = plan_for(only, "hazmat", "shelter")
    assert (plan.hazard, plan.strategy) == ("a hazardous materials release", None)
    assert plan_for(only, "shelter", "shelter").strategy == "drop, cover and hold"


def test_a_commander_names_a_place_by_its_id_or_in_words() -> None:
    state = then(demo_state(), c.RaiseAlert(kind="armed_intruder", room="B-112"), ctx())[0]
    boss = ctx(COMMANDER, at=60, incident=LIVE)
    by_id = then(state, c.DeclareProtocol(action="evacuate", evacuate_to="stadium"), boss)[1]
    assert (by_id[0].data.evacuate_to, by_id[0].data.evacuation_site) == (
        "the stadium bleachers", "stadium")
    words = then(state, c.DeclareProtocol(action="evacuate", evacuate_to="the bus loop"),
                 boss)[1]
    assert (words[0].data.evacuate_to, words[0].data.evacuation_site) == ("the bus loop", None)
    default = then(state, c.DeclareProtocol(action="evacuate"), boss)[1]
    assert default[0].data.evacuate_to == "the north field"


def test_evacuate_with_no_place_anywhere_is_400() -> None:
    # No directive names a place, and no evacuation site serves the hazard or the action.
    places = [msgspec.structs.replace(p, hazards=[]) for p in DEMO.evacuation_sites]
    bare = msgspec.structs.replace(DEMO, id="test-high", directives={}, evacuation_sites=places)
    state = then(evolve(SiteState(), configured(bare)),
                 c.RaiseAlert(kind="armed_intruder", room="B-112"), ctx())[0]
    err = rejects(state, c.DeclareProtocol(action="evacuate"), ctx(COMMANDER, incident=LIVE))
    assert (err.code, err.field) == ("invalid", "$.evacuate_to")


@pytest.mark.parametrize("action,given,words", [
    ("evacuate", {"evacuate_to": "the north field"}, "Evacuate! To the north field."),
    ("evacuate", {}, "Evacuate! Place not yet given."),
    ("shelter", {"hazard": "a tornado", "strategy": "drop, cover and hold"},
     "Shelter! For a tornado, using drop, cover and hold."),
    ("shelter", {"hazard": "a tornado"}, "Shelter! For a tornado; safety strategy not yet given."),
    ("shelter", {"strategy": "a sealed room"},
     "Shelter! Hazard not yet given; using a sealed room."),
    ("shelter", {}, "Shelter! Hazard and safety strategy not yet given."),
    ("lockdown", {"evacuate_to": "ignored"}, DIRECTIVES["lockdown"]),
])
def test_a_directive_says_what_is_known_and_never_the_template(
        action: str, given: dict, words: str) -> None:
    said = directive(action, **given)  # type: ignore[arg-type]
    assert said == words
    assert action == "lockdown" or said != DIRECTIVES[action]  # type: ignore[index]


def test_a_directive_must_name_a_known_evacuation_site() -> None:
    bad = msgspec.structs.replace(DEMO, directives={"fire": Directive(evacuate_to="moon")})
    with pytest.raises(SiteError, match=r"directives\.fire\.evacuate_to"):
        site_file.validate(bad)
    twice = [EvacuationSite(id="field", name="a"), EvacuationSite(id="field", name="b")]
    with pytest.raises(SiteError, match="evacuation_sites"):
        site_file.validate(msgspec.structs.replace(DEMO, evacuation_sites=twice))


def test_a_directive_for_something_that_is_not_a_kind_is_refused() -> None:
    with pytest.raises(SiteError, match="directives"):
        site_file.loads('id = "x"\nname = "X"\n[directives.earthquake]\nhazard = "an earthquake"\n')


def test_import_warns_where_a_silent_alarm_or_an_evacuation_would_reach_nobody() -> None:
    assert site_file.warnings(DEMO) == []
    loud = [msgspec.structs.replace(ch, audience="on_site") for ch in DEMO.channels]
    bare = msgspec.structs.replace(DEMO, channels=loud, directives={})
    said = site_file.warnings(bare)
    assert len(said) == 2 and "silent alarm" in said[0] and "place not yet given" in said[1]


def test_two_channels_of_one_name_are_refused() -> None:
    """The outbox keys a message by event and channel name: a second channel of the same name
    would silently never hear a thing, so the file is refused instead."""
    twice = [*DEMO.channels, msgspec.structs.replace(DEMO.channels[0], url="json://other")]
    with pytest.raises(SiteError, match="duplicate channel"):
        site_file.validate(msgspec.structs.replace(DEMO, channels=twice))


def test_a_site_tells_times_in_its_zone_and_one_this_machine_lacks_is_utc() -> None:
    denver = msgspec.structs.replace(DEMO, timezone="America/Denver")
    assert site_file.zone(denver) == ZoneInfo("America/Denver")
    assert site_file.zone(msgspec.structs.replace(DEMO, timezone="Mars/Olympus_Mons")) is UTC
    assert site_file.zone(None) is UTC and site_file.zone_named("Etc/") is UTC  # a bad name too


ROOMS = 'id = "s"\nname = "S"\n[[rooms]]\nid = "a"\nname = "A"\n[[rooms]]\nid = "b"\nname = "B"\n'


@pytest.mark.parametrize(("shape", "field"), [
    ("x = 1\ny = 2\nw = 3", "rooms[1].h"),
    ("w = 3\nh = 4", "rooms[1].x"),
    ("points = [[0, 0], [1, 0]]", "rooms[1].points"),
    ("points = [[0, 0], [1, 0], [1, 1]]\nx = 0\ny = 0\nw = 1\nh = 1", "rooms[1].points"),
    ("x = 0\ny = 0\nw = 0\nh = 1", "rooms[1].w"),
    ("points = [[0, 0, 1], [1, 0], [1, 1]]", "rooms[1].points[0]"),
])
def test_a_room_shape_that_is_not_a_rectangle_or_polygon_is_refused(shape: str,
                                                                     field: str) -> None:
    with pytest.raises(SiteError, match=re.escape(field)):
        site_file.loads(ROOMS + shape + "\n")


def test_a_room_may_be_a_rectangle_or_a_polygon() -> None:
    box = site_file.loads(ROOMS + "x = 1\ny = 2\nw = 3\nh = 4\n")
    assert site_file.shape(box.rooms[1]) == {"x": 1, "y": 2, "w": 3, "h": 4}
    assert site_file.shape(box.rooms[0]) is None
    poly = site_file.loads(ROOMS + "points = [[0, 0], [4, 0], [4, 3], [0, 3]]\n")
    assert site_file.shape(poly.rooms[1]) == {"points": [[0, 0], [4, 0], [4, 3], [0, 3]]}


UNITS = ROOMS + '[[people]]\nid = "p1"\nname = "P"\nroom = "a"\n'


@pytest.mark.parametrize(("extra", "field"), [
    ('[[buses]]\nid = "b"\nname = "Bus"\n', "buses[0].id: 'b' is already a room's id"),
    ('[[buses]]\nid = "x"\nname = "X"\n[[buses]]\nid = "x"\nname = "Y"\n',
     "buses[1].id: 'x' is already a bus's id"),
    ('[[buses]]\nid = "x"\nname = "X"\n[[away_events]]\nid = "x"\nname = "G"\n',
     "away_events[0].id: 'x' is already a bus's id"),
    ('[[buses]]\nid = "x"\nname = "X"\nriders = ["p1", "ghost"]\n', "buses[0].riders[1]"),
    ('[[away_events]]\nid = "g"\nname = "G"\npeople = ["ghost"]\n', "away_events[0].people[0]"),
    ('[[away_events]]\nid = "g"\nname = "G"\n[[away_events.chaperones]]\nid = "p1"\nname = "P"\n',
     "away_events[0].chaperones[0].id"),
    ('[[away_events]]\nid = "g"\nname = "G"\nstarts_at = 2027-09-10T19:00:00Z\n'
     'ends_at = 2027-09-10T17:00:00Z\n', "away_events[0].ends_at"),
])
def test_units_share_one_namespace_and_name_known_people(extra: str, field: str) -> None:
    with pytest.raises(SiteError, match=re.escape(field)):
        site_file.loads(UNITS + extra)


def test_a_site_file_declares_buses_away_events_and_places() -> None:
    loaded = site_file.loads(UNITS + '[[buses]]\nid = "bus-1"\nname = "Bus 1"\nriders = ["p1"]\n'
                             '[[away_events]]\nid = "g"\nname = "G"\npeople = ["p1"]\n'
                             '[away_events.place]\ntext = "Central High"\nlat = 41.9\n'
                             'lon = -87.6\n')
    assert loaded.buses[0].riders == ["p1"] and loaded.away_events[0].place.lat == 41.9


def test_an_evacuation_no_directive_places_goes_to_the_first_site_serving_the_hazard() -> None:
    field = EvacuationSite(id="field", name="the field", hazards=["weather"])
    church = EvacuationSite(id="church", name="the church", hazards=["fire", "bomb_threat"])
    gym = EvacuationSite(id="gym", name="the gym", hazards=["evacuate"])
    config = msgspec.structs.replace(DEMO, directives={}, evacuation_sites=[field, church, gym])
    assert plan_for(config, "fire", "evacuate").evacuation_site == "church"
    assert plan_for(config, "gas_leak", "evacuate").evacuation_site == "gym"  # by the action
    bare = msgspec.structs.replace(config, evacuation_sites=[field])
    assert plan_for(bare, "fire", "evacuate").evacuate_to is None
    # A directive's place still comes first.
    named = msgspec.structs.replace(config, directives={"fire": Directive(evacuate_to="field")})
    assert plan_for(named, "fire", "evacuate").evacuation_site == "field"


def test_an_off_site_place_without_an_address_is_warned_of() -> None:
    far = EvacuationSite(id="far", name="far away", off_site=True)
    said = site_file.warnings(msgspec.structs.replace(DEMO, evacuation_sites=[far]))
    assert any("'far'" in w and "address" in w for w in said)
    assert not any("address" in w for w in site_file.warnings(DEMO))


def test_a_student_whose_guardian_is_also_restricted_is_warned_of_without_the_name() -> None:
    """"MARK JONES" restricted and "Mark Jones" listed are one adult: the desk refuses him, so
    the roster is wrong; the warning names the student's id, never the adult."""
    student = next(p for p in DEMO.people if p.kind == "student")
    both = msgspec.structs.replace(student, guardians=["Mark Jones"], restricted=["MARK  JONES"])
    said = site_file.warnings(msgspec.structs.replace(
        DEMO, people=[both if p.id == student.id else p for p in DEMO.people]))
    assert any(repr(student.id) in w and "restriction" in w for w in said)
    assert not any("Jones" in w for w in said)
    assert not any("restriction" in w for w in site_file.warnings(DEMO))
