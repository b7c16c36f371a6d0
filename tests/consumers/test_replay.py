"""The replay's pure parts: a rewritten event keeps the original's clock, and `cut` and
`pauses` decide what goes onto the board at once and what plays at speed."""

from datetime import UTC, datetime, timedelta

import pytest
from msgspec.structs import replace

from command.domain import board
from command.domain import commands as c
from command.domain import events as e
from command.domain.errors import Invalid
from command.domain.site import Channel, Site
from command.domain.site_drills import Drills
from consumers.replay import (
    Recording,
    cut,
    pauses,
    replay_incident,
    replayed_id,
    rewrite,
    schedule,
)
from consumers.site_versions import interleaved
from tests.command.domain.test_site_state import STAFF as STAFF_
from tests.command.domain.test_site_state import configured, ctx, given, site, then

T0 = datetime(2026, 10, 14, 10, 0, tzinfo=UTC)
WALL = datetime(2026, 12, 4, 3, 0, tzinfo=UTC)
STAFF = e.Actor(kind="user", id="ms-frizzle", role="staff")
SITE = "replay-inc-1"


def at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


def opened(s: float = 0) -> e.Event:
    return e.IncidentOpened(id=f"ev-open-{s}", site="test-high", incident_id="inc-1",
                            mode="drill", occurred_at=at(s), recorded_at=at(s), actor=STAFF,
                            data=e.IncidentOpenedData(kind="lockdown"))


def note(s: float) -> e.Event:
    return e.NoteAdded(id=f"ev-note-{s}", site="test-high", incident_id="inc-1", mode="drill",
                       occurred_at=at(s), recorded_at=at(s), actor=STAFF,
                       data=e.NoteAddedData(text=f"at {s}"))


def inject(s: float, index: int) -> e.Event:
    return e.InjectDelivered(id=f"ev-inject-{index}", site="test-high", incident_id="inc-1",
                             mode="tabletop", occurred_at=at(s), recorded_at=at(s), actor=STAFF,
                             data=e.InjectDeliveredData(index=index, text=f"inject {index}"))


def sent(s: float) -> e.Event:
    return e.NotificationSent(id=f"ev-sent-{s}", site="test-high", incident_id="inc-1",
                              mode="drill", occurred_at=at(s), recorded_at=at(s), actor=STAFF,
                              data=e.NotificationSentData(channel="sro", event_id="ev-open-0"))


def test_a_replayed_event_keeps_the_originals_time_and_is_recorded_at_the_replays() -> None:
    original = note(252)
    copy = rewrite(original, SITE, replay_incident("inc-1", "r1"), "r1", WALL)
    assert copy.occurred_at == at(252)  # when it happened
    assert copy.recorded_at == WALL  # when this copy was appended
    assert (copy.site, copy.mode, copy.incident_id) == (SITE, "replay", "replay-r1-inc-1")
    assert copy.id == replayed_id(original.id, "r1") != original.id
    assert copy.data == original.data


def test_a_replayed_send_record_names_the_replayed_alert_not_the_original() -> None:
    copy = rewrite(sent(3), SITE, replay_incident("inc-1", "r2"), "r2", WALL)
    assert copy.data.event_id == replayed_id("ev-open-0", "r2")  # type: ignore[union-attr]
    assert copy.occurred_at == at(3)


def test_a_replayed_site_file_has_no_channels_district_or_drill_rules() -> None:
    """A replay board is no school: nobody hears it, and no district counts or checks it."""
    school = Site(id="test-high", name="Test High", district="d-1", drills=Drills(state="MI"),
                  channels=[Channel(name="sro", url="json://x", modes=["live", "drill"])])
    original = e.SiteConfigured(id="ev-site", site="test-high", occurred_at=T0, recorded_at=T0,
                                data=school)
    copy = rewrite(original, SITE, replay_incident("inc-1", "r3"), "r3", WALL)
    assert isinstance(copy, e.SiteConfigured) and copy.incident_id is None
    assert (copy.data.id, copy.data.channels, copy.data.district, copy.data.drills) == (
        SITE, [], None, None)
    assert copy.data.name == "Test High"


def test_without_a_cut_everything_plays_from_the_first_event() -> None:
    assert cut([opened(), note(30)]) == 0
    assert cut([]) == 0


@pytest.mark.parametrize(("minute", "index"), [(0, 0), (0.5, 1), (1, 2), (4, 2), (4.2, 3)])
def test_from_minute_n_puts_every_event_before_that_minute_on_at_once(
        minute: float, index: int) -> None:
    # Given events at 0 s, 30 s, 4 min and 4 min 12 s of the original
    events = [opened(0), note(30), note(240), note(252)]
    # When the replay starts from minute N, then the first event played is the first at or
    # after N minutes from the incident's first event
    assert cut(events, from_minute=minute) == index


def test_from_a_minute_past_the_end_is_refused_saying_how_long_it_lasted() -> None:
    with pytest.raises(Invalid) as caught:
        cut([opened(0), note(252)], from_minute=5)
    assert caught.value.field == "from_minute" and "4.2 min" in caught.value.message
    with pytest.raises(Invalid) as caught:
        cut([opened(0)], from_minute=-1)
    assert caught.value.field == "from_minute"


def test_from_inject_k_cuts_at_the_kth_inject_delivered_counted_from_one() -> None:
    events = [opened(0), note(10), inject(60, 0), note(70), inject(120, 1), note(130)]
    assert cut(events, from_inject=1) == 2
    assert cut(events, from_inject=2) == 4


def test_from_an_inject_the_incident_never_had_is_refused_saying_how_many_it_had() -> None:
    events = [opened(0), inject(60, 0), note(70)]
    with pytest.raises(Invalid) as caught:
        cut(events, from_inject=2)
    assert caught.value.field == "from_inject" and "has 1 inject(s)" in caught.value.message
    with pytest.raises(Invalid) as caught:
        cut([opened(0), note(1)], from_inject=1)
    assert "has 0 inject(s)" in caught.value.message
    with pytest.raises(Invalid):
        cut(events, from_inject=0)


def test_a_minute_and_an_inject_together_are_refused() -> None:
    with pytest.raises(Invalid) as caught:
        cut([opened(0), inject(60, 0)], from_minute=1, from_inject=1)
    assert caught.value.field == "from_inject"


def test_pauses_are_the_original_gaps_over_speed_capped_and_none_before_the_cut() -> None:
    events = [opened(0), note(30), note(240), note(252), note(262)]
    assert pauses(events, speed=10) == [0.0, 3.0, 5.0, 1.2, 1.0]  # 210 s / 10 capped at 5
    # From the cut at event 2: events 0..2 at once, the rest at speed
    assert pauses(events, speed=10, start=2) == [0.0, 0.0, 0.0, 1.2, 1.0]
    assert pauses(events, speed=2, start=4) == [0.0] * 5


def test_a_replay_plays_an_away_event_scheduled_mid_incident_where_it_came() -> None:
    """Reviewer #4: a trip scheduled during a lockdown, a press from it and its report. The
    recording carries the change among the incident's events (site_versions.interleaved), so
    the replay board's units and accountability are the original board's."""
    cfg = configured(site())
    state = given(cfg)
    state, opened_ = then(state, c.RaiseAlert(kind="lockdown", room="B-112"), ctx(STAFF_))
    inc = opened_[0].incident_id
    state, sched = then(state, c.ScheduleAwayEvent(id="trip2", name="Trip", people=["s-5"]),
                        ctx(STAFF_, 5))
    state, pressed = then(state, c.RaiseAlert(kind="lockdown", away_event="trip2"),
                          ctx(STAFF_, 10))
    state, rep = then(state, c.ReportRoomStatus(status="secured", present=1),
                      ctx(STAFF_, 20, inc, room="trip2"))
    stream = list(enumerate([cfg, *opened_, *sched, *pressed, *rep], 1))
    live = board.fold("test-high", stream).cases[inc or ""]
    mine = [(s, ev) for s, ev in stream if ev.incident_id == inc]
    changes = [(s, ev) for s, ev in stream if ev.incident_id is None and s > 1]
    played = schedule(Recording(cfg, interleaved(mine, changes)), 1.0)
    assert [e.type_of(ev) for _, ev in played].count("AwayEventScheduled") == 1
    copy = board.fold("test-high", list(enumerate((ev for _, ev in played), 1))).cases[inc or ""]
    assert (copy.rooms, copy.tally, copy.people) == (live.rooms, live.tally, live.people)
    assert live.people["s-5"].room == "trip2"


def test_a_config_change_plays_just_before_the_next_event_in_the_stream() -> None:
    """The incident's events play in time order; a change goes before the first of them that
    came after it in the stream, so everything the board folded after it is folded after it."""
    change = configured(site(), at=30)
    later_in_time_earlier_in_stream = replace(note(40), id="late")
    events = [(1, opened(0)), (2, later_in_time_earlier_in_stream), (4, note(20)),
              (5, note(50))]
    played = schedule(Recording(None, interleaved(events, [(3, change)])), 1.0)
    assert [ev.id for _, ev in played] == [
        "ev-open-0", change.id, "ev-note-20", "late", "ev-note-50"]
    trailing = schedule(Recording(None, interleaved(events, [(9, change)])), 1.0)
    assert trailing[-1][1] is change
