"""The board fold: given events (written by the real `decide`), then what responders see."""

from datetime import timedelta
from typing import Any

import msgspec

from command.domain import board, board_render, redact
from command.domain import commands as c
from command.domain import events as e
from command.domain.site import Contact, ResponderPacket
from tests.command.domain.test_site_state import (
    COMMANDER,
    DRILL,
    LIVE,
    OTHER_DEVICE,
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

ROSTER = 8  # small_site(): six students and two staff


def history(*steps: tuple[c.Command, Any]) -> list[e.Envelope]:
    """The site file, then every event the commands write."""
    site = configured()
    return [site, *run(given(site), *steps)[1]]


def fold(events: list[e.Envelope]) -> board.State:
    return board.fold(SITE_ID, list(enumerate(events, start=1)))  # type: ignore[arg-type]


def shown(events: list[e.Envelope]) -> dict[str, Any]:
    return board_render.render(fold(events))


def room(rendered: dict[str, Any], room_id: str) -> dict[str, Any]:
    return next(r for r in rendered["rooms"] if r["id"] == room_id)


def report(room_id: str, at: float = 60, **fields: Any) -> tuple[c.Command, Any]:
    return c.ReportRoomStatus(**fields), ctx(STAFF, at=at, incident=LIVE, room=room_id)


def sums(counts: dict[str, int]) -> bool:
    return counts["total"] == sum(v for k, v in counts.items() if k != "total")


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
    assert len(board_render.render(state)["notes"]) == 1


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


def test_records_of_a_notice_never_shown_touch_no_case() -> None:
    """Even a notice written against an incident: its send records stay off the board, and the
    board remembers its id so every consumer can tell its records apart (domain/redact.py)."""
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
    assert [n["channel"] for n in board_render.render(state)["notifications"]] == ["sro"]


# --- what a board must show: rules mutation testing found unpinned (issue 15) ---------------


def iso(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def record(cls: type, data: msgspec.Struct, at: float = 30, incident: str = LIVE) -> e.Envelope:
    """An event written by a consumer (a send record, dispatch's update) rather than decide."""
    return cls(id=f"rec-{cls.__name__}-{at}", site=SITE_ID, incident_id=incident,
               occurred_at=T0 + timedelta(seconds=at), recorded_at=T0 + timedelta(seconds=at),
               actor=e.Actor(kind="system", id="muster", role="system"), data=data)


def subset(shown_part: dict[str, Any], expected: dict[str, Any]) -> bool:
    return {k: shown_part.get(k) for k in expected} == expected


def test_a_transfer_of_command_shows_who_leads_and_for_which_agency() -> None:
    """Given a lockdown, when the principal hands command to the police, then the board shows
    the new commander and agency."""
    rendered = shown(history((press("lockdown"), ctx()), (
        c.TransferCommand(commander="Lt. Diaz", agency="Police"),
        ctx(COMMANDER, at=40, incident=LIVE))))
    assert subset(rendered["incident"], {"commander": "Lt. Diaz", "agency": "Police"})
    assert rendered["protocol"]["action"] == "lockdown"  # nothing else changes
    before = shown(history((press("lockdown"), ctx())))["incident"]
    assert (before["commander"], before["agency"]) == (None, None)


def test_a_replayed_board_says_replay_whatever_it_replays() -> None:
    """Given a live incident's events, when they are folded into a replay board, then the
    board renders mode "replay" (never "live": nobody may act on it), and a site file read
    in replay makes a board a replay one; a live board stays live."""
    events = history((press("lockdown"), ctx()))
    replayed = board.fold(SITE_ID, list(enumerate(events, start=1)), mode="replay")
    assert board_render.render(replayed)["mode"] == "replay"
    assert board_render.render(replayed)["incident"]["mode"] == "live"  # what it replays
    assert shown(events)["mode"] == "live"
    as_replay = msgspec.structs.replace(events[0], mode="replay")
    assert board_render.render(fold([as_replay]))["mode"] == "replay"
    assert board_render.render(fold([as_replay, *events[1:]]))["mode"] == "replay"
    relive = board.evolve(replayed, 99, msgspec.structs.replace(events[0], id="again"))
    assert board_render.render(relive)["mode"] == "replay"


def test_the_responder_packet_is_on_the_board() -> None:
    """Given a site file with a responder packet, then its board carries the packet, idle or
    during an incident (redact.board_view decides who reads it)."""
    packet = ResponderPacket(knox_box="north door", door_codes="4711#", cameras=["cam-1"],
                             contacts=[Contact(role="SRO", name="Officer Krupke")])
    configured_site = configured(site(responder_packet=packet))
    idle = board_render.render(fold([configured_site]))
    assert idle["responder_packet"] == msgspec.to_builtins(packet)
    during = board_render.render(fold([configured_site, *run(
        given(configured_site), (press("lockdown"), ctx()))[1]]))
    assert during["responder_packet"] == msgspec.to_builtins(packet)
    assert board_render.render(board.empty(SITE_ID))["responder_packet"] is None


def test_the_board_names_whoever_is_missing_or_injured() -> None:
    """Given a room report naming a missing and an injured student, then the board lists both
    by name, status and room; with nobody missing or injured the list is empty."""
    rendered = shown(history((press("lockdown"), ctx()),
                             report("B-112", status="needs_help", missing=["s-2"],
                                    injured=["s-1"])))
    assert sorted(rendered["people"], key=lambda p: p["id"]) == [
        {"id": "s-1", "name": "Ada Lovelace", "status": "injured", "room": "B-112"},
        {"id": "s-2", "name": "Alan Turing", "status": "missing", "room": "B-112"}]
    calm = shown(history((press("lockdown"), ctx()), report("B-112", status="secured",
                                                            present=3)))
    assert calm["people"] == []


def test_one_missing_student_alone_is_named() -> None:
    """Someone missing with nobody injured (and the other way round) is still named."""
    missing = shown(history((press("lockdown"), ctx()),
                            report("A-102", status="secured", missing=["s-6"])))
    assert missing["people"] == [
        {"id": "s-6", "name": "Donald Knuth", "status": "missing", "room": "A-102"}]
    injured = shown(history((press("lockdown"), ctx()),
                            report("A-101", status="secured", injured=["s-4"])))
    assert injured["people"] == [
        {"id": "s-4", "name": "Edsger Dijkstra", "status": "injured", "room": "A-101"}]


def test_a_later_head_count_never_accounts_for_a_student_reported_missing() -> None:
    """Given s-2 reported missing from B-112, when the room later reports a head count that
    covers everyone else (s-1, t-1), then s-2 is still missing: only s-2 being named found,
    or checking in, settles it."""
    rendered = shown(history((press("lockdown"), ctx()),
                             report("B-112", at=60, status="needs_help", missing=["s-2"]),
                             report("B-112", at=120, status="secured", present=2)))
    b112 = room(rendered, "B-112")["accountability"]
    assert (b112["missing"], b112["accounted"], b112["unknown"]) == (1, 2, 0)
    assert [p["id"] for p in rendered["people"]] == ["s-2"]
    found = shown(history((press("lockdown"), ctx()),
                          report("B-112", at=60, status="needs_help", missing=["s-2"]),
                          report("B-112", at=120, status="secured", present=3,
                                 extra=["s-2"])))
    assert room(found, "B-112")["accountability"]["missing"] == 0 and found["people"] == []


def test_a_student_found_at_the_assembly_area_is_accounted_for_an_injured_one_stays_so() -> None:
    staff = ctx(STAFF, at=100, incident=LIVE)
    rendered = shown(history((press("fire"), ctx()),
                             report("B-112", at=60, status="needs_help", missing=["s-2"],
                                    injured=["s-1"]),
                             (c.CheckIn(person_id="s-2", area="Field"), staff),
                             (c.CheckIn(person_id="s-1", area="Field"), staff),
                             (c.CheckIn(person_id="s-3", area="Field"), staff)))
    counts = room(rendered, "B-112")["accountability"]
    assert (counts["missing"], counts["injured"], counts["accounted"]) == (0, 1, 1)
    assert room(rendered, "A-101")["accountability"]["accounted"] == 1  # s-3, unknown before
    assert rendered["people"] == [
        {"id": "s-1", "name": "Ada Lovelace", "status": "injured", "room": "B-112"}]


def test_accounting_by_name_moves_a_person_only_to_one_of_the_sites_rooms() -> None:
    entries = [e.AccountingEntry(person_id="s-3", status="accounted", location="GYM"),
               e.AccountingEntry(person_id="s-4", status="accounted", location="the field")]
    rendered = shown(history((press("fire"), ctx()),
                             (c.AccountPersons(entries=entries), ctx(STAFF, at=90,
                                                                     incident=LIVE))))
    assert room(rendered, "GYM")["accountability"]["accounted"] == 1
    a101 = room(rendered, "A-101")["accountability"]
    assert (a101["total"], a101["accounted"], a101["unknown"]) == (2, 1, 1)  # s-4, t-2


def test_a_release_reunifies_the_student_in_their_room() -> None:
    staff = ctx(STAFF, at=100, incident=LIVE)
    rendered = shown(history(
        (press("fire"), ctx()), (c.CheckIn(person_id="s-1"), staff),
        (c.CheckGuardian(guardian="Anne Byron", id_verified=True, students=["s-1"]), staff),
        (c.OpenReunification(reason="families waiting"), ctx(COMMANDER, at=100,
                                                               incident=LIVE)),
        (c.Release(person_id="s-1", guardian="Anne Byron", student_consents=True), staff)))
    b112 = room(rendered, "B-112")["accountability"]
    assert (b112["reunified"], b112["accounted"], b112["unknown"]) == (1, 0, 2)
    assert rendered["accountability"]["reunified"] == 1


def test_acks_notes_and_dispatch_show_who_and_when() -> None:
    """Given a lockdown, when a unit acknowledges, staff add a note and dispatch updates its
    call, then the board shows each with who and when."""
    events = history((press("lockdown"), ctx()),
                     (c.Acknowledge(responder="Unit 12"), ctx(COMMANDER, at=20, incident=LIVE)),
                     (c.AddNote(text="suspect seen in B wing"), ctx(STAFF, at=25,
                                                                    incident=LIVE)))
    dispatch = record(e.DispatchUpdated, e.DispatchUpdatedData(
        cad_id="CAD-7", status="on scene", units=[{"id": "E12"}], notes=["2 units"]), at=30)
    rendered = shown([*events, dispatch])
    assert rendered["acks"] == [{"responder": "Unit 12", "at": iso(20)}]
    assert rendered["notes"] == [{"text": "suspect seen in B wing", "at": iso(25),
                                  "by": STAFF.id}]
    assert rendered["dispatch"] == {"cad_id": "CAD-7", "status": "on scene",
                                    "units": [{"id": "E12"}], "notes": ["2 units"],
                                    "updated_at": iso(30), "type": None, "type_text": None,
                                    "priority": None, "priority_text": None, "agency": None,
                                    "tracking_id": None}


def test_every_send_record_shows_on_the_board_as_it_went() -> None:
    """Given an alert, when the notifier records a send, a failure and an escalation, then the
    board lists each: which channel, which event, when, whether it went, the attempt, why not,
    and to whom it escalated."""
    events = history((press("lockdown"), ctx()))
    alert = events[2].id
    sent = record(e.NotificationSent, e.NotificationSentData(
        channel="sro", event_id=alert, attempt=2), at=31)
    failed = record(e.NotificationFailed, e.NotificationFailedData(
        channel="staff", event_id=alert, attempt=3, error="timeout"), at=32)
    escalated = record(e.NotificationEscalated, e.NotificationEscalatedData(
        channel="sro", event_id=alert, to=["district"]), at=33)
    assert shown([*events, sent, failed, escalated])["notifications"] == [
        {"channel": "sro", "event_id": alert, "at": iso(31), "ok": True, "attempt": 2,
         "error": None, "escalated_to": []},
        {"channel": "staff", "event_id": alert, "at": iso(32), "ok": False, "attempt": 3,
         "error": "timeout", "escalated_to": []},
        {"channel": "sro", "event_id": alert, "at": iso(33), "ok": True, "attempt": 1,
         "error": None, "escalated_to": ["district"]}]


def test_protocol_changes_count_as_updates_from_the_first_declaration_on() -> None:
    """Given a hold, when it is raised to a lockdown and then lifted, then the board's
    protocol follows and every change after the first declaration counts as an update (CAP
    sends each as an Update), stamped with its time."""
    boss = ctx(COMMANDER, at=50, incident=LIVE)
    first = shown(history((press("medical"), ctx())))
    assert subset(first["incident"], {"updates": 0, "updated_at": iso(0), "alerts": 1})
    raised = shown(history((press("medical"), ctx()),
                           (press("armed_intruder", "GYM"), ctx(OTHER_DEVICE, at=20))))
    assert subset(raised["incident"], {"updates": 1, "updated_at": iso(20), "alerts": 2})
    assert subset(raised["protocol"], {"action": "lockdown", "severity": "extreme",
                                       "declared_at": iso(20)})
    lifted = shown(history((press("medical"), ctx()),
                           (press("armed_intruder", "GYM"), ctx(OTHER_DEVICE, at=20)),
                           (c.AllClear(), boss)))
    assert lifted["protocol"] is None
    assert subset(lifted["incident"], {"updates": 2, "updated_at": iso(50), "status": "open"})


def test_a_commanders_protocol_shows_its_zones_and_place() -> None:
    rendered = shown(history((press("medical"), ctx()), (
        c.DeclareProtocol(action="evacuate", evacuate_to="the north field", zones=["east"]),
        ctx(COMMANDER, at=40, incident=LIVE))))
    assert subset(rendered["protocol"], {"action": "evacuate", "severity": "severe",
                                         "zones": ["east"], "evacuate_to": "the north field",
                                         "declared_at": iso(40)})
    assert "the north field" in rendered["protocol"]["directive"]
    sheltered = shown(history((press("medical"), ctx()), (
        c.DeclareProtocol(action="shelter", hazard="a tornado", strategy="drop and cover"),
        ctx(COMMANDER, at=40, incident=LIVE))))
    assert subset(sheltered["protocol"], {"hazard": "a tornado", "strategy": "drop and cover"})


def test_an_incident_shows_what_opened_it() -> None:
    rendered = shown(history((press("fire", "GYM"), ctx(at=5))))
    assert subset(rendered["incident"], {"id": LIVE, "kind": "fire", "mode": "live",
                                         "status": "open", "opened_at": iso(5), "room": "GYM",
                                         "false_alarm": False, "ended_at": None})


def test_an_ended_incident_is_kept_for_cap_and_the_notifier_as_it_ended() -> None:
    """Given an incident, when it is cancelled or closed, then it leaves the board, and the
    board keeps it as the last to end: cancelled as a false alarm, closed as not one."""
    cancelled = fold(history((press("lockdown"), ctx()),
                             (c.Cancel(reason="bumped"), ctx(at=3, incident=LIVE))))
    assert cancelled.ended is not None and cancelled.cases == {}
    inc = cancelled.ended.incident
    assert (inc.status, inc.false_alarm, inc.ended_at) == (
        "cancelled", True, T0 + timedelta(seconds=3))
    boss = ctx(COMMANDER, at=600, incident=LIVE)
    closed = fold(history((press("lockdown"), ctx()), (c.AllClear(), boss),
                          (c.Close(summary="ok"), ctx(COMMANDER, at=700, incident=LIVE))))
    assert closed.ended is not None and closed.cases == {}
    inc = closed.ended.incident
    assert (inc.status, inc.false_alarm, inc.ended_at) == (
        "closed", False, T0 + timedelta(seconds=700))


def test_events_of_no_open_incident_change_nothing_but_the_seq() -> None:
    events = history((press("lockdown"), ctx()))
    stray = record(e.NoteAdded, e.NoteAddedData(text="late"), incident="inc-gone")
    state = fold(events)
    after, case = board.step(state, 10, stray)
    assert case is None and after.cases == state.cases and after.seq == 10


def test_the_other_open_incidents_are_listed_beside_the_one_shown() -> None:
    events = history((c.StartDrill(scenario="fire"), ctx(COMMANDER, new=DRILL)),
                     (press("armed_intruder"), ctx(at=5, new=LIVE)))
    assert shown(events)["other_incidents"] == [DRILL]
    assert shown(events[:3])["other_incidents"] == []
    assert shown([configured()])["other_incidents"] == []


def test_someone_missing_who_left_the_roster_is_still_named_by_id() -> None:
    """Given s-6 reported missing, when a site file without s-6 is imported mid-incident, then
    the board still lists s-6 as missing, by id: nobody missing drops off the board."""
    events = history((press("lockdown"), ctx()),
                     report("A-102", status="secured", missing=["s-6"]))
    without = configured(site(people=[p for p in site().people if p.id != "s-6"]), at=90)
    rendered = shown([*events, without])
    assert rendered["people"] == [{"id": "s-6", "name": "s-6", "status": "missing",
                                   "room": "A-102"}]


def test_the_count_a_release_is_refused_on_is_the_count_the_board_shows() -> None:
    """Given reports, accounting by name, check-ins and a release, then intake's ledger (what
    a release is refused on) and the board's people and counts are the same fold."""
    staff = ctx(STAFF, at=100, incident=LIVE)
    entries = [e.AccountingEntry(person_id="s-4", status="absent"),
               e.AccountingEntry(person_id="s-5", status="accounted", location="GYM")]
    steps = [(press("fire"), ctx()),
             report("B-112", at=50, status="needs_help", missing=["s-2"], present=2),
             (c.AccountPersons(entries=entries), staff), (c.CheckIn(person_id="s-1"), staff),
             (c.CheckGuardian(guardian="Anne Byron", id_verified=True, students=["s-1"]), staff),
             (c.OpenReunification(reason="families waiting"), ctx(COMMANDER, at=100,
                                                                    incident=LIVE)),
             (c.Release(person_id="s-1", guardian="Anne Byron", student_consents=True), staff)]
    site_file = configured()
    state, events = run(given(site_file), *steps)
    case = board.current(fold([site_file, *events]))
    assert case is not None
    ledger = state.open["live"].ledger
    assert (ledger.people, ledger.tally) == (case.people, case.tally)
    assert case.people["s-1"].status == "reunified" and case.people["s-2"].status == "missing"


def test_an_early_opening_of_reunification_shows_who_when_and_why() -> None:
    rendered = shown(history((press("fire"), ctx()), (
        c.OpenReunification(reason="the building is unsafe"),
        ctx(COMMANDER, at=80, incident=LIVE))))
    assert rendered["incident"]["reunification_opened"] == {
        "at": iso(80), "by": COMMANDER.id, "reason": "the building is unsafe"}
    assert shown(history((press("fire"), ctx())))["incident"]["reunification_opened"] is None


def test_a_head_count_covers_those_accounted_for_by_name_too() -> None:
    """Given s-1 accounted for by name in B-112 (home of s-1, s-2, t-1), when B-112 reports
    a head count of 2, then s-2 and t-1 stay unknown: two people cannot be all three."""
    named = (c.AccountPersons(entries=[e.AccountingEntry(person_id="s-1", status="accounted",
                                                         location="B-112")]),
             ctx(STAFF, at=30, incident=LIVE))
    rendered = shown(history((press("lockdown"), ctx()), named,
                             report("B-112", at=60, status="secured", present=2)))
    b112 = room(rendered, "B-112")["accountability"]
    assert (b112["accounted"], b112["unknown"]) == (1, 2)
    full = shown(history((press("lockdown"), ctx()), named,
                         report("B-112", at=60, status="secured", present=3)))
    assert room(full, "B-112")["accountability"]["unknown"] == 0


def test_a_head_count_covers_people_placed_in_the_room() -> None:
    """Given s-3 (home A-101) reported present in B-112, when B-112 later counts 3 heads, then
    nobody is settled (four people are placed there); a count of 4 settles all four."""
    moved = report("B-112", at=30, status="secured", extra=["s-3"])
    short = shown(history((press("lockdown"), ctx()), moved,
                          report("B-112", at=60, status="secured", present=3)))
    b112 = room(short, "B-112")["accountability"]
    assert (b112["total"], b112["accounted"], b112["unknown"]) == (4, 1, 3)
    full = shown(history((press("lockdown"), ctx()), moved,
                         report("B-112", at=60, status="secured", present=4)))
    b112 = room(full, "B-112")["accountability"]
    assert (b112["total"], b112["accounted"], b112["unknown"]) == (4, 4, 0)


def test_a_head_count_stores_people_in_roster_order_with_people_placed_there() -> None:
    """With a roster listed backwards, the people a head count settles are stored in the
    roster's order, after one placed there earlier: every process folds the same bytes."""
    backwards = configured(site(people=list(reversed(site().people))))
    events = [backwards, *run(given(backwards), (press("lockdown"), ctx()),
                              report("B-112", at=30, status="secured", extra=["s-3"]),
                              report("B-112", at=60, status="secured", present=4))[1]]
    case = board.current(fold(events))
    assert case is not None and list(case.people) == ["s-3", "t-1", "s-2", "s-1"]


def test_each_room_row_says_where_the_room_is_and_when_it_reported() -> None:
    rendered = shown(history((press("lockdown"), ctx()),
                             report("B-112", at=45, status="secured", present=3)))
    b112 = room(rendered, "B-112")
    assert subset(b112, {"id": "B-112", "name": "Biology", "building": "B", "floor": 1,
                         "zone": "east", "status": "secured", "reported_at": iso(45),
                         "reported_by": STAFF.id, "present": 3})
    assert subset(room(rendered, "A-101"), {"name": "English", "building": "A",
                                            "status": None, "reported_at": None})


def test_a_silent_press_after_the_all_clear_does_not_hush_the_incident() -> None:
    """Given a lockdown pressed aloud and lifted, when a silent press comes, then the board
    does not show the incident as silent: people have already heard of it."""
    quiet = c.RaiseAlert(kind="armed_intruder", room="GYM", silent=True)
    rendered = shown(history((press("lockdown"), ctx()),
                             (c.AllClear(), ctx(COMMANDER, at=60, incident=LIVE)),
                             (quiet, ctx(OTHER_DEVICE, at=90))))
    assert rendered["incident"]["silent"] is False and rendered["incident"]["alerts"] == 2
    opened_silently = shown(history((quiet, ctx(OTHER_DEVICE))))
    assert opened_silently["incident"]["silent"] is True


def test_a_protocol_declared_again_after_the_all_clear_is_an_update() -> None:
    """Given a lockdown lifted by the all clear, when a new press declares it again, then
    that declaration counts as another update (CAP's Update), not as a first alert."""
    rendered = shown(history((press("lockdown"), ctx()),
                             (c.AllClear(), ctx(COMMANDER, at=60, incident=LIVE)),
                             (press("lockdown", "GYM"), ctx(OTHER_DEVICE, at=90))))
    assert rendered["protocol"]["action"] == "lockdown"
    assert subset(rendered["incident"], {"updates": 2, "updated_at": iso(90)})


def test_a_head_count_covers_the_extras_it_names() -> None:
    """Given B-112 (s-1, s-2, t-1) counting 3 heads and naming s-3 as an extra, then the
    count cannot also cover all three of its own: s-3 is accounted for, the rest unknown."""
    rendered = shown(history((press("lockdown"), ctx()),
                             report("B-112", status="secured", present=3, extra=["s-3"])))
    b112 = room(rendered, "B-112")["accountability"]
    assert (b112["total"], b112["accounted"], b112["unknown"]) == (4, 1, 3)
