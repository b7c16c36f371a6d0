"""Need to know (command/domain/redact.py): what each role sees of a board and of an event.

Given a real board or real events (folded from `decide`), when a role reads them, then names
and custody flags reach only staff and commanders, the responder packet only responders and
commanders, and what is never shown reaches nobody.
"""

import json
from typing import Any

import msgspec
import pytest

from command.domain import board, board_render, redact
from command.domain import commands as c
from command.domain import events as e
from command.domain.site import ResponderPacket
from tests.command.domain.test_site_state import (
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

DOOR_CODE = "door code 4711#"  # in the responder packet
ROSTER_NAMES = ("Ada Lovelace", "Alan Turing", "Lord Byron")  # students and a guardian
ROLES = ("commander", "staff", "responder", "dispatch")
SEES_ROSTER = {"commander", "staff"}
SEES_PACKET = {"commander", "responder"}


def history() -> list[e.Envelope]:
    """A fire with a missing student, an injured one and a guardian flagged by a custody order,
    at a site whose responder packet has a door code."""
    configured_site = configured(site(responder_packet=ResponderPacket(
        door_codes=DOOR_CODE, knox_box="north entrance")))
    staff = ctx(STAFF, at=60, incident=LIVE)
    return [configured_site, *run(
        given(configured_site), (press("fire"), ctx()),
        (c.ReportRoomStatus(status="needs_help", missing=["s-2"], injured=["s-1"]),
         ctx(STAFF, at=50, incident=LIVE, room="B-112")),
        (c.CheckGuardian(guardian="Lord Byron", id_verified=True, students=["s-1"]), staff),
    )[1]]


def rendered() -> dict[str, Any]:
    return board_render.render(board.fold(SITE_ID, list(enumerate(history(), start=1))))


def text(view: Any) -> str:
    return json.dumps(view, default=str)


@pytest.mark.parametrize("role", ROLES)
def test_each_role_sees_the_board_it_needs_to_know(role: str) -> None:
    """Given a board naming a missing and an injured student and a flagged guardian, with a
    responder packet, then staff and commanders read the names and flags, responders and
    commanders the packet, dispatch neither; everything else is the same for all."""
    whole = rendered()
    assert sorted(p["name"] for p in whole["people"]) == ["Ada Lovelace", "Alan Turing"]
    view = redact.board_view(whole, role)
    shown = text(view)
    assert all((name in shown) == (role in SEES_ROSTER) for name in ROSTER_NAMES)
    assert (DOOR_CODE in shown) == (role in SEES_PACKET)
    assert ("people" in view and "flags" in view and "roster" in view) == (role in SEES_ROSTER)
    assert ("responder_packet" in view) == (role in SEES_PACKET)
    kept = set(whole) - {"people", "flags", "roster", "responder_packet"}
    assert {k: view[k] for k in kept} == {k: whole[k] for k in kept}


@pytest.mark.parametrize("role", ROLES)
def test_an_updates_changed_parts_are_redacted_alike(role: str) -> None:
    """A board update carries only what changed: it passes through the same view."""
    before = board_render.render(board.fold(SITE_ID, list(enumerate(history()[:-1], start=1))))
    changed = board_render.diff(before, rendered())
    assert "flags" in changed
    view = redact.board_view(changed, role)
    assert ("flags" in view) == (role in SEES_ROSTER) and view["seq"] == changed["seq"]


def as_data(event: e.Envelope) -> dict[str, Any]:
    return msgspec.to_builtins(event)  # type: ignore[no-any-return]


def test_a_flagged_guardian_check_is_shown_without_names_or_flags_to_responders() -> None:
    """Given a guardian refused by a custody order, when the event reaches a board or
    timeline, then staff and commanders read who and why; responders and dispatch read that a
    check of s-1 happened, never the guardian's name nor the custody flags."""
    check = history()[-1]
    assert isinstance(check, e.GuardianCheckedIn) and check.data.flags
    doc = as_data(check)
    for role in ROLES:
        view = redact.event_view(doc, role)
        assert view is not None and view["id"] == check.id and view["type"] == "GuardianCheckedIn"
        if role in SEES_ROSTER:
            assert view == doc
        else:
            assert "guardian" not in view["data"] and "flags" not in view["data"]
            assert view["data"]["students"] == ["s-1"] and view["data"]["approved"] == []
            assert "Byron" not in text(view) and "custody" not in text(view)
    assert doc["data"]["guardian"] == "Lord Byron"  # the event itself is left whole


def test_a_release_is_shown_without_the_guardians_name_to_responders() -> None:
    released = e.StudentReleased(
        id="rel-1", site=SITE_ID, incident_id=LIVE, occurred_at=T0, recorded_at=T0,
        actor=STAFF, data=e.StudentReleasedData(person_id="s-1", guardian="Anne Byron",
                                                student_consents=True))
    doc = as_data(released)
    for role in ROLES:
        view = redact.event_view(doc, role)
        assert view is not None
        assert ("Anne Byron" in text(view)) == (role in SEES_ROSTER)
        assert view["data"]["person_id"] == "s-1"


@pytest.mark.parametrize("role", ROLES)
def test_a_site_file_event_shows_only_the_sites_id_and_name(role: str) -> None:
    """Given the site file on the stream (the whole roster, the door codes), then every role,
    a commander too, reads only which site it was: a timeline is no roster export."""
    doc = as_data(history()[0])
    view = redact.event_view(doc, role)
    assert view is not None
    assert view["data"] == {"id": SITE_ID, "name": "Test High"}
    assert {k: v for k, v in view.items() if k != "data"} == {
        k: v for k, v in doc.items() if k != "data"}
    assert DOOR_CODE not in text(view) and "Lovelace" not in text(view)


@pytest.mark.parametrize("role", ROLES)
def test_a_handle_with_care_notice_and_its_records_are_shown_to_nobody(role: str) -> None:
    notice = e.HandleWithCareIssued(id="hwc-1", site=SITE_ID, incident_id=None, occurred_at=T0,
                                    recorded_at=T0,
                                    data=e.HandleWithCareIssuedData(person_id="s-3"))
    assert redact.event_view(as_data(notice), role) is None
    sent = e.NotificationSent(id="sent-1", site=SITE_ID, incident_id=None, occurred_at=T0,
                              recorded_at=T0, data=e.NotificationSentData(
                                  channel="counselor", event_id="hwc-1"))
    assert redact.never_shown(notice) and redact.never_shown(sent, {"hwc-1"})
    assert not redact.never_shown(sent, {"other"})
    assert not redact.never_shown(history()[1], {history()[1].id})  # not a record: shown
    assert not redact.never_shown(sent)  # a record alone: its event may be shown
    assert redact.hidden_ids([*history(), sent, notice]) == {"hwc-1"}  # the notice, not its record


@pytest.mark.parametrize("role", ROLES)
def test_events_without_roster_data_are_shown_whole(role: str) -> None:
    for event in history()[1:-1]:
        doc = as_data(event)
        assert redact.event_view(doc, role) == doc


def desk_events() -> list[e.Envelope]:
    """The SRM desk: Lord Byron greeted and fetched for, an unlisted adult's case opened for
    s-1 (with who came and a note) and resolved into Anne Byron's care."""
    data: list[Any] = [
        e.GuardianArrivedData(guardian="Lord Byron", students=["s-1"], card="7"),
        e.StudentFetchedData(person_id="s-1", guardian="Lord Byron", card="7"),
        e.ExceptionOpenedData(case_id="x-1", person_id="s-1", kind="unlisted_adult",
                              assigned_to="Ms Counsellor", adult="Lord Byron",
                              note="Lord Byron at the gate"),
        e.ExceptionResolvedData(case_id="x-1", outcome="Lord Byron sent away",
                                released_to="Anne Byron")]
    kinds = (e.GuardianArrived, e.StudentFetched, e.ExceptionOpened, e.ExceptionResolved)
    return [cls(id=f"d-{i}", site=SITE_ID, incident_id=LIVE, occurred_at=T0, recorded_at=T0,
                actor=STAFF, data=d) for i, (cls, d) in enumerate(zip(kinds, data, strict=True))]


@pytest.mark.parametrize("role", ROLES)
def test_desk_events_name_guardians_and_case_details_only_to_roster_roles(role: str) -> None:
    """Given the desk's events, then staff and commanders read them whole; responders and
    dispatch read that a case exists, by its id alone: never whose, of what kind, an adult's
    name, the counsellor, the hospital, the note, the outcome or whom it released to."""
    for event in desk_events():
        doc = as_data(event)
        view = redact.event_view(doc, role)
        assert view is not None and view["type"] == doc["type"]
        if role in SEES_ROSTER:
            assert view == doc
        else:
            assert "Byron" not in text(view) and "Counsellor" not in text(view)
            assert view["data"].get("person_id", "s-1") == "s-1"
    for case in desk_events()[2:]:
        view = redact.event_view(as_data(case), role)
        assert view is not None and view["data"]["case_id"] == "x-1"
        if role not in SEES_ROSTER:
            assert view["data"] == {"case_id": "x-1"}
