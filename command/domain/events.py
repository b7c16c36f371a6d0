"""The event stream's schema (CONTRACT §4): one envelope, a tagged union over `type`.

Schema evolution rules, which every change to this module must keep:
- a new field gets a default, so events already in the stream still decode;
- a field's type never changes, and a field is never renamed;
- a removed field stays, as optional, so old events keep their meaning;
- anything else is a breaking change: a new version of the type, with `"v": 2`, and readers
  keep reading v1 for ever (events are never changed or deleted);
- a constraint may narrow on input (every number is finite and bounded) but old events still
  read: `decode` reads a field an old version wrote beyond today's bounds (NaN stored as null,
  1e12 seconds) as the field's default, and logs it; a field without a default still fails.
Tags are the contract's type names, written out here, never derived from class or import paths.
"""

import logging
import os
import re
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, TypeVar

import msgspec

from command.domain.site import Site
from command.domain.types import (
    AlertKind,
    Attempt,
    Count,
    Ident,
    Label,
    Mode,
    Name,
    PersonStatus,
    RoomStatus,
    Seconds,
    SrpAction,
    Text,
    TokenId,
    Version,
)


class Actor(msgspec.Struct, frozen=True):
    kind: Literal["device", "user", "integration", "system"]
    id: str
    role: str | None = None
    token_id: TokenId | None = None  # the bearer token's row: `id` is its name, which only shows


SYSTEM = Actor(kind="system", id="muster")
Priority = Annotated[int, msgspec.Meta(ge=0, le=10)]  # an EIDO's common priority number


class Data(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=False):
    """Event payloads: frozen and keyword-only so field order never matters to a reader."""


class AlertRaisedData(Data):
    kind: AlertKind
    room: Ident
    action: SrpAction
    silent: bool = False
    note: Text | None = None
    device_id: str | None = None


class IncidentOpenedData(Data):
    kind: AlertKind
    room: Ident | None = None
    scenario: AlertKind | None = None
    note: Text | None = None  # a drill's: what it practises, for the debrief


class ProtocolDeclaredData(Data):
    action: SrpAction
    zones: list[Name] = []
    evacuate_to: Name | None = None
    hazard: Name | None = None
    strategy: Name | None = None
    reason: str = "alert"
    evacuation_site: Ident | None = None  # the site file's id of the place `evacuate_to` names


class ProtocolLiftedData(Data):
    action: SrpAction
    reason: Literal["all_clear", "cancel"] = "all_clear"


class RoomStatusReportedData(Data):
    room: Ident
    status: RoomStatus
    present: Count | None = None
    missing: list[Ident] = []
    injured: list[Ident] = []
    extra: list[Ident] = []


class AccountingEntry(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    person_id: Ident
    status: PersonStatus
    location: Name | None = None


class PersonsAccountedData(Data):
    entries: list[AccountingEntry]


class StudentCheckedInData(Data):
    person_id: Ident
    area: Name | None = None


class GuardianCheckedInData(Data):
    guardian: Name
    id_verified: bool
    students: list[Ident]
    approved: list[Ident] = []
    flags: list[str] = []


class ReunificationOpenedData(Data):
    """A commander opening reunification before accounting is complete, and why."""

    reason: Text


class StudentReleasedData(Data):
    person_id: Ident
    guardian: Name
    student_consents: bool


class DispatchUpdatedData(Data):
    """What a 911 CAD's EIDO snapshot says (issue 19): units are {id, name, status, eta?}
    with status dispatched, en_route, on_scene, cleared or available, eta ISO 8601."""

    cad_id: str | None = None
    status: str | None = None  # the most advanced common registry status, e.g. ResourcesOnscene
    units: list[dict[str, str]] = []
    notes: list[str] = []
    document: dict | None = None
    tracking_id: Label | None = None  # the EIDO's top-level `$id`: one per 911 incident
    updated_at: datetime | None = None  # the EIDO's lastUpdateTimeStamp
    type: Label | None = None  # APCO common incident type: ACTSHOOT, WEAPON ...
    type_text: Label | None = None  # the CAD's own words for it
    statuses: list[Label] = []  # every common registry status it gives
    priority: Priority | None = None  # 0-10, 10 highest
    priority_text: Label | None = None
    agency: Label | None = None  # the agency that sent it (updatedByAgencyReference)


class ResponderAcknowledgedData(Data):
    responder: Name


class NoteAddedData(Data):
    text: Text


class CommandTransferredData(Data):
    commander: Name
    agency: Name


class HandleWithCareIssuedData(Data):
    person_id: Ident


class NotificationSentData(Data):
    channel: Ident
    event_id: str
    attempt: Attempt = 1


class NotificationFailedData(Data):
    channel: Ident
    event_id: str
    attempt: Attempt
    error: str


class NotificationEscalatedData(Data):
    channel: Ident
    to: list[Ident]
    event_id: str


class InjectDeliveredData(Data):
    """A tabletop's scripted inject, as the facilitator's player delivered it."""

    index: Count  # its place in the scenario, from 0
    text: Text
    at_s: Seconds = 0.0  # its offset in the script from the exercise's start
    clock: Label = ""  # the script's own clock, "10:02", as the facilitator wrote it
    source: Label = ""  # who speaks in it: "a parent on the phone", "dispatch"
    expect: Text | None = None  # what the scenario expects the team to do: for the debrief


class DrillSignedOffData(Data):
    """A commander's sign-off of the drill's record, as filed with the state."""

    signed_by: Name
    title: Label = ""  # the signer's position, "Principal"
    note: Text | None = None


class IncidentCancelledData(Data):
    reason: Text


class IncidentClosedData(Data):
    summary: Text | None = None


class Envelope(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    """The contract's envelope; `type` is the union tag, `data` the type's own payload."""

    id: str
    v: Version = 1
    site: Ident
    incident_id: str | None = None
    mode: Mode = "live"
    occurred_at: datetime
    recorded_at: datetime
    actor: Actor = SYSTEM


class SiteConfigured(Envelope, frozen=True, tag="SiteConfigured"):
    data: Site


class AlertRaised(Envelope, frozen=True, tag="AlertRaised"):
    data: AlertRaisedData


class IncidentOpened(Envelope, frozen=True, tag="IncidentOpened"):
    data: IncidentOpenedData


class ProtocolDeclared(Envelope, frozen=True, tag="ProtocolDeclared"):
    data: ProtocolDeclaredData


class ProtocolLifted(Envelope, frozen=True, tag="ProtocolLifted"):
    data: ProtocolLiftedData


class RoomStatusReported(Envelope, frozen=True, tag="RoomStatusReported"):
    data: RoomStatusReportedData


class PersonsAccounted(Envelope, frozen=True, tag="PersonsAccounted"):
    data: PersonsAccountedData


class StudentCheckedIn(Envelope, frozen=True, tag="StudentCheckedIn"):
    data: StudentCheckedInData


class StudentReleased(Envelope, frozen=True, tag="StudentReleased"):
    data: StudentReleasedData


class ReunificationOpened(Envelope, frozen=True, tag="ReunificationOpened"):
    data: ReunificationOpenedData


class GuardianCheckedIn(Envelope, frozen=True, tag="GuardianCheckedIn"):
    data: GuardianCheckedInData


class DispatchUpdated(Envelope, frozen=True, tag="DispatchUpdated"):
    data: DispatchUpdatedData


class ResponderAcknowledged(Envelope, frozen=True, tag="ResponderAcknowledged"):
    data: ResponderAcknowledgedData


class NoteAdded(Envelope, frozen=True, tag="NoteAdded"):
    data: NoteAddedData


class CommandTransferred(Envelope, frozen=True, tag="CommandTransferred"):
    data: CommandTransferredData


class HandleWithCareIssued(Envelope, frozen=True, tag="HandleWithCareIssued"):
    data: HandleWithCareIssuedData


class NotificationSent(Envelope, frozen=True, tag="NotificationSent"):
    data: NotificationSentData


class NotificationFailed(Envelope, frozen=True, tag="NotificationFailed"):
    data: NotificationFailedData


class NotificationEscalated(Envelope, frozen=True, tag="NotificationEscalated"):
    data: NotificationEscalatedData


class IncidentCancelled(Envelope, frozen=True, tag="IncidentCancelled"):
    data: IncidentCancelledData


class IncidentClosed(Envelope, frozen=True, tag="IncidentClosed"):
    data: IncidentClosedData


class InjectDelivered(Envelope, frozen=True, tag="InjectDelivered"):
    data: InjectDeliveredData


class DrillSignedOff(Envelope, frozen=True, tag="DrillSignedOff"):
    data: DrillSignedOffData


Event = (
    SiteConfigured | AlertRaised | IncidentOpened | ProtocolDeclared | ProtocolLifted
    | RoomStatusReported | PersonsAccounted | StudentCheckedIn | StudentReleased
    | GuardianCheckedIn | DispatchUpdated | ResponderAcknowledged | NoteAdded
    | CommandTransferred | HandleWithCareIssued | NotificationSent | NotificationFailed
    | NotificationEscalated | IncidentCancelled | IncidentClosed | ReunificationOpened
    | InjectDelivered | DrillSignedOff
)
EVENT_TYPES: tuple[type[Envelope], ...] = Event.__args__  # type: ignore[attr-defined]
# The one list of what nobody may see: not on a board, timeline, report, replay or /metrics, and
# neither is any record about one (command/domain/redact.py applies it; its command is not counted).
NEVER_SHOWN: tuple[type[Envelope], ...] = (HandleWithCareIssued,)

_decoder = msgspec.json.Decoder(Event)
_encoder = msgspec.json.Encoder()
_site_decoder = msgspec.json.Decoder(Site)
log = logging.getLogger("muster.events")
T = TypeVar("T")
MAX_REPAIRS = 16  # fields dropped from one event before it is given up as unreadable
# A value of the wrong type or out of bounds, at a path; not a missing or unknown field.
_REPAIRABLE = re.compile(r"^(?:Expected `.*|Number out of range) - at `(\$[^`]*)`$", re.S)
_STEP = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")
_PATH = re.compile(r"(?:\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\])*")  # a dict's `[...]` is not followed
SITE_SUBJECT_TOKEN = "_site"
# Fixed namespace: a client_event_id maps to the same event ids on every replica, for ever.
_CLIENT_NS = uuid.UUID("6f1d6c1e-4a53-4d2b-9a57-5e3c1f0b7a11")


def decode(raw: bytes) -> Event:
    """An event from the stream; one an old version wrote out of today's bounds is still read
    (see `tolerant`), so no consumer stops at it."""
    try:
        return _decoder.decode(raw)
    except msgspec.ValidationError as exc:
        return tolerant(raw, exc, _decoder)


def decode_site(raw: bytes | str) -> Site:
    """A site file as a read model stored it (an older version's bounds), read as an event is."""
    try:
        return _site_decoder.decode(raw)
    except msgspec.ValidationError as exc:
        return tolerant(raw, exc, _site_decoder)


def strict(raw: bytes) -> Event:
    """The schema exactly, no repair: what intake checks a new event against before it writes."""
    return _decoder.decode(raw)


def tolerant(raw: bytes | str, error: msgspec.ValidationError,
             decoder: msgspec.json.Decoder[T]) -> T:
    """Read a v1 document whose fields fail today's type or bounds by dropping each such field,
    so its default applies, one at a time; `error` is raised if that does not make it read."""
    doc = msgspec.json.decode(raw)
    failed = error
    for _ in range(MAX_REPAIRS):
        found = _REPAIRABLE.match(str(failed))
        parent, name = _locate(doc, found[1]) if found else (None, "")
        if parent is None or name not in parent:
            raise error
        value = parent[name]  # a number is shown; text may be a roster's, so only its kind
        shown = repr(value)[:40] if value is None or isinstance(value, int | float) else \
            f"a {type(value).__name__}"
        log.warning("%s %s: %s cannot be read as written (%s); reading its default",
                    "event" if "type" in doc else "site file",  # type: ignore[operator]
                    doc.get("id"), found[1], shown)  # type: ignore[union-attr]
        del parent[name]
        try:
            return decoder.decode(_encoder.encode(doc))
        except msgspec.ValidationError as again:
            failed = again
    raise error


def _locate(doc: object, path: str) -> tuple[dict[str, Any] | None, str]:
    """The object holding the field at a msgspec path (`$.data.rooms[0].floor`), and its name;
    None when the path ends anywhere but at a named field (a list item, a dict's value)."""
    rest = path.removeprefix("$")
    steps = _STEP.findall(rest)
    if not _PATH.fullmatch(rest) or not steps or not steps[-1][0]:
        return None, ""
    for name, index in steps[:-1]:
        if name and isinstance(doc, dict) and name in doc:
            doc = doc[name]
        elif index and isinstance(doc, list) and int(index) < len(doc):
            doc = doc[int(index)]
        else:
            return None, ""
    return (doc, steps[-1][0]) if isinstance(doc, dict) else (None, "")


def encode(event: Envelope) -> bytes:
    return _encoder.encode(event)


def type_of(event: Envelope) -> str:
    return type(event).__struct_config__.tag  # type: ignore[return-value]


def subject(prefix: str, site: str, incident_id: str | None) -> str:
    return f"{prefix}.{site}.{incident_id or SITE_SUBJECT_TOKEN}"


def now() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    """A random (version 4) UUID's text, as str(uuid.uuid4()) but without building a UUID:
    every event draws one."""
    b = bytearray(os.urandom(16))
    b[6] = (b[6] & 0x0F) | 0x40  # version 4
    b[8] = (b[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def client_event_ids(client_event_id: str | None, count: int, start: int = 0) -> list[str]:
    """Event ids for a command's events (from the `start`th); deterministic when the client
    named the command."""
    if client_event_id is None:
        return [new_id() for _ in range(start, count)]
    return [str(uuid.uuid5(_CLIENT_NS, f"{client_event_id}/{i}")) for i in range(start, count)]
