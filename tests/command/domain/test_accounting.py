"""Accounting before release (SRM), and the ledger the board and intake's decisions share."""

import msgspec

from command.domain import accounting, board, board_render
from command.domain import commands as c
from command.domain import events as e
from command.domain.site import Person, Room
from command.domain.site_state import SiteState
from command.domain.site_state import evolve as intake_fold
from tests.command.domain.test_site_state import (
    COMMANDER,
    LIVE,
    configured,
    ctx,
    evacuated,
    everyone_accounted,
    guardian,
    rejects,
    release,
    run,
    site,
    step,
    then,
    types,
)

EARLY = "the fire reached the field; families are at the gate"


def checked_and_approved(state: SiteState) -> SiteState:
    return run(state, step(c.CheckIn(person_id="s-1")), step(guardian("Anne Byron", "s-1")))[0]


def open_early(state: SiteState, reason: str = EARLY) -> tuple[SiteState, list[e.Envelope]]:
    return then(state, c.OpenReunification(reason=reason), ctx(COMMANDER, at=90, incident=LIVE))


def test_no_student_is_released_while_anyone_is_unaccounted_for() -> None:
    """Given a checked-in student and an approved guardian but people still unknown,
    when staff release the student, then it is a 409 and nothing is written."""
    state = checked_and_approved(evacuated())
    assert accounting.unknown(state.open["live"].ledger) > 0
    err = rejects(state, *step(release()))
    assert (err.code, err.field) == ("conflict", "$.person_id")


def test_release_follows_once_accounting_is_complete() -> None:
    state = checked_and_approved(run(evacuated(), everyone_accounted())[0])
    assert accounting.unknown(state.open["live"].ledger) == 0
    assert types(then(state, *step(release()))[1]) == ["StudentReleased"]


def test_one_person_unknown_still_holds_every_release() -> None:
    entries = [e.AccountingEntry(person_id=p.id, status="accounted")
               for p in site().people if p.id != "t-2"]
    state = checked_and_approved(run(evacuated(), step(c.AccountPersons(entries=entries)))[0])
    assert accounting.unknown(state.open["live"].ledger) == 1
    assert rejects(state, *step(release())).code == "conflict"


def test_missing_and_absent_people_are_accounted_for_as_such() -> None:
    """Accounting is complete when everyone has a known status, missing included: the
    missing go to their own track, and they do not hold every other family back."""
    entries = [e.AccountingEntry(person_id=p.id, status="missing" if p.id == "s-6"
                                 else "absent" if p.id == "s-5" else "accounted")
               for p in site().people]
    state = checked_and_approved(run(evacuated(), step(c.AccountPersons(entries=entries)))[0])
    assert types(then(state, *step(release()))[1]) == ["StudentReleased"]


def test_head_counts_complete_accounting_as_the_board_counts_it() -> None:
    """Rooms reported with full head counts account for everyone: intake's ledger and the
    board's count agree, so the release the board shows as possible is the one allowed."""
    state = evacuated()
    for room in site().rooms:
        n = sum(1 for p in site().people if p.room == room.id)
        state = then(state, c.ReportRoomStatus(status="evacuated", present=n),
                     ctx(COMMANDER, at=50, incident=LIVE, room=room.id))[0]
    ledger = state.open["live"].ledger
    assert accounting.unknown(ledger) == 0
    assert types(then(checked_and_approved(state), *step(release()))[1]) == ["StudentReleased"]


def test_a_commander_may_open_reunification_early_with_a_reason() -> None:
    state, events = open_early(checked_and_approved(evacuated()))
    assert types(events) == ["ReunificationOpened"] and events[0].data.reason == EARLY
    assert types(then(state, *step(release()))[1]) == ["StudentReleased"]


def test_opening_early_needs_a_reason_and_happens_once() -> None:
    assert rejects(evacuated(), c.OpenReunification(reason="  "),
                   ctx(COMMANDER, at=90, incident=LIVE)).field == "$.reason"
    state = open_early(evacuated())[0]
    assert rejects(state, c.OpenReunification(reason="again"),
                   ctx(COMMANDER, at=95, incident=LIVE)).code == "conflict"


def test_a_head_count_never_settles_a_person_reported_missing() -> None:
    config = site()
    ledger = accounting.opened(config)
    ledger = accounting.room_reported(ledger, e.RoomStatusReportedData(
        room="B-112", status="secured", missing=["s-1"]), config)
    ledger = accounting.room_reported(ledger, e.RoomStatusReportedData(
        room="B-112", status="secured", present=5), config)
    assert accounting.person(ledger, config, "s-1").status == "missing"
    assert accounting.person(ledger, config, "s-2").status == "accounted"


def test_ledger_counts_move_with_each_person() -> None:
    config = site()
    ledger = accounting.opened(config)
    assert accounting.unknown(ledger) == len(config.people)
    data = e.PersonsAccountedData(entries=[e.AccountingEntry(person_id="s-1", status="injured",
                                                             location="GYM")])
    ledger = accounting.accounted(ledger, data, config)
    assert accounting.unknown(ledger) == len(config.people) - 1
    assert ledger.tally["GYM"]["injured"] == 1 and ledger.tally["B-112"]["unknown"] == 2
    ledger = accounting.released(accounting.checked_in(ledger, "s-1", config), "s-1", config)
    assert accounting.person(ledger, config, "s-1") == accounting.Person(room="GYM",
                                                                          status="reunified")
    assert msgspec.structs.asdict(ledger)["tally"]["GYM"]["injured"] == 0


def test_intake_and_the_board_count_the_same_people_through_a_site_file_change() -> None:
    """Given reports, accounting, a check-in and a site file re-imported mid-incident with a
    new room and a new student in it, intake's ledger (which releases are refused on) and the
    board's counts are the same, person by person and room by room."""
    grown = msgspec.structs.replace(
        site(), rooms=[*site().rooms, Room(id="ANNEX", name="Annex")],
        people=[*site().people, Person(id="s-9", name="New Kid", room="ANNEX")])
    staff = ctx(COMMANDER, at=40, incident=LIVE)
    cfg = configured()
    state, written = then(intake_fold(SiteState(), cfg), c.RaiseAlert(kind="fire", room="B-112"),
                          ctx())
    events: list[e.Envelope] = [cfg, *written]
    steps = [(c.ReportRoomStatus(status="evacuated", present=3, missing=["s-2"]),
              ctx(COMMANDER, at=30, incident=LIVE, room="B-112")),
             (c.ConfigureSite(site=grown), staff),
             (c.ReportRoomStatus(status="evacuated", present=1),
              ctx(COMMANDER, at=50, incident=LIVE, room="ANNEX")),
             (c.AccountPersons(entries=[e.AccountingEntry(person_id="s-5", status="absent")]),
              staff),
             (c.CheckIn(person_id="s-2"), staff)]
    for cmd, context in steps:
        state, written = then(state, cmd, context)
        events += written
    shown = board.fold("test-high", list(enumerate(events, start=1)))  # type: ignore[arg-type]
    case = shown.cases[LIVE]
    ledger = state.open["live"].ledger
    assert (ledger.people, ledger.tally) == (case.people, case.tally)
    assert board_render.render(shown)["accountability"]["unknown"] == accounting.unknown(ledger) > 0
