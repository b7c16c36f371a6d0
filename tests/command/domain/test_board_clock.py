"""A replay board's clock: the original incident's, from the events it folded (issue 20)."""

from datetime import timedelta

from msgspec.structs import replace

from command.domain import board, board_render
from command.domain import commands as c
from command.domain import events as e
from tests.command.domain.test_board import history, iso, report
from tests.command.domain.test_site_state import COMMANDER, LIVE, SITE_ID, T0, ctx, press


def replayed(events: list[e.Envelope]) -> board.State:
    """The events as a replay appends them: mode replay, their own times kept."""
    return board.fold(SITE_ID, [(n, replace(ev, mode="replay"))
                                for n, ev in enumerate(events, start=1)], mode="replay")


def test_a_replay_board_shows_the_time_of_its_latest_event_and_when_the_incident_opened(
        ) -> None:
    """Given a press at T0 and a room report at 4 min 12 s, when replayed, then the board's
    clock is the report's time and the incident's opening: not the wall clock."""
    events = history((press("lockdown"), ctx()), report("A-101", at=252, status="secured"))
    clock = board_render.render(replayed(events))["clock"]
    assert clock == {"at": iso(252), "started_at": iso(0)}
    # Part way through, the clock is that point's
    assert board_render.render(replayed(events[:2]))["clock"] == {"at": iso(0),
                                                                  "started_at": iso(0)}


def test_the_site_file_alone_sets_no_clock_and_a_closed_incident_keeps_its_start() -> None:
    """Given only the replay's site file (an hour before), then there is no clock yet; once the
    incident is closed and leaves the board, its start still anchors "+m:ss from the start"."""
    events = history((press("lockdown"), ctx()), (c.AllClear(), ctx(COMMANDER, 300, LIVE)),
                     (c.Close(), ctx(COMMANDER, 420, LIVE)))
    assert board_render.render(replayed(events[:1]))["clock"] is None
    ended = board_render.render(replayed(events))
    assert ended["incident"] is None
    assert ended["clock"] == {"at": iso(420), "started_at": iso(0)}


def test_a_send_record_moves_the_clock_and_an_event_never_shown_does_not() -> None:
    events = history((press("lockdown"), ctx()))
    sent = e.NotificationSent(id="sent-1", site=SITE_ID, incident_id=LIVE,
                              occurred_at=T0 + timedelta(seconds=9), recorded_at=T0,
                              data=e.NotificationSentData(channel="sro", event_id=events[-1].id))
    notice = e.HandleWithCareIssued(id="hwc-1", site=SITE_ID, incident_id=LIVE,
                                    occurred_at=T0 + timedelta(seconds=20), recorded_at=T0,
                                    data=e.HandleWithCareIssuedData(person_id="s-3"))
    assert board_render.render(replayed([*events, sent, notice]))["clock"]["at"] == iso(9)


def test_live_and_drill_boards_run_on_the_wall_clock_so_carry_none() -> None:
    events = history((press("lockdown"), ctx()), report("A-101", at=30, status="secured"))
    live = board.fold(SITE_ID, list(enumerate(events, start=1)))  # type: ignore[arg-type]
    assert live.clock == T0 + timedelta(seconds=30)  # folded all the same
    assert board_render.render(live)["clock"] is None
