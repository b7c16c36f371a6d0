"""HTTP command bodies (CONTRACT §2), decoded and validated by msgspec before anything runs."""

import uuid

import msgspec

from command.domain.events import AccountingEntry, DispatchUpdatedData
from command.domain.scenario import Clock, InjectText, Scenario
from command.domain.site import Site
from command.domain.types import (
    AlertKind,
    Count,
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
    kind: AlertKind
    room: Ident
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


class CheckGuardian(Command):
    guardian: Name
    id_verified: bool
    students: list[Ident]


class Release(Command):
    person_id: Ident
    guardian: Name
    student_consents: bool


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
