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
from typing import Any, TypeVar

import msgspec

# The payloads live in event_data; `e.AccountingEntry`, which commands use too, reads on here.
from command.domain.event_data import (
    SYSTEM,
    Actor,
    AlertRaisedData,
    AwayEventScheduledData,
    CommandTransferredData,
    DispatchUpdatedData,
    DrillSignedOffData,
    ExceptionOpenedData,
    ExceptionResolvedData,
    GuardianArrivedData,
    GuardianCheckedInData,
    GuardianMessagesRequestedData,
    GuardianMessagesSentData,
    HandleWithCareIssuedData,
    IncidentCancelledData,
    IncidentClosedData,
    IncidentOpenedData,
    InjectDeliveredData,
    NoteAddedData,
    NotificationEscalatedData,
    NotificationFailedData,
    NotificationSentData,
    PersonsAccountedData,
    ProtocolDeclaredData,
    ProtocolLiftedData,
    ResponderAcknowledgedData,
    ReunificationOpenedData,
    ReunificationPointSetData,
    RoomStatusReportedData,
    RosterChangedData,
    StudentCheckedInData,
    StudentFetchedData,
    StudentReleasedData,
)
from command.domain.event_data import (
    AccountingEntry as AccountingEntry,
)
from command.domain.site import Site
from command.domain.types import (
    Ident,
    Mode,
    Version,
)


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


class GuardianArrived(Envelope, frozen=True, tag="GuardianArrived"):
    data: GuardianArrivedData


class StudentFetched(Envelope, frozen=True, tag="StudentFetched"):
    data: StudentFetchedData


class ExceptionOpened(Envelope, frozen=True, tag="ExceptionOpened"):
    data: ExceptionOpenedData


class ExceptionResolved(Envelope, frozen=True, tag="ExceptionResolved"):
    data: ExceptionResolvedData


class ReunificationPointSet(Envelope, frozen=True, tag="ReunificationPointSet"):
    data: ReunificationPointSetData


class GuardianMessagesRequested(Envelope, frozen=True, tag="GuardianMessagesRequested"):
    data: GuardianMessagesRequestedData


class GuardianMessagesSent(Envelope, frozen=True, tag="GuardianMessagesSent"):
    data: GuardianMessagesSentData


class AwayEventScheduled(Envelope, frozen=True, tag="AwayEventScheduled"):
    data: AwayEventScheduledData


class RosterChanged(Envelope, frozen=True, tag="RosterChanged"):
    data: RosterChangedData


Event = (
    SiteConfigured | AlertRaised | IncidentOpened | ProtocolDeclared | ProtocolLifted
    | RoomStatusReported | PersonsAccounted | StudentCheckedIn | StudentReleased
    | GuardianCheckedIn | DispatchUpdated | ResponderAcknowledged | NoteAdded
    | CommandTransferred | HandleWithCareIssued | NotificationSent | NotificationFailed
    | NotificationEscalated | IncidentCancelled | IncidentClosed | ReunificationOpened
    | InjectDelivered | DrillSignedOff | GuardianArrived | StudentFetched | ExceptionOpened
    | ExceptionResolved | ReunificationPointSet | GuardianMessagesRequested
    | GuardianMessagesSent | AwayEventScheduled | RosterChanged
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
