"""`site_versions.interleaved`: an incident's events with the config changes made while it was
open, by stream sequence, so the desk (and a replay) fold it as the board and intake did; the
desk folded that way from the file in force at the first event agrees with intake."""

from datetime import timedelta

from command.domain import accounting, reunification_desk
from command.domain import commands as c
from command.domain import events as e
from consumers.site_versions import interleaved
from tests.command.domain.test_site_state import (
    STAFF,
    T0,
    configured,
    ctx,
    given,
    site,
    then,
)


def note(seq: int, incident: str | None = "inc-1") -> tuple[int, e.Event]:
    return seq, e.NoteAdded(id=f"ev-{seq}", site="test-high", incident_id=incident,
                            occurred_at=T0, recorded_at=T0, data=e.NoteAddedData(text="x"))


def change(seq: int) -> tuple[int, e.Event]:
    return seq, configured(site())


def closed(seq: int) -> tuple[int, e.Event]:
    return seq, e.IncidentClosed(id=f"ev-{seq}", site="test-high", incident_id="inc-1",
                                 occurred_at=T0, recorded_at=T0,
                                 data=e.IncidentClosedData(summary=""))


def test_changes_made_while_the_incident_was_open_are_merged_by_sequence() -> None:
    events = [note(10), note(14), note(20)]
    merged = interleaved(events, [change(3), change(12), change(17), change(25)])
    assert [seq for seq, _ in merged] == [10, 12, 14, 17, 20, 25]


def test_changes_before_the_first_event_or_after_the_end_are_left_out() -> None:
    """Before the first: the caller's starting file says it; after the end: nobody folded it."""
    merged = interleaved([note(10), note(14), closed(20)], [change(10), change(16), change(21)])
    assert [seq for seq, _ in merged] == [10, 14, 16, 20]
    assert interleaved([], [change(3)]) == []


def test_the_desk_folded_from_the_file_at_the_first_event_agrees_with_intake() -> None:
    """Reviewer #5: every room reports full, then an away team is scheduled. Intake's ledger is
    complete; the desk folded with today's file (the team on at the open, s-5 taken from
    A-102) said not; folded from the file at the first event with the change in its place, it
    says complete, as intake does."""
    cfg = configured(site())
    state = given(cfg)
    state, opened = then(state, c.RaiseAlert(kind="fire", room="B-112"), ctx(STAFF))
    inc = opened[0].incident_id
    events = list(opened)
    for i, room in enumerate(("A-101", "A-102", "B-112", "GYM")):
        n = sum(1 for p in state.site.people if p.room == room)
        state, rep = then(state, c.ReportRoomStatus(status="evacuated", present=n),
                          ctx(STAFF, 5 + i, inc, room=room))
        events += rep
    state, sched = then(state, c.ScheduleAwayEvent(id="team", name="Team", people=["s-5"]),
                        ctx(STAFF, 30))
    assert accounting.unknown(state.open["live"].ledger) == 0  # intake: complete
    now = T0 + timedelta(minutes=5)
    stale = reunification_desk.desk(events, state.site, now)
    assert not stale["accounting_complete"]  # today's file alone: what the desk said
    merged = interleaved(list(enumerate(events, 2)), [(99, sched[0])])
    doc = reunification_desk.desk([ev for _, ev in merged], cfg.data, now)
    assert (doc["accounting_complete"], doc["releases_open"]) == (True, True)
    assert [s["id"] for s in doc["students"]] == [p.id for p in state.site.people
                                                  if p.kind == "student"]
