"""The incident as a NENA EIDO: scripted incidents (written by the real `decide`) folded as the
board folds them, then rendered. No reference file is needed: the schema checks are in
tests/test_eido_conformance.py."""

import json
import re
import xml.etree.ElementTree as ET
from datetime import timedelta
from typing import Any

from msgspec.structs import replace

from command.domain import commands as c
from command.domain import dispatch_match, eido_in, eido_out
from command.domain import events as e
from command.domain.site import Bus, Location, Site
from command.domain.site_dispatch import Address, Dispatch
from tests.command.domain.test_site_state import (
    COMMANDER,
    LIVE,
    SITE_ID,
    STAFF,
    T0,
    configured,
    ctx,
    given,
    press,
    run,
    site,
)

RESPONDER = e.Actor(kind="user", id="officer-k", role="responder")
CA = "{urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr}"
GML = "{http://www.opengis.net/gml}"
LINCOLN = Dispatch(ids=["CADPREMISE-88231"], lat=41.88, lon=-87.63, address=Address(
    hno="1200", rd="Lincoln", sts="Avenue", a3="Anytown", a1="IL", pc="60000", country="US"))


def at(seconds: float, actor: e.Actor = STAFF, room: str | None = None) -> Any:
    return ctx(actor, at=seconds, incident=LIVE, room=room)


def events(*steps: tuple[c.Command, Any], kind: str = "lockdown", config: Site | None = None,
           drill: bool = False) -> list[tuple[int, e.Event]]:
    """The site file, a press of `kind` in B-112 at T0, then `steps`, with stream sequences."""
    cfg = configured(config)
    written = run(given(cfg), (press(kind, drill=drill), ctx()), *steps)[1]
    return list(enumerate([cfg, *written], start=1))


def render(evs: list[tuple[int, e.Event]], config: Site | None = None) -> dict[str, Any]:
    case, when = eido_out.fold(evs, LIVE, config or site())
    return eido_out.render(case, SITE_ID, config or site(), when)


def dispatch(seconds: float, *units: dict[str, str], status: str = "ResourcesEnroute",
             ) -> e.DispatchUpdated:
    when = T0 + timedelta(seconds=seconds)
    return e.DispatchUpdated(id=f"ev-dispatch-{seconds}", site=SITE_ID, incident_id=LIVE,
                             occurred_at=when, recorded_at=when, data=e.DispatchUpdatedData(
                                 cad_id="CAD-2026-004211", status=status, units=list(units)))


def notes(doc: dict[str, Any]) -> dict[str, str]:
    """Each note's text (its HTML tags dropped) by the last part of its `$id`'s key."""
    return {n["$id"].split(":")[-2].removeprefix(f"{LIVE}."):
            re.sub(r"<[^>]+>", "", n["notesActionComments"]) for n in doc["notesComponent"]}


def ids(doc: dict[str, Any]) -> list[str]:
    """Every component `$id` in the document, the top-level one first."""
    found = [doc["$id"], doc["incidentComponent"]["$id"]]
    for key in ("notesComponent", "locationComponent", "agencyComponent"):
        found += [part["$id"] for part in doc[key]]
    return found


def lockdown_script() -> list[tuple[c.Command, Any]]:
    return [(c.Acknowledge(responder="Unit 12"), at(30, RESPONDER)),
            (c.ReportRoomStatus(status="needs_help", present=1, missing=["s-1"],
                                injured=["s-2"]), at(60, room="B-112")),
            (c.ReportRoomStatus(status="secured", present=2), at(70, room="A-101")),
            (c.Acknowledge(responder="Unit 14"), at(80, RESPONDER)),
            (c.CheckIn(person_id="s-5", area="Gym"), at(90)),
            (c.CheckGuardian(guardian="Jane Huberman", id_verified=True, students=["s-5"]),
             at(95)),
            (c.AddNote(text="Ada Lovelace hiding in the lab store"), at(100, RESPONDER))]


def closing(summary: str | None = None) -> list[tuple[c.Command, Any]]:
    return [(c.AllClear(), at(590, COMMANDER)), (c.Close(summary=summary), at(600, COMMANDER))]


def test_no_roster_name_or_person_id_is_ever_written() -> None:
    """Given an incident whose rooms, check-ins and notes all name students and guardians,
    then no version of its EIDO names any of them, nor any person's id: counts only."""
    evs = events(*lockdown_script(), *closing("Ada and Alan safe"))
    people = site().people
    names = {p.name for p in people} | {g for p in people for g in [*p.guardians, *p.restricted]}
    assert "Ada Lovelace" in names and "Jane Huberman" in names
    for n in range(3, len(evs) + 1):
        text = json.dumps(render(evs[:n]))
        assert [name for name in names if name in text] == [], n
        assert [p.id for p in people if re.search(rf"\b{p.id}\b", text)] == [], n
    assert "Ada" not in json.dumps(render(evs))  # not even the closing summary's first names


def test_component_ids_are_stable_across_versions_and_unique_within_one() -> None:
    """Given two versions of one incident (before and after more reports, acks and the close),
    then every component the first has keeps its `$id` in the second, and no id repeats."""
    evs = events(*lockdown_script(), *closing())
    first, last = render(evs[:5]), render(evs)
    assert len(set(ids(last))) == len(ids(last))
    assert set(ids(first)) <= set(ids(last))
    assert first["$id"] == last["$id"] == f"urn:emergency:uid:incidentid:{LIVE}:" \
        "test-high.muster.invalid"
    assert first["incidentComponent"]["$id"] == last["incidentComponent"]["$id"]
    assert set(notes(last)) - set(notes(first)) == {"room.B-112", "ack.2"}
    assert first["lastUpdateTimeStamp"] < last["lastUpdateTimeStamp"]
    assert render(evs) == last  # the same events, the same document


def test_what_an_eido_does_not_carry_changes_nothing_not_even_the_time() -> None:
    """Given a note, a transfer of command and a send record after the last change, then the
    EIDO is the one it was: a CAD diffing versions sees no change."""
    evs = events(*lockdown_script()[:-1])
    when = T0 + timedelta(seconds=500)
    sent = e.NotificationSent(id="ev-sent", site=SITE_ID, incident_id=LIVE, occurred_at=when,
                              recorded_at=when, data=e.NotificationSentData(
                                  channel="office", event_id=evs[2][1].id))
    quiet = events(*lockdown_script(), (c.TransferCommand(commander="Sgt. Rivera",
                                                          agency="City PD"), at(400, COMMANDER)))
    quiet.append((len(quiet) + 1, sent))
    case, when_changed = eido_out.fold(quiet, LIVE, site())
    assert case.notifications and case.notes and case.incident.commander == "Sgt. Rivera"
    assert render(quiet) == render(evs)
    assert when_changed == T0 + timedelta(seconds=90)  # the check-in: it changed the counts


def test_type_follows_the_alert_kind_and_status_the_incident_and_its_units() -> None:
    assert render(events())["incidentComponent"]["incidentTypeCommonRegistryText"] == "ALRPANA"
    weapon = render(events(kind="armed_intruder"))["incidentComponent"]
    assert (weapon["incidentTypeCommonRegistryText"], weapon["incidentTypeInternalCode"]) == (
        "WEAPON", "armed_intruder")
    assert weapon["incidentStatusCommonRegistryText"] == ["Active"]
    assert weapon["incidentStatusInternalText"] == ["open", "lockdown"]
    evs = events()
    seq = len(evs)
    en_route = [*evs, (seq + 1, dispatch(40, {"id": "u1", "name": "4A12", "status": "en_route",
                                             "eta": "2025-03-04T09:05:00+00:00"}))]
    inc = render(en_route)["incidentComponent"]
    assert inc["incidentStatusCommonRegistryText"] == ["Active", "ResourcesEnroute"]
    on_scene = [*en_route, (seq + 2, dispatch(50, {"id": "u1", "name": "4A12",
                                                  "status": "on_scene"},
                                              status="ResourcesOnscene"))]
    doc = render(on_scene)
    assert doc["incidentComponent"]["incidentStatusCommonRegistryText"] == [
        "Active", "ResourcesOnscene"]
    assert notes(doc)["dispatch"] == "911 incident CAD-2026-004211: 4A12 on scene."
    assert notes(render(en_route))["dispatch"] == (
        "911 incident CAD-2026-004211: 4A12 en route, ETA 09:05.")
    closed = render(events(*closing()))["incidentComponent"]
    assert closed["incidentStatusCommonRegistryText"] == ["Closed"]
    cancelled = render(events((c.Cancel(reason="bumped it"), at(5, COMMANDER))))
    assert cancelled["incidentComponent"]["incidentStatusCommonRegistryText"] == ["Cancelled"]


def test_notes_say_the_action_the_rooms_that_need_help_the_counts_and_the_acks() -> None:
    said = notes(render(events(*lockdown_script())))
    assert said["protocol"].startswith("LOCKDOWN since 09:00: ")
    assert said["room.B-112"] == "Room Biology (B, floor 1, east) needs help: 1 injured, " \
        "1 missing, 1 present."
    assert "room.A-101" not in said  # secured: no help needed
    assert said["accountability"] == (
        "Accountability of 8 people: 2 accounted, 1 missing, 1 injured, 0 absent, "
        "0 reunified, 4 unknown. Rooms reported: 2 of 4.")
    assert (said["ack.1"], said["ack.2"]) == ("Acknowledged by Unit 12 at 09:00.",
                                              "Acknowledged by Unit 14 at 09:01.")
    assert "mode" not in said and "dispatch" not in said
    lifted = notes(render(events((c.AllClear(), at(300, COMMANDER)))))
    assert lifted["protocol"] == "No protocol in force."


def test_text_is_escaped_as_html() -> None:
    doc = render(events((c.Acknowledge(responder="<b>Unit & 12</b>"), at(30, RESPONDER))))
    ack = next(n for n in doc["notesComponent"] if n["$id"].endswith(f"{LIVE}.ack.1:"
                                                                   "test-high.muster.invalid"))
    assert ack["notesActionComments"] == (
        "<p>Acknowledged by &lt;b&gt;Unit &amp; 12&lt;/b&gt; at 09:00.</p>")


def test_a_drill_says_so() -> None:
    doc = render(events(drill=True))
    assert notes(doc)["mode"] == "This is a drill, not an emergency."
    assert doc["incidentComponent"]["incidentTypeInternalText"] == "DRILL: Lockdown"


def location(doc: dict[str, Any]) -> tuple[dict[str, Any], ET.Element]:
    part = doc["locationComponent"][0]
    assert doc["incidentComponent"]["locationReference"] == [{"$ref": part["$id"]}]
    return part, ET.fromstring(part["locationByValue"].encode())


def test_the_school_is_the_current_incident_location_by_name_and_room() -> None:
    part, pidf = location(render(events()))
    assert part["locationTypeDescriptionRegistryText"] == "CurrentIncident"
    civic = {el.tag.removeprefix(CA): el.text for el in pidf.iter() if el.tag.startswith(CA)}
    assert civic == {"civicAddress": None, "LOC": "Biology, B", "NAM": "Test High"}
    assert pidf.find(f".//{GML}Point") is None  # the site gives no point
    assert "localIdentifier" not in part
    assert part["locationDescriptionText"] == "Test High, Biology, B"


def test_the_dispatch_table_gives_the_address_the_point_and_the_premise_id() -> None:
    lincoln = replace(site(), name="Lincoln Middle School", dispatch=LINCOLN)
    part, pidf = location(render(events(config=lincoln), lincoln))
    civic = [(el.tag.removeprefix(CA), el.text) for el in pidf.iter() if el.tag.startswith(CA)]
    assert civic[1:] == [("country", "US"), ("A1", "IL"), ("A3", "Anytown"), ("RD", "Lincoln"),
                         ("STS", "Avenue"), ("HNO", "1200"), ("LOC", "Biology, B"),
                         ("NAM", "Lincoln Middle School"), ("PC", "60000")]
    pos = pidf.find(f".//{GML}Point/{GML}pos")
    assert pos is not None and pos.text == "41.880000 -87.630000"
    assert part["localIdentifier"] == ["CADPREMISE-88231"]


def test_read_back_by_the_eido_reader_it_names_the_same_school_every_way() -> None:
    """Given the EIDO of an incident at a school with a `[dispatch]` table, when Muster's own
    EIDO reader parses it, then its location finds that school by premise id, and still by
    address, and by point, once the parts that come first are taken away."""
    lincoln = replace(site(), name="Lincoln Middle School", dispatch=LINCOLN)
    other = replace(site(), id="other-school", name="Other School", dispatch=None)
    doc = render(events(config=lincoln), lincoln)
    read = eido_in.parse(json.dumps(doc).encode())
    assert read.tracking_id == doc["$id"] and read.type == "ALRPANA"
    assert read.location is not None and read.location.civic is not None
    assert read.location.civic.nam == "Lincoln Middle School"
    found = dispatch_match.match(read.location, [other, lincoln])
    assert isinstance(found, dispatch_match.Match) and (found.site.id, found.by) == (
        "test-high", "id")
    by_address = replace(read.location, ids=[], civic=replace(read.location.civic, nam=""))
    found = dispatch_match.match(by_address, [other, lincoln])
    assert isinstance(found, dispatch_match.Match) and found.by == "address"
    by_point = replace(by_address, civic=None)
    found = dispatch_match.match(by_point, [other, lincoln])
    assert isinstance(found, dispatch_match.Match) and found.by == "geofence"


def test_a_bus_incident_is_where_the_bus_is_not_at_the_school() -> None:
    """Given a school with a dispatch address, when a bus's driver presses with the bus's
    location, then the EIDO location is the bus's point and words, without the school's street
    address (help sent there would go to the wrong place)."""
    told = Location(text="Route 9 at mile 12", lat=41.9, lon=-87.7)
    lincoln = replace(site(), name="Lincoln Middle School", dispatch=LINCOLN,
                      buses=[Bus(id="bus-7", name="Bus 7", riders=["s-1"])])
    cfg = configured(lincoln)
    written = run(given(cfg), (c.RaiseAlert(kind="medical", bus="bus-7", location=told),
                               ctx()))[1]
    part, pidf = location(render(list(enumerate([cfg, *written], start=1)), lincoln))
    civic = {el.tag.removeprefix(CA): el.text for el in pidf.iter() if el.tag.startswith(CA)}
    assert civic == {"civicAddress": None, "NAM": "Lincoln Middle School",
                     "LOC": "Bus 7 at Route 9 at mile 12 (41.90000, -87.70000)"}
    pos = pidf.find(f".//{GML}Point/{GML}pos")
    assert pos is not None and pos.text == "41.900000 -87.700000"
    assert part["locationDescriptionText"].endswith("Bus 7 at Route 9 at mile 12 "
                                                    "(41.90000, -87.70000)")
