"""The board fold: given events (written by the real `decide`), then what responders see."""

from typing import Any

from command import commands as c
from command import events as e
from consumers import board, redact
from tests.command.test_incident import (
    COMMANDER,
    DRILL,
    LIVE,
    SITE_ID,
    STAFF,
    T0,
    configured,
    ctx,
    given,
    press,
    run,
)

ROSTER = 8  # small_site(): six students and two staff
CONTRACT_KEYS = {"site", "seq", "mode", "incident", "protocol", "rooms", "accountability",
                 "dispatch", "acks", "notifications"}
COUNT_KEYS = {"total", "accounted", "missing", "injured", "absent", "reunified", "unknown"}


def history(*steps: tuple[c.Command, Any]) -> list[e.Envelope]:
    """The site file, then every event the commands write."""
    site = configured()
    return [site, *run(given(site), *steps)[1]]


def fold(events: list[e.Envelope]) -> board.State:
    return board.fold(SITE_ID, list(enumerate(events, start=1)))  # type: ignore[arg-type]


def shown(events: list[e.Envelope]) -> dict[str, Any]:
    return board.render(fold(events))


def room(rendered: dict[str, Any], room_id: str) -> dict[str, Any]:
    return next(r for r in rendered["rooms"] if r["id"] == room_id)


def report(room_id: str, at: float = 60, **fields: Any) -> tuple[c.Command, Any]:
    return c.ReportRoomStatus(**fields), ctx(STAFF, at=at, incident=LIVE, room=room_id)


def sums(counts: dict[str, int]) -> bool:
    return counts["total"] == sum(v for k, v in counts.items() if k != "total")


def test_render_has_the_contract_keys() -> None:
    rendered = shown(history((press("lockdown"), ctx())))
    assert CONTRACT_KEYS <= set(rendered)
    assert set(rendered["accountability"]) == COUNT_KEYS
    assert rendered["site"] == SITE_ID and rendered["seq"] == 4 and rendered["mode"] == "live"
    assert rendered["incident"]["id"] == LIVE and rendered["incident"]["alerts"] == 1
    assert rendered["protocol"]["action"] == "lockdown"
    assert rendered["protocol"]["directive"].startswith("Lockdown!")
    assert {r["id"] for r in rendered["rooms"]} == {"A-101", "A-102", "B-112", "GYM"}
    assert rendered["accountability"] == {**dict.fromkeys(COUNT_KEYS, 0), "total": ROSTER,
                                          "unknown": ROSTER}


def test_board_before_any_incident_shows_the_site_idle() -> None:
    rendered = shown([configured()])
    assert (rendered["incident"], rendered["protocol"], rendered["mode"]) == (None, None, "live")
    assert rendered["accountability"]["total"] == ROSTER
    assert len(rendered["rooms"]) == 4


def test_secure_and_lockdown_are_labelled_differently() -> None:
    secure = shown(history((press("police_activity"), ctx())))["protocol"]
    lockdown = shown(history((press("armed_intruder"), ctx())))["protocol"]
    assert (secure["action"], lockdown["action"]) == ("secure", "lockdown")
    assert secure["severity"] != lockdown["severity"]
    assert secure["directive"] != lockdown["directive"]


def test_room_report_updates_the_room_and_the_counts() -> None:
    rendered = shown(history((press("lockdown"), ctx()),
                             report("B-112", status="needs_help", present=2, missing=["s-2"],
                                    injured=["s-1"], extra=["s-3"])))
    b112 = room(rendered, "B-112")
    assert (b112["status"], b112["present"], b112["reported_by"]) == ("needs_help", 2, STAFF.id)
    assert (b112["missing"], b112["injured"], b112["extra"]) == (["s-2"], ["s-1"], ["s-3"])
    # s-3 came over from A-101; t-1, not named, is covered by the head count of 2.
    assert b112["accountability"] == {"total": 4, "accounted": 2, "missing": 1, "injured": 1,
                                      "absent": 0, "reunified": 0, "unknown": 0}
    assert room(rendered, "A-101")["accountability"]["total"] == 2  # s-4 and t-2 remain
    assert rendered["accountability"] == {"total": ROSTER, "accounted": 2, "missing": 1,
                                          "injured": 1, "absent": 0, "reunified": 0,
                                          "unknown": 4}


def test_a_short_head_count_accounts_for_nobody_unnamed() -> None:
    rendered = shown(history((press("lockdown"), ctx()),
                             report("A-101", status="secured", present=2)))
    assert room(rendered, "A-101")["accountability"]["unknown"] == 3  # s-3, s-4, t-2
    rendered = shown(history((press("lockdown"), ctx()),
                             report("A-101", status="secured", present=3)))
    assert room(rendered, "A-101")["accountability"]["accounted"] == 3


def test_accountability_and_reunification_move_people_between_statuses() -> None:
    staff = ctx(STAFF, at=100, incident=LIVE)
    entries = [e.AccountingEntry(person_id="s-4", status="absent"),
               e.AccountingEntry(person_id="s-5", status="missing", location="GYM")]
    why = "the building is unsafe; families are waiting"
    rendered = shown(history(
        (press("fire"), ctx()), (c.AccountPersons(entries=entries), staff),
        (c.CheckIn(person_id="s-5"), staff),
        (c.CheckGuardian(guardian="Jane Huberman", id_verified=True, students=["s-5"]), staff),
        (c.OpenReunification(reason=why), ctx(COMMANDER, at=100, incident=LIVE)),
        (c.Release(person_id="s-5", guardian="Jane Huberman", student_consents=True), staff)))
    assert rendered["incident"]["reunification_opened"]["reason"] == why
    counts = rendered["accountability"]
    assert (counts["absent"], counts["reunified"], counts["missing"]) == (1, 1, 0)
    assert sums(counts) and counts["total"] == ROSTER
    assert room(rendered, "GYM")["accountability"]["reunified"] == 1


def test_counts_sum_to_the_roster_plus_extras_placed_from_outside_it() -> None:
    events = history((press("lockdown"), ctx()))
    visitor = e.RoomStatusReported(
        id="ev-visitor", site=SITE_ID, incident_id=LIVE, occurred_at=T0, recorded_at=T0,
        data=e.RoomStatusReportedData(room="GYM", status="secured", extra=["v-9"]))
    counts = shown([*events, visitor])["accountability"]
    assert counts["total"] == ROSTER + 1 and sums(counts)


def test_flagged_guardian_shows_on_the_board() -> None:
    staff = ctx(STAFF, at=100, incident=LIVE)
    rendered = shown(history(
        (press("fire"), ctx()),
        (c.CheckGuardian(guardian="Lord Byron", id_verified=True, students=["s-1"]), staff)))
    assert rendered["flags"] == ["guardian 'Lord Byron': s-1: custody restriction"]


def test_diff_carries_only_the_changed_rooms() -> None:
    before_events = history((press("lockdown"), ctx()))
    before = shown(before_events)
    after = shown(history((press("lockdown"), ctx()), report("GYM", status="secured")))
    changed = board.diff(before, after)
    assert [r["id"] for r in changed["rooms"]] == ["GYM"]
    assert changed["seq"] == after["seq"]
    assert "protocol" not in changed and "accountability" not in changed
    assert board.diff(after, after) == {}


def test_diff_names_both_rooms_when_a_person_moves() -> None:
    before = shown(history((press("lockdown"), ctx())))
    after = shown(history((press("lockdown"), ctx()),
                          report("B-112", status="secured", extra=["s-3"])))
    changed = board.diff(before, after)
    assert sorted(r["id"] for r in changed["rooms"]) == ["A-101", "B-112"]
    assert changed["accountability"] == after["accountability"]


def test_cancelled_incident_leaves_the_board_without_incident() -> None:
    rendered = shown(history((press("lockdown"), ctx()),
                             (c.Cancel(reason="bumped"), ctx(at=3, incident=LIVE))))
    assert (rendered["incident"], rendered["protocol"]) == (None, None)
    assert all(r["status"] is None for r in rendered["rooms"])


def test_closed_incident_leaves_the_board_without_incident() -> None:
    boss = ctx(COMMANDER, at=600, incident=LIVE)
    rendered = shown(history((press("lockdown"), ctx()), report("GYM", status="secured"),
                             (c.AllClear(), boss), (c.Close(summary="ok"), boss)))
    assert (rendered["incident"], rendered["protocol"]) == (None, None)
    assert rendered["accountability"]["unknown"] == ROSTER


def test_a_live_incident_outranks_a_drill() -> None:
    events = history((c.StartDrill(scenario="fire"), ctx(COMMANDER, new=DRILL)),
                     (press("armed_intruder"), ctx(at=5, new=LIVE)))
    rendered = shown(events)
    assert (rendered["mode"], rendered["incident"]["id"]) == ("live", LIVE)
    assert rendered["other_incidents"] == [DRILL]
    drill_only = shown(events[:3])
    assert (drill_only["mode"], drill_only["incident"]["id"]) == ("drill", DRILL)


def test_an_event_at_or_below_the_board_seq_is_ignored() -> None:
    events = history((press("lockdown"), ctx()),
                     (c.AddNote(text="seen in B wing"), ctx(STAFF, at=9, incident=LIVE)))
    state = fold(events)
    assert board.evolve(state, 3, events[-1]) is state
    assert len(board.render(state)["notes"]) == 1


def test_step_returns_the_case_it_touched() -> None:
    events = history((press("lockdown"), ctx()),
                     (c.Cancel(reason="bumped"), ctx(at=3, incident=LIVE)))
    state = fold(events[:-1])
    state, case = board.step(state, len(events), events[-1])
    assert case is not None and case.incident.status == "cancelled"
    assert case.incident.false_alarm and state.cases == {}


def test_a_head_count_stores_people_in_roster_order() -> None:
    """The stored board is byte-identical in every process, whatever its string hash seed."""
    state = fold(history((press("lockdown"), ctx()),
                         report("B-112", status="secured", present=3),
                         report("A-101", status="secured", present=3)))
    case = board.current(state)
    assert case is not None
    assert list(case.people) == ["s-1", "s-2", "t-1", "s-3", "s-4", "t-2"]


def test_a_board_shows_the_latest_notes_and_counts_them_all() -> None:
    notes = [(c.AddNote(text=f"note {i}"), ctx(STAFF, at=9 + i, incident=LIVE))
             for i in range(board.NOTES_SHOWN + 5)]
    rendered = shown(history((press("lockdown"), ctx()), *notes))
    assert [n["text"] for n in rendered["notes"]] == [
        f"note {i}" for i in range(5, board.NOTES_SHOWN + 5)]
    assert rendered["notes_total"] == board.NOTES_SHOWN + 5


def test_records_of_a_notice_never_shown_touch_no_case() -> None:
    """Even a notice written against an incident: its send records stay off the board, and the
    board remembers its id so every consumer can tell its records apart (consumers/redact.py)."""
    events = history((press(), ctx()))
    notice = e.HandleWithCareIssued(id="hwc-1", site=SITE_ID, incident_id=LIVE, occurred_at=T0,
                                    recorded_at=T0,
                                    data=e.HandleWithCareIssuedData(person_id="s-3"))
    sent = e.NotificationSent(id="sent-1", site=SITE_ID, incident_id=LIVE, occurred_at=T0,
                              recorded_at=T0, data=e.NotificationSentData(
                                  channel="counselor", event_id="hwc-1"))
    other = e.NotificationSent(id="sent-2", site=SITE_ID, incident_id=LIVE, occurred_at=T0,
                               recorded_at=T0, data=e.NotificationSentData(
                                   channel="sro", event_id=events[-1].id))
    state = fold([*events, notice, sent, other])
    assert state.hidden == {"hwc-1"}
    assert redact.never_shown(sent, state.hidden) and not redact.never_shown(other, state.hidden)
    assert [n["channel"] for n in board.render(state)["notifications"]] == ["sro"]
