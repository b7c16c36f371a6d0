"""The event stream's schema (CONTRACT §4): tags, the JSON envelope, round trips, event ids."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest

from command.domain import events as e
from command.domain.site import AwayEvent, Channel, Chaperone, Location, Person
from tests.conftest import small_site

CONTRACT_TYPES = [
    "SiteConfigured", "AlertRaised", "IncidentOpened", "ProtocolDeclared", "ProtocolLifted",
    "RoomStatusReported", "PersonsAccounted", "StudentCheckedIn", "StudentReleased",
    "GuardianCheckedIn", "DispatchUpdated", "ResponderAcknowledged", "NoteAdded",
    "CommandTransferred", "HandleWithCareIssued", "NotificationSent", "NotificationFailed",
    "NotificationEscalated", "IncidentCancelled", "IncidentClosed",
    "ReunificationOpened",  # Muster's own: a commander opening reunification early
    "InjectDelivered",  # Muster's own: a tabletop exercise's scripted inject
    "DrillSignedOff",  # Muster's own: a commander signing a drill's record for the state
    # Muster's own (issue 21): the SRM desk, the exceptions track, guardian messages, away
    # events and roster imports.
    "GuardianArrived", "StudentFetched", "ExceptionOpened", "ExceptionResolved",
    "ReunificationPointSet", "GuardianMessagesRequested", "GuardianMessagesSent",
    "AwayEventScheduled", "RosterChanged",
]
ENVELOPE_KEYS = {"id", "type", "v", "site", "incident_id", "mode", "occurred_at", "recorded_at",
                 "actor", "data"}
T0 = datetime(2025, 3, 4, 9, 0, 0, 123456, tzinfo=UTC)

# One payload of each type, with non-default values wherever a field has a default.
SAMPLES: dict[str, Any] = {
    "SiteConfigured": small_site(),
    "AlertRaised": e.AlertRaisedData(kind="armed_intruder", room="B-112", action="lockdown",
                                     silent=True, note="shots heard", device_id="btn-1"),
    "IncidentOpened": e.IncidentOpenedData(kind="fire", room="GYM", scenario="fire"),
    "ProtocolDeclared": e.ProtocolDeclaredData(action="evacuate", zones=["east"],
                                               evacuate_to="Field", hazard="smoke",
                                               strategy="walk", reason="commander"),
    "ProtocolLifted": e.ProtocolLiftedData(action="lockdown", reason="cancel"),
    "RoomStatusReported": e.RoomStatusReportedData(room="B-112", status="needs_help", present=3,
                                                   missing=["s-1"], injured=["s-2"],
                                                   extra=["s-3"]),
    "PersonsAccounted": e.PersonsAccountedData(entries=[
        e.AccountingEntry(person_id="s-1", status="accounted", location="Field"),
        e.AccountingEntry(person_id="s-2", status="missing")]),
    "StudentCheckedIn": e.StudentCheckedInData(person_id="s-1", area="Field"),
    "StudentReleased": e.StudentReleasedData(person_id="s-1", guardian="Anne Byron",
                                             student_consents=True),
    "GuardianCheckedIn": e.GuardianCheckedInData(guardian="Lord Byron", id_verified=True,
                                                 students=["s-1"], approved=[],
                                                 flags=["s-1: custody restriction"]),
    "DispatchUpdated": e.DispatchUpdatedData(cad_id="CAD-7", status="enroute",
                                             units=[{"id": "E12", "status": "enroute"}],
                                             notes=["two units"], document={"a": [1, 2]}),
    "ResponderAcknowledged": e.ResponderAcknowledgedData(responder="Unit 12"),
    "NoteAdded": e.NoteAddedData(text="line one\nline two"),
    "CommandTransferred": e.CommandTransferredData(commander="Lt. Diaz", agency="Police"),
    "HandleWithCareIssued": e.HandleWithCareIssuedData(person_id="s-4"),
    "NotificationSent": e.NotificationSentData(channel="sro", event_id="ev-1", attempt=2),
    "NotificationFailed": e.NotificationFailedData(channel="sro", event_id="ev-1", attempt=1,
                                                   error="timeout"),
    "NotificationEscalated": e.NotificationEscalatedData(channel="sro", to=["district"],
                                                         event_id="ev-1"),
    "IncidentCancelled": e.IncidentCancelledData(reason="bumped the button"),
    "IncidentClosed": e.IncidentClosedData(summary="all safe"),
    "ReunificationOpened": e.ReunificationOpenedData(reason="parents at the gate, fire spreading"),
    "InjectDelivered": e.InjectDeliveredData(index=2, text="dispatch: two units en route",
                                             at_s=180.0, clock="10:05", source="dispatch"),
    "DrillSignedOff": e.DrillSignedOffData(signed_by="Dr. Rivera", title="Principal",
                                           note="filed with the county"),
    "GuardianArrived": e.GuardianArrivedData(guardian="Anne Byron", students=["s-1"], card="17"),
    "StudentFetched": e.StudentFetchedData(person_id="s-1", guardian="Anne Byron", card="17"),
    "ExceptionOpened": e.ExceptionOpenedData(case_id="x-1", person_id="s-2", kind="hospital",
                                             assigned_to="Ms. Reyes",
                                             assigned_role="administrator",
                                             hospital="St. Luke's", adult="", note="ambulance"),
    "ExceptionResolved": e.ExceptionResolvedData(case_id="x-1", outcome="home with mother",
                                                 released_to="Sara Turing"),
    "ReunificationPointSet": e.ReunificationPointSetData(place="St. Mark's", place_id="church",
                                                         address="400 Elm Street"),
    "GuardianMessagesRequested": e.GuardianMessagesRequestedData(
        place="St. Mark's", text="Reunification for Test High is at St. Mark's; bring photo ID"),
    "GuardianMessagesSent": e.GuardianMessagesSentData(request_id="ev-9", batch=2, sent=49,
                                                       failed=1, skipped=3, error="timeout"),
    "AwayEventScheduled": e.AwayEventScheduledData(event=AwayEvent(
        id="game", name="Away game", kind="game", place=Location(text="Central High", lat=41.9,
                                                                 lon=-87.6),
        starts_at=T0, ends_at=T0 + timedelta(hours=3), people=["s-1"],
        chaperones=[Chaperone(id="c-1", name="Pat Parent", phone="555-0100")])),
    "RosterChanged": e.RosterChangedData(added=[Person(id="s-9", name="New Student")],
                                         changed=[], removed=["s-6"], source="oneroster",
                                         part=2, parts=3),
}


def sample(tag: str) -> e.Envelope:
    cls = {t.__struct_config__.tag: t for t in e.EVENT_TYPES}[tag]
    return cls(id=str(uuid.uuid4()), site="test-high", incident_id="inc-1", mode="drill",
               occurred_at=T0, recorded_at=T0 + timedelta(milliseconds=5),
               actor=e.Actor(kind="user", id="principal", role="commander"), data=SAMPLES[tag])


def test_every_contract_type_is_in_the_union_with_its_exact_tag() -> None:
    tags = [t.__struct_config__.tag for t in e.EVENT_TYPES]
    assert sorted(tags) == sorted(CONTRACT_TYPES)
    assert len(set(tags)) == len(tags)
    assert all(t.__struct_config__.tag_field == "type" for t in e.EVENT_TYPES)


@pytest.mark.parametrize("tag", CONTRACT_TYPES)
def test_event_round_trips_equal(tag: str) -> None:
    event = sample(tag)
    back = e.decode(e.encode(event))
    assert type(back) is type(event)
    assert back == event
    assert e.type_of(back) == tag


@pytest.mark.parametrize("tag", CONTRACT_TYPES)
def test_json_envelope_has_exactly_the_contract_keys(tag: str) -> None:
    doc = msgspec.json.decode(e.encode(sample(tag)))
    assert set(doc) == ENVELOPE_KEYS
    assert doc["type"] == tag and doc["v"] == 1 and doc["mode"] == "drill"
    assert {"kind", "id"} <= set(doc["actor"])
    assert doc["actor"]["kind"] == "user" and doc["actor"]["id"] == "principal"
    assert isinstance(doc["data"], dict)


def test_envelope_defaults_are_written_out() -> None:
    event = e.NoteAdded(id="x", site="s", occurred_at=T0, recorded_at=T0,
                        data=e.NoteAddedData(text="hi"))
    doc = msgspec.json.decode(e.encode(event))
    assert (doc["v"], doc["mode"], doc["incident_id"]) == (1, "live", None)
    assert doc["actor"]["kind"] == "system" and doc["actor"]["id"] == "muster"
    assert doc["occurred_at"] == "2025-03-04T09:00:00.123456Z"


def test_a_v1_event_without_newer_optional_fields_still_decodes() -> None:
    raw = (b'{"type":"ProtocolDeclared","id":"x","site":"s","occurred_at":"2025-03-04T09:00:00Z",'
           b'"recorded_at":"2025-03-04T09:00:00Z","data":{"action":"hold"}}')
    event = e.decode(raw)
    assert isinstance(event, e.ProtocolDeclared)
    assert (event.v, event.mode, event.data.reason, event.data.zones) == (1, "live", "alert", [])


def test_an_unknown_type_is_rejected() -> None:
    raw = (b'{"type":"Nope","id":"x","site":"s","occurred_at":"2025-03-04T09:00:00Z",'
           b'"recorded_at":"2025-03-04T09:00:00Z","data":{}}')
    with pytest.raises(msgspec.ValidationError):
        e.decode(raw)


def test_client_event_ids_are_deterministic_and_distinct_across_indexes() -> None:
    cid = "0b8a3f1e-5c1d-4b7e-9d55-2f6a9a1c3e77"
    ids = e.client_event_ids(cid, 5)
    assert ids == e.client_event_ids(cid, 5)
    assert e.client_event_ids(cid, 2) == ids[:2]
    assert e.client_event_ids(cid, 5, start=1) == ids[1:]  # the rest, once the first is known
    assert len(set(ids)) == 5
    assert all(uuid.UUID(i) for i in ids)
    assert set(ids).isdisjoint(e.client_event_ids("1c9b4e2f-6d2e-4c8f-8e66-3a7b0b2d4f88", 5))


def test_without_a_client_id_event_ids_are_fresh() -> None:
    first, second = e.client_event_ids(None, 3), e.client_event_ids(None, 3)
    assert len(set(first) | set(second)) == 6


def test_subject_names_the_site_and_incident() -> None:
    assert e.subject("muster.events", "demo-high", "inc-1") == "muster.events.demo-high.inc-1"
    assert e.subject("muster.events", "demo-high", None) == "muster.events.demo-high._site"


# --- bounded numbers and the tolerant v1 reader (issue 14, item 1) ----------------------------


def _types(t: msgspec.inspect.Type, seen: set[int],
           where: str = "") -> list[tuple[str, msgspec.inspect.Type]]:
    """Every type reachable from `t`, each with the struct field it is (or is inside of)."""
    if id(t) in seen:
        return []
    seen.add(id(t))
    found: list[tuple[str, msgspec.inspect.Type]] = [(where, t)]
    if isinstance(t, msgspec.inspect.StructType):
        for f in t.fields:
            found += _types(f.type, seen, f"{t.cls.__name__}.{f.name}")
    for child in ("types", "item_type", "key_type", "value_type", "item_types"):
        inner = getattr(t, child, None)
        for sub in inner if isinstance(inner, tuple) else [inner] if inner is not None else []:
            found += _types(sub, seen, where)
    return found


def _schemas() -> list[tuple[str, msgspec.inspect.Type]]:
    from command.domain import commands as c
    roots = [e.Event, *[t for t in vars(c).values()
                        if isinstance(t, type) and issubclass(t, c.Command)]]
    return [pair for root in roots for pair in _types(msgspec.inspect.type_info(root), set())]


def test_every_number_in_every_schema_is_bounded_below_and_above() -> None:
    numbers = [(where, t) for where, t in _schemas()
               if isinstance(t, msgspec.inspect.IntType | msgspec.inspect.FloatType)]
    # The numbers the reproductions reached are among those walked.
    assert {where for where, _ in numbers} >= {"Site.cancel_window_s", "Room.floor",
                                               "Channel.escalate_after_s"}
    unbounded = sorted({where for where, t in numbers
                        if (t.ge is None and t.gt is None) or (t.le is None and t.lt is None)})
    assert unbounded == []


def test_no_field_that_accepts_null_has_another_default() -> None:
    """The tolerant reader drops a field it cannot read so its default applies: a field where
    null is a value of its own must read null as its default, or dropping one changes meaning."""
    wrong = []
    for t in msgspec.inspect.multi_type_info([e.Event, *_command_types()]):
        for struct in _structs(t, set()):
            for f in struct.fields:
                nullable = isinstance(f.type, msgspec.inspect.NoneType | msgspec.inspect.AnyType) \
                    or (isinstance(f.type, msgspec.inspect.UnionType) and f.type.includes_none)
                if nullable and f.default is not msgspec.NODEFAULT and f.default is not None:
                    wrong.append(f"{struct.cls.__name__}.{f.name}")
                if nullable and f.default_factory is not msgspec.NODEFAULT:
                    wrong.append(f"{struct.cls.__name__}.{f.name}")
    assert wrong == []


def _command_types() -> list[type]:
    from command.domain import commands as c
    return [t for t in vars(c).values() if isinstance(t, type) and issubclass(t, c.Command)]


def _structs(t: msgspec.inspect.Type, seen: set[int]) -> list[msgspec.inspect.StructType]:
    return [s for _, s in _types(t, seen) if isinstance(s, msgspec.inspect.StructType)]


def _raw(tag: str, edit: Any) -> bytes:
    doc = msgspec.to_builtins(sample(tag))
    edit(doc["data"])
    return msgspec.json.encode(doc)


def test_a_site_file_written_with_null_and_huge_numbers_is_read_with_defaults_and_logged(
        caplog: pytest.LogCaptureFixture) -> None:
    """The shape an older version wrote: NaN stored as null, 1e12 seconds, a 300-letter zone."""
    def poison(site: dict[str, Any]) -> None:
        site["cancel_window_s"] = None
        site["timezone"] = "a" * 300
        site["rooms"][1]["floor"] = 1e12
        site["channels"] = [{"name": "sro", "url": "json://127.0.0.1:9/", "escalate_after_s": 1e12}]
    raw = _raw("SiteConfigured", poison)
    with pytest.raises(msgspec.ValidationError, match=r"\$\.data\.timezone"):
        e.strict(raw)
    with caplog.at_level("WARNING", logger="muster.events"):
        event = e.decode(raw)
    assert isinstance(event, e.SiteConfigured)
    assert (event.data.cancel_window_s, event.data.timezone) == (10.0, "UTC")
    assert event.data.rooms[1].floor == 1 and event.data.channels[0].escalate_after_s is None
    assert event.data == msgspec.structs.replace(
        SAMPLES["SiteConfigured"],
        rooms=[*SAMPLES["SiteConfigured"].rooms[:1],
               msgspec.structs.replace(SAMPLES["SiteConfigured"].rooms[1], floor=1),
               *SAMPLES["SiteConfigured"].rooms[2:]],
        channels=[Channel(name="sro", url="json://127.0.0.1:9/")])
    logged = [r.getMessage() for r in caplog.records]
    for path in ("$.data.cancel_window_s", "$.data.timezone", "$.data.rooms[1].floor",
                 "$.data.channels[0].escalate_after_s"):
        assert any(event.id in line and path in line for line in logged), (path, logged)


def test_a_null_attempt_count_is_read_as_its_default() -> None:
    event = e.decode(_raw("NotificationSent", lambda d: d.update(attempt=None)))
    assert isinstance(event, e.NotificationSent) and event.data.attempt == 1


@pytest.mark.parametrize(("tag", "edit", "path"), [
    # No default to fall back on: the field is required.
    ("NotificationFailed", lambda d: d.update(attempt=None), "$.data.attempt"),
    # A list item or a dict's value has no default of its own.
    ("SiteConfigured", lambda d: d.update(policy={"fire": "panic"}), "$.data.policy[...]"),
    ("SiteConfigured", lambda d: d["people"][0]["guardians"].append(None),
     "$.data.people[0].guardians[1]"),
])
def test_what_has_no_default_to_read_still_fails(tag: str, edit: Any, path: str) -> None:
    raw = _raw(tag, edit)
    with pytest.raises(msgspec.ValidationError) as failed:
        e.decode(raw)
    assert str(failed.value).endswith(f"`{path}`")
