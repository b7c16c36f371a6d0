"""A 911 call's own alert (a CAD's EIDO opened the incident): "command" channels hear it first, in
911's words, until a person presses or a commander declares, or at once where the site asks."""

from datetime import UTC, datetime

import msgspec

from command.domain import alert_rules, board
from command.domain import events as e
from command.domain import site as site_file
from command.domain.site import Channel
from tests.conftest import small_site

AT = datetime(2026, 11, 28, 17, 41, tzinfo=UTC)
CAD = e.Actor(kind="integration", id="cad-anytown", role="dispatch")
CHANNELS = [Channel(name="principal", url="json://p", audience="command"),
            Channel(name="sro", url="json://r", audience="responders"),
            Channel(name="staff", url="json://s")]


def state(declare: bool = False, channels: list[Channel] = CHANNELS) -> board.State:
    dispatch = site_file.loads(f'id = "x"\nname = "x"\n[dispatch]\ndeclare = {str(declare).lower()}'
                               ).dispatch
    site = msgspec.structs.replace(small_site(), channels=channels, dispatch=dispatch,
                                   timezone="America/Denver")
    return board.evolve(board.empty("test-high"), 1, e.SiteConfigured(
        id="cfg", site="test-high", occurred_at=AT, recorded_at=AT, data=site))


def alert(actor: e.Actor = CAD, kind: str = "armed_intruder", note: str | None = "WEAPON",
          ) -> e.AlertRaised:
    return e.AlertRaised(id="a-1", site="test-high", incident_id="inc-1", occurred_at=AT,
                         recorded_at=AT, actor=actor, data=e.AlertRaisedData(
                             kind=kind, room="GYM", action="lockdown", note=note))


def test_a_911_call_reaches_command_channels_only_in_911s_words() -> None:
    [d] = alert_rules.deliveries(state(), alert())
    assert d.channel == "principal"
    assert d.title == "911 — Test High"
    assert d.body == "911 reports armed intruder (WEAPON) at Test High, 10:41."
    assert d.priority == alert_rules.URGENT


def test_a_persons_press_is_heard_by_every_channel_as_before() -> None:
    staff = e.Actor(kind="user", id="t-1", role="staff")
    sent = alert_rules.deliveries(state(), alert(actor=staff))
    assert sorted(d.channel for d in sent) == ["principal", "sro", "staff"]
    assert all("911" not in d.body for d in sent)


def test_a_site_that_declares_at_once_hears_the_call_by_the_normal_rules() -> None:
    sent = alert_rules.deliveries(state(declare=True), alert())
    assert sorted(d.channel for d in sent) == ["principal", "sro", "staff"]
    assert all(d.title.startswith("[EXTREME] LOCKDOWN") for d in sent)
    # The call's room field is a placeholder: no message sends anyone to look for that room.
    assert all("room" not in d.body for d in sent), [d.body for d in sent]


def test_a_site_without_a_command_channel_hears_nothing_of_the_call() -> None:
    assert alert_rules.deliveries(state(channels=CHANNELS[1:]), alert()) == []


def test_a_911_call_escalates_only_to_command_channels() -> None:
    [d] = alert_rules.deliveries(state(), alert())
    board_room = Channel(name="board", url="json://b", audience="command")
    assert alert_rules.escalation(d, CHANNELS[2], 30) is None
    assert alert_rules.escalation(d, CHANNELS[1], 30) is None
    esc = alert_rules.escalation(d, board_room, 30)
    assert esc is not None and esc.channel == "board" and "911 reports" in esc.body
