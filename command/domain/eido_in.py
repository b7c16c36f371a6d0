"""A NENA STA-021 EIDO document as a CAD sends it, read leniently into the part Muster uses.

Unknown fields are ignored and both spellings of the last update (`lastUpdateTimeStamp`, as
NENA writes it, and `lastUpdateTimestamp`) are read; `parse` raises `Invalid` naming the JSON
path of the first thing it cannot read, and nothing else. The PIDF-LO location is XML inside a
JSON string: its civic address and point are read with ElementTree, refusing DTDs outright.
"""

import html
import math
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import msgspec

from command.domain.errors import Invalid, from_validation

# --- the document as sent: only the fields read; every other field is ignored ------------------

Strings = str | list[str]  # a registry list; a lone string is read as a list of one


class Ref(msgspec.Struct, frozen=True):
    ref: str | None = msgspec.field(default=None, name="$ref")


class Stamped(msgspec.Struct, frozen=True, kw_only=True):
    """Every EIDO component's prologue: its `$id` and its last update in either spelling."""

    id: str | None = msgspec.field(default=None, name="$id")
    stamp: datetime | None = msgspec.field(default=None, name="lastUpdateTimeStamp")
    stamp_alt: datetime | None = msgspec.field(default=None, name="lastUpdateTimestamp")
    updatedByAgencyReference: Ref | None = None


class RawIncident(Stamped, frozen=True, kw_only=True):
    internalIncidentId: str | None = None
    incidentTypeCommonRegistryText: str | None = None
    incidentTypeInternalCode: str | None = None
    incidentTypeInternalText: str | None = None
    incidentStatusCommonRegistryText: Strings = []
    incidentStatusInternalText: Strings = []
    incidentCommonPriorityNumber: int | None = None
    incidentPriorityInternalText: str | None = None
    locationReference: list[Ref] = []


class RawUnit(Stamped, frozen=True, kw_only=True):
    emergencyResourceName: str | None = None
    primaryUnitStatusRegistryText: str | None = None
    secondaryUnitStatusRegistryText: Strings = []
    unitStatusInternal: Strings = []
    eta: datetime | None = None


class RawNote(Stamped, frozen=True, kw_only=True):
    notesActionComments: str | None = None


class RawLocation(Stamped, frozen=True, kw_only=True):
    locationTypeDescriptionRegistryText: str | None = None
    locationDescriptionText: str | None = None
    locationByValue: str | None = None
    localIdentifier: Strings = []


class RawAgency(Stamped, frozen=True, kw_only=True):
    incidentOwningAgencyIndicator: bool | None = None


class RawEido(Stamped, frozen=True, kw_only=True):
    incidentComponent: RawIncident | None = None
    emergencyResourceComponent: list[RawUnit] = []
    notesComponent: list[RawNote] = []
    locationComponent: list[RawLocation] = []
    agencyComponent: list[RawAgency] = []


_decoder = msgspec.json.Decoder(RawEido)

# --- what Muster keeps of it -------------------------------------------------------------------


class Civic(msgspec.Struct, frozen=True, kw_only=True):
    """A PIDF-LO civic address (RFC 5139), the elements a school is found by."""

    country: str = ""
    a1: str = ""
    a3: str = ""
    hno: str = ""
    rd: str = ""
    sts: str = ""
    pc: str = ""
    nam: str = ""
    loc: str = ""


class Point(msgspec.Struct, frozen=True):
    lat: float
    lon: float


class Location(msgspec.Struct, frozen=True, kw_only=True):
    ids: list[str] = []  # CAD premise ids (localIdentifier)
    description: str = ""
    civic: Civic | None = None
    point: Point | None = None


class Unit(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str = ""
    primary: str = ""  # Available / ConditionallyAvailable / NotAvailable
    secondary: list[str] = []  # Dispatched, EnRoute, OnScene, Cleared ...
    internal: list[str] = []
    eta: datetime | None = None


class Eido(msgspec.Struct, frozen=True, kw_only=True):
    tracking_id: str  # the top-level `$id`, the same in every snapshot of one incident
    updated_at: datetime
    agency: str | None = None
    cad_id: str | None = None  # incidentComponent.internalIncidentId
    type: str = ""  # APCO common registry type: ACTSHOOT, WEAPON ...
    type_text: str = ""  # the CAD's own code or words
    status: list[str] = []  # common registry statuses
    status_text: list[str] = []  # the CAD's own
    priority: int | None = None  # 0-10, 10 highest
    priority_text: str = ""
    units: list[Unit] = []
    notes: list[str] = []  # plain text, tags stripped
    location: Location | None = None


def parse(raw: bytes) -> Eido:
    """The EIDO in `raw` (one JSON document); raises Invalid(field="$.…") when unreadable."""
    try:
        doc = _decoder.decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise from_validation(exc) from None
    except RecursionError:  # brackets nested past any parser's depth, even in an ignored field
        raise Invalid("the document is nested too deeply to read", field="$") from None
    if not doc.id:
        raise Invalid("an EIDO needs its incident tracking id", field="$.$id")
    updated = _stamp(doc)
    if updated is None:
        raise Invalid("an EIDO needs its last update time", field="$.lastUpdateTimeStamp")
    inc = doc.incidentComponent
    return Eido(
        tracking_id=doc.id, updated_at=updated, agency=_agency(doc),
        cad_id=inc.internalIncidentId if inc else None,
        type=(inc.incidentTypeCommonRegistryText or "") if inc else "",
        type_text=(inc.incidentTypeInternalText or inc.incidentTypeInternalCode or "")
        if inc else "",
        status=_list(inc.incidentStatusCommonRegistryText) if inc else [],
        status_text=_list(inc.incidentStatusInternalText) if inc else [],
        priority=inc.incidentCommonPriorityNumber if inc else None,
        priority_text=(inc.incidentPriorityInternalText or "") if inc else "",
        units=[_unit(u) for u in doc.emergencyResourceComponent if u.id],
        notes=[t for n in doc.notesComponent if (t := plain(n.notesActionComments or ""))],
        location=_location(doc),
    )


def _stamp(part: Stamped) -> datetime | None:
    when = part.stamp or part.stamp_alt
    return when.replace(tzinfo=UTC) if when is not None and when.tzinfo is None else when


def _list(value: Strings) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _agency(doc: RawEido) -> str | None:
    if doc.updatedByAgencyReference and doc.updatedByAgencyReference.ref:
        return doc.updatedByAgencyReference.ref
    owning = [a.id for a in doc.agencyComponent if a.id and a.incidentOwningAgencyIndicator]
    return next(iter(owning + [a.id for a in doc.agencyComponent if a.id]), None)


def _unit(u: RawUnit) -> Unit:
    eta = u.eta.replace(tzinfo=UTC) if u.eta is not None and u.eta.tzinfo is None else u.eta
    return Unit(id=u.id or "", name=u.emergencyResourceName or "",
                primary=u.primaryUnitStatusRegistryText or "",
                secondary=_list(u.secondaryUnitStatusRegistryText),
                internal=_list(u.unitStatusInternal), eta=eta)


_TAG = re.compile(r"<[^>]*>")


def plain(text: str) -> str:
    """Notes are HTML5: their words alone, tags dropped, entities read, spaces collapsed."""
    return " ".join(html.unescape(_TAG.sub(" ", text)).split())


def _location(doc: RawEido) -> Location | None:
    """The CurrentIncident location, else the InitialIncident one, else the first."""
    for wanted in ("CurrentIncident", "InitialIncident", None):
        for i, loc in enumerate(doc.locationComponent):
            if wanted is None or loc.locationTypeDescriptionRegistryText == wanted:
                civic, point = pidf(loc.locationByValue or "",
                                    f"$.locationComponent[{i}].locationByValue")
                return Location(ids=_list(loc.localIdentifier), civic=civic, point=point,
                                description=loc.locationDescriptionText or "")
    return None


CIVIC = ("country", "A1", "A3", "HNO", "RD", "STS", "PC", "NAM", "LOC")


def pidf(xml: str, field: str) -> tuple[Civic | None, Point | None]:
    """A PIDF-LO document's civic address and point (`gml:pos`, "lat lon"); either may be
    absent. Raises Invalid at `field` for XML that does not parse, a DTD, or a bad point."""
    if not xml.strip():
        return None, None
    if "<!DOCTYPE" in xml.upper() or "<!ENTITY" in xml.upper():
        raise Invalid("a PIDF-LO location may not carry a DTD", field=field)
    try:
        root = ET.fromstring(xml)
    except (ET.ParseError, ValueError) as exc:
        raise Invalid(f"the PIDF-LO location is not XML: {exc}", field=field) from None
    civic: Civic | None = None
    point: Point | None = None
    for el in root.iter():
        name = _local(el.tag)
        if name == "civicAddress" and civic is None:
            parts = {_local(c.tag): (c.text or "").strip() for c in el}
            civic = Civic(**{k.lower(): parts[k] for k in CIVIC if k in parts})
        elif name == "pos" and point is None:
            point = _point(el.text or "", field)
    return civic, point


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _point(text: str, field: str) -> Point:
    try:
        lat, lon = (float(x) for x in text.split()[:2])
    except ValueError:
        raise Invalid("a gml:pos must be \"lat lon\"", field=field) from None
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90
            and -180 <= lon <= 180):
        raise Invalid("a gml:pos lies outside latitude and longitude", field=field)
    return Point(lat, lon)
