"""HTTP command bodies (CONTRACT §2), decoded and validated by msgspec before anything runs."""

import uuid
from datetime import datetime
from typing import Literal

import msgspec

from command.domain.events import AccountingEntry, DispatchUpdatedData
from command.domain.scenario import Clock, InjectText, Scenario
from command.domain.site import Chaperone, Location, Person, Site
from command.domain.types import (
    AlertKind,
    CaseRole,
    Count,
    ExceptionKind,
    Ident,
    Label,
    Name,
    RoomStatus,
    Seconds,
    SrpAction,
    Text,
)


class Command(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A request body: frozen, unknown fields refused, named by the client for dedupe."""

    client_event_id: uuid.UUID | None = None


class RaiseAlert(Command):
    """A press: exactly one of `room`, `bus` or `away_event` says where (their ids share one
    namespace); a bus or an away event's press may say where it is now in `location`."""

    kind: AlertKind
    room: Ident | None = None
    bus: Ident | None = None
    away_event: Ident | None = None
    location: Location | None = None
    silent: bool = False
    note: Text | None = None
    device_id: Ident | None = None
    drill: bool = False


class StartDrill(Command):
    scenario: AlertKind
    note: Text | None = None


class StartTabletop(Command):
    """A tabletop exercise: a shipped scenario by name, or a whole scenario inline. The edge
    puts a shipped one in place of its name before the decision."""

    scenario: Name | Scenario
    note: Text | None = None


class DeliverInject(Command):
    """One inject of the tabletop's script, as the facilitator's player delivers it."""

    index: Count
    text: InjectText
    at_s: Seconds = 0.0
    clock: Clock | None = None
    source: Label = ""
    expect: Text | None = None  # the scenario's: what the team should do, for the debrief


class SignOff(Command):
    """A commander signs the incident's record, as it is filed with the state."""

    signed_by: Name
    title: Label = ""
    note: Text | None = None


class DeclareProtocol(Command):
    action: SrpAction
    zones: list[Name] = []
    evacuate_to: Name | None = None
    hazard: Name | None = None
    strategy: Name | None = None


class ReportRoomStatus(Command):
    status: RoomStatus
    present: Count | None = None
    missing: list[Ident] = []
    injured: list[Ident] = []
    extra: list[Ident] = []


class AccountPersons(Command):
    entries: list[AccountingEntry] = msgspec.field(default_factory=list)


class CheckIn(Command):
    person_id: Ident
    area: Name | None = None


class GreetGuardian(Command):
    """SRM greeter: an adult arrives at check-in, takes a card, names the students."""

    guardian: Name
    students: list[Ident]
    card: Label = ""


class CheckGuardian(Command):
    guardian: Name
    id_verified: bool
    students: list[Ident]
    card: Label = ""


class FetchStudent(Command):
    """SRM reunifier: the student is fetched from the assembly area for a checked guardian."""

    person_id: Ident
    guardian: Name
    card: Label = ""


class Release(Command):
    person_id: Ident
    guardian: Name
    student_consents: bool
    card: Label = ""


class OpenException(Command):
    """A student moved onto the exceptions track, assigned to a counsellor or administrator."""

    person_id: Ident
    kind: ExceptionKind
    assigned_to: Name
    assigned_role: CaseRole = "counsellor"
    hospital: Label = ""
    adult: Label = ""
    note: Text | None = None


class ResolveException(Command):
    case_id: Ident
    outcome: Text
    released_to: Name | None = None
    id_verified: bool = False  # the resolver saw the adult's photo ID (where they met)


class SetReunificationPoint(Command):
    """Where guardians collect students: a place's id from the site file, or words."""

    place: Name


class MessageGuardians(Command):
    """Send every listed guardian where reunification is (the site's guardian_messages)."""

    place: Name | None = None  # default: the incident's reunification point


class Relocate(Command):
    """The evacuation site is unsafe: everyone moves on to another, in one command."""

    to: Name  # a place's id from the site file, or words
    reason: Text


class ScheduleAwayEvent(Command):
    """A game or field trip with its own roster and place (site.AwayEvent's fields)."""

    id: Ident
    name: Name
    kind: Literal["game", "field_trip", "other"] = "other"
    place: Location = Location()
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    people: list[Ident] = []
    chaperones: list[Chaperone] = []


class ImportRoster(Command):
    """A roster as a OneRoster import read it: decide writes only what differs from the
    site's current people (nothing when nothing does)."""

    people: list[Person]
    source: Label = "oneroster"
    # whether `people` say who is restricted (users.csv has metadata.muster.restricted);
    # when not, everyone keeps their current restrictions: a sync never drops a custody order
    restrictions: bool = False


class OpenReunification(Command):
    reason: Text


class Acknowledge(Command):
    responder: Name


class AddNote(Command):
    text: Text


class AllClear(Command):
    pass


class Cancel(Command):
    reason: Text


class TransferCommand(Command):
    commander: Name
    agency: Name


class HandleWithCare(Command):
    person_id: Ident


class Close(Command):
    summary: Text | None = None


class ConfigureSite(Command):
    """A site file imported by an admin or `muster site import`."""

    site: Site


class ReceiveDispatch(Command):
    """A 911 CAD's EIDO snapshot, parsed, mapped (dispatch_rules.snapshot) and matched to this
    site: it updates the site's open incident, or opens one of the kind its APCO type maps to."""

    dispatch: DispatchUpdatedData
