"""Reading a CAD's EIDO leniently: the fields Muster keeps, both timestamp spellings, and an
Invalid naming the JSON path for anything unreadable (and never any other error)."""

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from command.domain import eido_in
from command.domain.dispatch_rules import STATUS_ORDER, UNIT_STEPS
from command.domain.errors import Invalid
from command.domain.site_dispatch import DEFAULT_TYPES

PIDF = ('<?xml version="1.0"?><presence xmlns="urn:ietf:params:xml:ns:pidf" '
        'xmlns:gp="urn:ietf:params:xml:ns:pidf:geopriv10" '
        'xmlns:ca="urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr" '
        'xmlns:gml="http://www.opengis.net/gml"><gp:geopriv><gp:location-info>'
        "<ca:civicAddress><ca:country>US</ca:country><ca:A1>IL</ca:A1><ca:A3>Anytown</ca:A3>"
        "<ca:HNO>1200</ca:HNO><ca:RD>Lincoln</ca:RD><ca:STS>Avenue</ca:STS>"
        "<ca:NAM>Lincoln Middle School</ca:NAM><ca:PC>60000</ca:PC></ca:civicAddress>"
        "<gml:Point><gml:pos>41.8800 -87.6300</gml:pos></gml:Point>"
        "</gp:location-info></gp:geopriv></presence>")


def doc(**top: Any) -> dict[str, Any]:
    """A school weapon call with one unit on scene and one en route, written for these tests."""
    base: dict[str, Any] = {
        "$id": "urn:emergency:uid:incidentid:abc:psap.example.gov",
        "lastUpdateTimeStamp": "2026-03-12T10:21:45.120-05:00",
        "updatedByAgencyReference": {"$ref": "pd.example.gov"},
        "eidoVersion": "1.0", "issuingElementIdentification": "cad.example.gov",
        "incidentComponent": {
            "$id": "inc1", "incidentTypeCommonRegistryText": "WEAPON",
            "incidentTypeInternalText": "Weapon on school grounds",
            "incidentStatusCommonRegistryText": ["ResourcesOnscene"],
            "incidentStatusInternalText": ["ONSCN"], "internalIncidentId": "CAD-1",
            "incidentCommonPriorityNumber": 9, "incidentPriorityInternalText": "P1",
            "futureField": {"anything": [1, 2]}},
        "emergencyResourceComponent": [
            {"$id": "u12@pd", "emergencyResourceName": "4A12",
             "primaryUnitStatusRegistryText": "NotAvailable",
             "secondaryUnitStatusRegistryText": ["OnScene"]},
            {"$id": "u15@pd", "emergencyResourceName": "4A15",
             "secondaryUnitStatusRegistryText": ["Dispatched", "EnRoute"],
             "eta": "2026-03-12T10:24:00-05:00"}],
        "notesComponent": [{"$id": "n1", "notesActionComments":
                            "<p>Handgun in a backpack &amp; <b>east</b> wing.</p>"}],
        "locationComponent": [
            {"$id": "caller", "locationTypeDescriptionRegistryText": "Caller",
             "localIdentifier": ["WRONG"]},
            {"$id": "loc1", "locationTypeDescriptionRegistryText": "CurrentIncident",
             "locationDescriptionText": "east wing", "locationByValue": PIDF,
             "localIdentifier": ["CADPREMISE-88231"]}],
        "agencyComponent": [{"$id": "pd.example.gov"}],
    }
    return {**base, **top}


def raw(d: dict[str, Any]) -> bytes:
    return json.dumps(d).encode()


def invalid_at(data: bytes) -> str:
    with pytest.raises(Invalid) as caught:
        eido_in.parse(data)
    assert caught.value.field is not None and caught.value.field.startswith("$")
    return caught.value.field


def test_the_fields_muster_keeps() -> None:
    got = eido_in.parse(raw(doc()))
    assert (got.tracking_id, got.cad_id, got.type, got.status, got.priority, got.agency) == (
        "urn:emergency:uid:incidentid:abc:psap.example.gov", "CAD-1", "WEAPON",
        ["ResourcesOnscene"], 9, "pd.example.gov")
    assert (got.type_text, got.status_text, got.priority_text) == (
        "Weapon on school grounds", ["ONSCN"], "P1")
    assert got.updated_at.isoformat() == "2026-03-12T10:21:45.120000-05:00"
    assert [(u.name, u.secondary) for u in got.units] == [
        ("4A12", ["OnScene"]), ("4A15", ["Dispatched", "EnRoute"])]
    assert got.units[1].eta is not None and got.units[1].eta.hour == 10
    assert got.notes == ["Handgun in a backpack & east wing."]


def test_the_current_incident_location_with_its_civic_address_and_point() -> None:
    loc = eido_in.parse(raw(doc())).location
    assert loc is not None and loc.ids == ["CADPREMISE-88231"] and loc.description == "east wing"
    assert loc.civic == eido_in.Civic(country="US", a1="IL", a3="Anytown", hno="1200",
                                      rd="Lincoln", sts="Avenue", pc="60000",
                                      nam="Lincoln Middle School")
    assert loc.point == eido_in.Point(41.88, -87.63)


def test_the_initial_location_when_no_current_one_then_the_first() -> None:
    locs = [{"$id": "a", "locationTypeDescriptionRegistryText": "Caller", "localIdentifier": "A"},
            {"$id": "b", "locationTypeDescriptionRegistryText": "InitialIncident",
             "localIdentifier": "B"}]
    assert eido_in.parse(raw(doc(locationComponent=locs))).location.ids == ["B"]  # type: ignore[union-attr]
    assert eido_in.parse(raw(doc(locationComponent=locs[:1]))).location.ids == ["A"]  # type: ignore[union-attr]
    assert eido_in.parse(raw(doc(locationComponent=[]))).location is None


def test_both_spellings_of_the_last_update() -> None:
    d = doc()
    d["lastUpdateTimestamp"] = d.pop("lastUpdateTimeStamp")
    assert eido_in.parse(raw(d)).updated_at.minute == 21
    del d["lastUpdateTimestamp"]
    assert invalid_at(raw(d)) == "$.lastUpdateTimeStamp"


def test_a_time_without_a_zone_is_read_as_utc() -> None:
    got = eido_in.parse(raw(doc(lastUpdateTimeStamp="2026-03-12T10:21:45")))
    assert got.updated_at.utcoffset() is not None and got.updated_at.utcoffset().seconds == 0  # type: ignore[union-attr]


def test_a_lone_string_where_a_list_belongs_is_a_list_of_one() -> None:
    inc = {**doc()["incidentComponent"], "incidentStatusCommonRegistryText": "Active"}
    assert eido_in.parse(raw(doc(incidentComponent=inc))).status == ["Active"]


def test_a_call_transfer_without_an_incident_still_reads() -> None:
    got = eido_in.parse(raw(doc(incidentComponent=None, emergencyResourceComponent=[])))
    assert (got.cad_id, got.type, got.status, got.units) == (None, "", [], [])


@pytest.mark.parametrize(("data", "field"), [
    (b"", "$"), (b"[1]", "$"), (b"{not json", "$"), (b"\xff\xfe\x00", "$"),
    (raw(doc(**{"$id": 7})), "$.$id"), (raw(doc(**{"$id": ""})), "$.$id"),
    (raw(doc(lastUpdateTimeStamp="yesterday")), "$.lastUpdateTimeStamp"),
    (raw(doc(incidentComponent={"incidentCommonPriorityNumber": "high"})),
     "$.incidentComponent.incidentCommonPriorityNumber"),
    (raw(doc(emergencyResourceComponent=[{"$id": "u", "eta": 5}])),
     "$.emergencyResourceComponent[0].eta"),
])
def test_malformed_names_its_path(data: bytes, field: str) -> None:
    assert invalid_at(data) == field


@pytest.mark.parametrize("xml", [
    "<presence", "not xml at all", "<a><gml:pos xmlns:gml='g'>north 4</gml:pos></a>",
    "<a><pos>91 0</pos></a>", "<a><pos>nan 0</pos></a>",
    '<!DOCTYPE a [<!ENTITY x "xx">]><a>&x;</a>',
])
def test_a_bad_pidf_location_names_its_component(xml: str) -> None:
    locs = [{"$id": "x"}, {"$id": "l", "locationTypeDescriptionRegistryText": "CurrentIncident",
                           "locationByValue": xml}]
    assert invalid_at(raw(doc(locationComponent=locs))) == "$.locationComponent[1].locationByValue"


def test_notes_lose_their_tags_and_empty_notes_are_dropped() -> None:
    notes = [{"notesActionComments": "<div><p>a</p>\n<p>b&lt;c</p></div>"},
             {"notesActionComments": "<br/>"}, {}]
    assert eido_in.parse(raw(doc(notesComponent=notes))).notes == ["a b<c"]


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["$id", "lastUpdateTimeStamp", "lastUpdateTimestamp",
                         "incidentComponent", "emergencyResourceComponent", "eta",
                         "locationComponent", "locationByValue", "localIdentifier",
                         "notesComponent", "notesActionComments", "$ref",
                         "updatedByAgencyReference", "agencyComponent", "x"]) | st.text(max_size=5),
        inner, max_size=5),
    max_leaves=25)


@settings(max_examples=300, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(JSON)
def test_any_json_parses_or_is_invalid_with_a_path(value: object) -> None:
    try:
        eido_in.parse(json.dumps(value).encode())
    except Invalid as exc:
        assert exc.field is not None and exc.field.startswith("$")


@settings(max_examples=300, deadline=None, database=None)
@given(st.binary(max_size=200))
def test_any_bytes_parse_or_are_invalid_with_a_path(data: bytes) -> None:
    try:
        eido_in.parse(data)
    except Invalid as exc:
        assert exc.field is not None and exc.field.startswith("$")


@settings(max_examples=200, deadline=None, database=None)
@given(st.text(max_size=300))
def test_any_location_text_parses_or_is_invalid_with_a_path(xml: str) -> None:
    locs = [{"$id": "l", "locationByValue": xml}]
    try:
        eido_in.parse(raw(doc(locationComponent=locs)))
    except Invalid as exc:
        assert exc.field == "$.locationComponent[0].locationByValue"


def test_the_reference_school_incident_reads_whole(eido_dir: Path) -> None:
    got = eido_in.parse((eido_dir / "synthetic-school-incident.json").read_bytes())
    assert (got.cad_id, got.type, got.status, got.priority, got.agency) == (
        "CAD-2025-004211", "WEAPON", ["ResourcesOnscene"], 9, "pd.anytown.example.gov")
    assert [(u.name, u.secondary, u.eta is not None) for u in got.units] == [
        ("4A12", ["OnScene"], False), ("4A15", ["Dispatched", "EnRoute"], True)]
    assert got.notes[0].startswith("RP is front office staff.")
    assert got.location is not None and got.location.ids == ["CADPREMISE-88231"]
    assert got.location.point == eido_in.Point(41.88, -87.63)
    assert got.location.civic is not None and got.location.civic.nam == "Lincoln Middle School"
    sample = eido_in.parse((eido_dir / "sample-call-transfer.json").read_bytes())
    assert sample.cad_id is None and sample.units == [] and sample.location is not None


def test_every_registry_value_muster_reads_is_nenas(eido_dir: Path) -> None:
    """The statuses, unit statuses and incident types the rules name are STA-021's registry
    values (FIRE and MEDICAL excepted: plain words some CADs send instead)."""
    tables = json.loads((eido_dir / "registries-sta021.1b.json").read_bytes())["registries"]
    values = {name: {v["value"] for v in t["values"]} for name, t in tables.items()}
    assert set(STATUS_ORDER) <= values["incidentStatusCommon"]
    assert {s for _, names in UNIT_STEPS for s in names} <= values["secondaryUnitStatusCommon"]
    assert set(DEFAULT_TYPES) - {"FIRE", "MEDICAL"} <= values["incidentTypeCommon"]
    assert {"CurrentIncident", "InitialIncident"} <= values["locationType"]


def test_a_document_nested_past_reading_is_a_400_not_a_crash() -> None:
    """A 2 KB body of nested brackets in a field Muster ignores: Invalid at `$`, never a 500."""
    deep = b'{"$id": "x", "ignored": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    with pytest.raises(Invalid) as refused:
        eido_in.parse(deep)
    assert refused.value.field == "$"
