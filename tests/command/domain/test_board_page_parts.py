"""What a board adds for the page people act on (issue 18): sends summed per channel, the
latest sends only, the roster by room, the floor plan and places, and every other open
incident's case; the site file's parts never ride an update unless the site file changed."""

from typing import Any

from msgspec.structs import replace

from command.domain import board, board_render, redact
from command.domain import commands as c
from command.domain import events as e
from command.domain.render_cache import Memo
from command.domain.site import EvacuationSite
from tests.command.domain.test_board import fold, history, iso, record, report, shown
from tests.command.domain.test_site_state import (
    COMMANDER,
    DRILL,
    LIVE,
    SITE_ID,
    STAFF,
    configured,
    ctx,
    press,
    site,
)

CASE_KEYS = {"incident", "protocol", "rooms", "accountability", "people", "flags", "acks",
             "notes", "notes_total", "channels", "dispatch", "injects", "injects_total"}


def sent(channel: str, at: float, event_id: str = "ev-alert") -> e.Envelope:
    return record(e.NotificationSent, e.NotificationSentData(channel=channel, event_id=event_id),
                  at=at)


def failed(channel: str, at: float, error: str) -> e.Envelope:
    return record(e.NotificationFailed, e.NotificationFailedData(
        channel=channel, event_id="ev-alert", attempt=1, error=error), at=at)


def acked(at: float) -> e.Envelope:
    return record(e.ResponderAcknowledged, e.ResponderAcknowledgedData(responder="Unit 12"), at=at)


def test_sends_are_summed_per_channel_in_order_of_first_appearance() -> None:
    """Given sends, failures, escalations and acknowledgements on two channels, then each
    channel shows its counts, whom it escalated to (once each), its last send, its last
    failure's error, and the first acknowledgement at or after its first successful send."""
    events = [*history((press("lockdown"), ctx())),
              failed("staff", 10, "timeout"), acked(11), sent("sro", 12),
              record(e.NotificationEscalated, e.NotificationEscalatedData(
                  channel="sro", to=["district"], event_id="ev-alert"), at=13),
              record(e.NotificationEscalated, e.NotificationEscalatedData(
                  channel="sro", to=["district", "police"], event_id="ev-alert"), at=14),
              sent("staff", 15), acked(16), failed("sro", 17, "HTTP 502")]
    channels = shown(events)["channels"]
    assert channels == [
        {"channel": "staff", "sent": 1, "failed": 1, "escalated": 0, "escalated_to": [],
         "last_at": iso(15), "last_ok": True, "last_error": "timeout",
         "acknowledged_at": iso(16)},
        {"channel": "sro", "sent": 1, "failed": 1, "escalated": 2,
         "escalated_to": ["district", "police"], "last_at": iso(17), "last_ok": False,
         "last_error": "HTTP 502", "acknowledged_at": iso(16)}]


def test_a_channel_that_never_reached_anyone_is_never_acknowledged() -> None:
    events = [*history((press("lockdown"), ctx())), acked(5), failed("staff", 10, "refused")]
    (staff,) = shown(events)["channels"]
    assert (staff["acknowledged_at"], staff["last_ok"], staff["sent"]) == (None, False, 0)


def test_a_board_shows_the_latest_sends_and_counts_them_all() -> None:
    many = board_render.NOTIFICATIONS_SHOWN + 7
    events = [*history((press("lockdown"), ctx())),
              *(sent("sro" if i % 2 else "staff", 10 + i) for i in range(many))]
    rendered = shown(events)
    assert rendered["notifications_total"] == many
    assert [n["at"] for n in rendered["notifications"]] == [
        iso(10 + i) for i in range(7, many)]
    assert [(ch["channel"], ch["sent"]) for ch in rendered["channels"]] == [
        ("staff", 14), ("sro", 13)]


def test_roster_roles_get_everyone_by_home_room() -> None:
    """Given the roster (s-6 without a room), then the board lists everyone by room, "" for
    no room, and only staff and commanders may see it."""
    people = [*site().people[:-1], replace(site().people[-1], room=None)]
    rendered = shown([configured(site(people=people))])
    roster = rendered["roster"]
    assert roster["B-112"][:2] == [{"id": "s-1", "name": "Ada Lovelace", "kind": "student"},
                                   {"id": "s-2", "name": "Alan Turing", "kind": "student"}]
    assert [p["id"] for p in roster[""]] == [people[-1].id]
    assert sum(len(v) for v in roster.values()) == len(people)
    for role in redact.HIDDEN:
        assert ("roster" in redact.board_view(rendered, role)) == (role in redact.ROSTER_ROLES)


def test_the_plan_places_and_cancel_window_come_from_the_site_file() -> None:
    plain = shown([configured()])
    assert (plain["plan"], plain["places"], plain["cancel_window_s"]) == (None, [], 10.0)
    rooms = site().rooms
    drawn = [replace(rooms[0], x=0, y=0, w=10, h=8),
             replace(rooms[1], points=[(10, 0), (20, 0), (20, 8)]), *rooms[2:]]
    field = EvacuationSite(id="field", name="the north field")
    rendered = shown([configured(site(rooms=drawn, evacuation_sites=[field],
                                      cancel_window_s=30))])
    assert rendered["plan"] == {"A-101": {"x": 0, "y": 0, "w": 10, "h": 8},
                                "A-102": {"points": [[10, 0], [20, 0], [20, 8]]}}
    assert rendered["places"] == [{"id": "field", "name": "the north field",
                                   "kind": "assembly", "off_site": False, "address": ""}]
    assert rendered["cancel_window_s"] == 30


def drill_under_live(*more: tuple[c.Command, Any]) -> list[e.Envelope]:
    boss = ctx(COMMANDER, at=2, incident=DRILL)
    return history((c.StartDrill(scenario="fire"), ctx(COMMANDER, new=DRILL)),
                   (c.ReportRoomStatus(status="needs_help", missing=["s-2"]),
                    ctx(STAFF, at=3, incident=DRILL, room="B-112")),
                   (c.AddNote(text="drill: B wing slow"), boss),
                   (press("armed_intruder"), ctx(at=5, new=LIVE)), *more)


def test_every_other_open_incident_is_shown_with_its_own_case() -> None:
    """Given a drill under a live lockdown, then the board shows the live case and, under
    `other_cases`, the drill's: its rooms, counts, notes and the missing by name."""
    rendered = shown(drill_under_live())
    assert rendered["incident"]["id"] == LIVE and rendered["other_incidents"] == [DRILL]
    (drill,) = rendered["other_cases"]
    assert set(drill) == CASE_KEYS
    assert drill["incident"]["id"] == DRILL and drill["incident"]["mode"] == "drill"
    b112 = next(r for r in drill["rooms"] if r["id"] == "B-112")
    assert (b112["status"], b112["missing"]) == ("needs_help", ["s-2"])
    assert [n["text"] for n in drill["notes"]] == ["drill: B wing slow"]
    assert [p["name"] for p in drill["people"]] == ["Alan Turing"]
    assert drill["accountability"]["missing"] == 1 and rendered["people"] == []
    assert shown(drill_under_live()[:3])["other_cases"] == []


def test_other_cases_are_redacted_like_the_board() -> None:
    """Responders and dispatch never read names or flags, not even of the drill beneath."""
    rendered = shown(drill_under_live())
    for role in redact.HIDDEN:
        (drill,) = redact.board_view(rendered, role)["other_cases"]
        sees = role in redact.ROSTER_ROLES
        assert ("people" in drill and "flags" in drill) == sees
        assert ("Alan Turing" in str(drill)) == sees
        assert drill["rooms"] == rendered["other_cases"][0]["rooms"]
    assert "people" in rendered["other_cases"][0]  # the rendered board itself is left whole


STATIC = ("roster", "plan", "places", "cancel_window_s")


def updates(events: list[e.Envelope]) -> list[dict[str, Any]]:
    """Each event's update, as a live board diffs its renders with its memo."""
    memo, state, before, out = Memo(), board.empty(SITE_ID), {}, []
    for seq, event in enumerate(events, start=1):
        state = board.evolve(state, seq, event)
        after = board_render.render(state, memo)
        out.append(board_render.diff(before, after))
        before = after
    return out


def test_an_update_carries_the_site_files_parts_only_when_the_site_file_changes() -> None:
    """Given a first render, then reports, notes, sends, a drill, and the same site file
    imported again: no update carries the roster, plan or places; a site file with a new
    room shape or person does, once."""
    rooms = site().rooms
    shaped = site(rooms=[replace(rooms[0], x=0, y=0, w=10, h=8), *rooms[1:]])
    events = [*drill_under_live(report("GYM", at=30, status="secured")), sent("sro", 40),
              acked(41), configured(site(), at=50)]
    changes = updates(events)
    assert {"roster", "places", "cancel_window_s"} <= set(changes[0])  # plan: None, not sent
    assert any(u.get("rooms") for u in changes[1:]) and len(changes) == len(events)
    assert all(not set(STATIC) & set(u) for u in changes[1:])
    moved = updates([*events, configured(shaped, at=60)])[-1]
    assert moved["plan"] == {"A-101": {"x": 0, "y": 0, "w": 10, "h": 8}}
    assert "roster" not in moved and "places" not in moved
    fewer = site(people=site().people[1:])
    assert "roster" in updates([*events, configured(fewer, at=60)])[-1]


def test_memo_and_fresh_renders_agree_with_other_cases_and_channels() -> None:
    events = [*drill_under_live(), sent("sro", 20), acked(21), failed("staff", 22, "x")]
    memo, state = Memo(), board.empty(SITE_ID)
    for seq, event in enumerate(events, start=1):
        state = board.evolve(state, seq, event)
        assert board_render.render(state, memo) == board_render.render(state)
    assert fold(events).seq == len(events)
