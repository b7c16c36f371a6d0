"""The payloads of the stream's events (CONTRACT §4): each type's `data`, and the actor who
caused it. The schema evolution rules in events.py's docstring bind every field here too.
"""

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from command.domain.site import AwayEvent, Location, Person
from command.domain.types import (
    AlertKind,
    Attempt,
    CaseRole,
    Count,
    ExceptionKind,
    Ident,
    Label,
    Name,
    PersonStatus,
    RoomStatus,
    Seconds,
    SrpAction,
    Text,
    TokenId,
    UnitKind,
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
    room: Ident  # the room's id, or the bus's or away event's (`unit` says which)
    action: SrpAction
    silent: bool = False
    note: Text | None = None
    device_id: str | None = None
    unit: UnitKind = "room"
    location: Location | None = None  # where a bus or an away event's people are, as told


class IncidentOpenedData(Data):
    kind: AlertKind
    room: Ident | None = None
    unit: UnitKind = "room"  # what `room` names: a room, a bus or an away event
    scenario: AlertKind | None = None
    note: Text | None = None  # a drill's: what it practises, for the debrief


class ProtocolDeclaredData(Data):
    action: SrpAction
    zones: list[Name] = []
    evacuate_to: Name | None = None
    hazard: Name | None = None
    strategy: Name | None = None
    reason: str = "alert"  # alert, drill, commander, relocation
    evacuation_site: Ident | None = None  # the site file's id of the place `evacuate_to` names
    relocated_from: Name | None = None  # a relocation: the place people are leaving
    relocation_reason: Text | None = None  # why: "smoke over the north field"


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


class GuardianArrivedData(Data):
    """SRM's greeter: an adult reaches the check-in area, takes a card and names the students
    they came for; from now the adult waits in the queue."""

    guardian: Name
    students: list[Ident]
    card: Label = ""  # the reunification card's number


class GuardianCheckedInData(Data):
    guardian: Name
    id_verified: bool
    students: list[Ident]
    approved: list[Ident] = []
    flags: list[str] = []
    card: Label = ""


class StudentFetchedData(Data):
    """SRM's reunifier took the card's bottom half to the assembly area and has the student."""

    person_id: Ident
    guardian: Name
    card: Label = ""


class ExceptionOpenedData(Data):
    """A student taken off the general queue onto the exceptions track, assigned to a person."""

    case_id: Ident
    person_id: Ident
    kind: ExceptionKind
    assigned_to: Name
    assigned_role: CaseRole = "counsellor"
    hospital: Label = ""  # kind hospital: where the student was taken
    adult: Label = ""  # kind unlisted_adult: who came
    note: Text | None = None


class ExceptionResolvedData(Data):
    """An exception's outcome, as its counsellor or administrator records it."""

    case_id: Ident
    outcome: Text
    released_to: Name | None = None  # a listed guardian the student went home with, if any
    id_verified: bool = False  # the resolver saw that adult's photo ID


class ReunificationPointSetData(Data):
    """Where guardians go to collect students: a place of the site file, or as written."""

    place: Name
    place_id: Ident | None = None
    address: Text = ""


class GuardianMessagesRequestedData(Data):
    """A commander asks Muster to tell guardians where reunification is."""

    place: Name
    text: Text  # the message as sent, DRILL-labelled in a drill


class GuardianMessagesSentData(Data):
    """One batch of guardian messages as the notifier sent it: counts only, never a contact."""

    request_id: str  # the GuardianMessagesRequested event's id
    batch: Count
    sent: Count = 0
    failed: Count = 0
    skipped: Count = 0  # contacts left out: restricted adults, or no address for any channel
    error: Label | None = None


class AwayEventScheduledData(Data):
    """A game or field trip as scheduled ahead of time, or on the spot: replaces one of its id."""

    event: AwayEvent


class RosterChangedData(Data):
    """What a roster import changed since the last one: people added, changed (moved, new
    guardians or restrictions) and removed. A re-import of the same files writes none."""

    added: list[Person] = []
    changed: list[Person] = []
    removed: list[Ident] = []
    source: Label = "oneroster"
    part: Count = 1  # one import's changes may span several events of one atomic append
    parts: Count = 1


class ReunificationOpenedData(Data):
    """A commander opening reunification before accounting is complete, and why."""

    reason: Text


class StudentReleasedData(Data):
    person_id: Ident
    guardian: Name
    student_consents: bool
    card: Label = ""


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
