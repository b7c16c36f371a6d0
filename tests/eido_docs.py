"""EIDO documents a test CAD sends: the shape of a NENA STA-021 incident (a school weapon call),
written here so tests that need no reference file run in a fresh clone."""

import json
from typing import Any

AGENCY = "pd.anytown.example.gov"
TRACKING = f"urn:emergency:uid:incidentid:7f3a9c2e51d0:psap.{AGENCY}"
T0 = "2026-03-12T10:12:00.000-05:00"


def _prologue(component_id: str, at: str) -> dict[str, Any]:
    return {"$id": component_id, "lastUpdateTimeStamp": at,
            "updatedByAgencyReference": {"$ref": AGENCY}}


def pidf(name: str | None = None, hno: str = "1200", rd: str = "Lincoln", sts: str = "Avenue",
         a3: str = "Anytown", point: tuple[float, float] | None = (41.88, -87.63)) -> str:
    """A PIDF-LO location: a civic address (with a site name, NAM) and a GML point."""
    nam = f"<ca:NAM>{name}</ca:NAM>" if name else ""
    pos = (f'<gml:Point srsName="urn:ogc:def:crs:EPSG::4326"><gml:pos>{point[0]} {point[1]}'
           "</gml:pos></gml:Point>") if point else ""
    return ('<?xml version="1.0" encoding="UTF-8"?><presence xmlns="urn:ietf:params:xml:ns:pidf" '
            'xmlns:gp="urn:ietf:params:xml:ns:pidf:geopriv10" '
            'xmlns:ca="urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr" '
            'xmlns:gml="http://www.opengis.net/gml" '
            'xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" '
            f'entity="pres:incident@{AGENCY}"><dm:device id="loc0001"><gp:geopriv>'
            f"<gp:location-info><ca:civicAddress><ca:country>US</ca:country><ca:A1>IL</ca:A1>"
            f"<ca:A3>{a3}</ca:A3><ca:HNO>{hno}</ca:HNO><ca:RD>{rd}</ca:RD><ca:STS>{sts}</ca:STS>"
            f"{nam}<ca:PC>60000</ca:PC></ca:civicAddress>{pos}</gp:location-info>"
            "<gp:usage-rules/><gp:method>Manual</gp:method></gp:geopriv></dm:device></presence>")


def unit(name: str, *statuses: str, eta: str | None = None) -> dict[str, Any]:
    doc = {**_prologue(f"unit{name.lower()}@{AGENCY}", T0), "emergencyResourceName": name,
           "emergencyResourceTypeCommonRegistryText": "PatrolUnit",
           "primaryUnitStatusRegistryText": "NotAvailable",
           "secondaryUnitStatusRegistryText": list(statuses)}
    if eta:
        doc["eta"] = eta
    return doc


def eido(at: str = T0, *, tracking: str = TRACKING, premise: str | None = "CADPREMISE-88231",
         location: str | None = None, kind: str = "WEAPON",
         status: tuple[str, ...] = ("Active",), units: tuple[dict[str, Any], ...] = (),
         notes: tuple[str, ...] = (), cad_id: str = "CAD-2026-004211") -> dict[str, Any]:
    """One snapshot of the incident, as a CAD sends it: the whole state at `at`."""
    loc_id = f"urn:emergency:uid:eidodatacomponent:loc0001:{AGENCY}"
    location_component = {**_prologue(loc_id, T0),
                          "locationTypeDescriptionRegistryText": "CurrentIncident",
                          "locationDescriptionText": "east wing near gym",
                          "locationByValue": location if location is not None else pidf()}
    if premise:
        location_component["localIdentifier"] = [premise]
    note_ids = [f"urn:emergency:uid:eidodatacomponent:note{i:04d}:{AGENCY}"
                for i, _ in enumerate(notes)]
    return {
        **_prologue(tracking, at),
        "updatedByAgentReference": {"$ref": f"dispatcher07@{AGENCY}"},
        "eidoVersion": "1.0",
        "issuingElementIdentification": f"cad.{AGENCY}",
        "incidentComponent": {
            **_prologue(f"urn:emergency:uid:eidodatacomponent:inc0001:{AGENCY}", at),
            "incidentTypeCommonRegistryText": kind,
            "incidentTypeInternalText": "Weapon on school grounds",
            "incidentStatusCommonRegistryText": list(status),
            "internalIncidentId": cad_id,
            "incidentCommonPriorityNumber": 9,
            "incidentPriorityInternalText": "P1",
            "locationReference": [{"$ref": loc_id}],
            "notesReference": [{"$ref": n} for n in note_ids],
        },
        "emergencyResourceComponent": list(units),
        "notesComponent": [{**_prologue(n, at), "notesActionComments": f"<p>{text}</p>"}
                           for n, text in zip(note_ids, notes, strict=True)],
        "locationComponent": [location_component],
        "agencyComponent": [{**_prologue(AGENCY, T0), "agencyType": ["police"],
                             "incidentOwningAgencyIndicator": True}],
    }


def body(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc).encode()
