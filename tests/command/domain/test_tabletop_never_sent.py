"""A tabletop is never sent: no channel delivery or escalation of any of its events, whatever
a channel asks for; no CAP message of it; no 911 subscriber notified of it."""

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from command.domain import alert_rules, board, cap
from command.domain import commands as c
from command.domain import events as e
from command.domain.alert_rules import Delivery, deliveries
from command.domain.scenario import Inject, Scenario
from command.domain.site import Channel
from consumers import dispatch_subscriptions as ds
from tests.command.domain.test_alert_rules import (
    EVENT_TYPES,
    env,
    events_strategy,
    state_with,
)
from tests.command.domain.test_alert_rules import press as pressed
from tests.command.domain.test_cap import DENVER, state, valid
from tests.command.domain.test_site_state import COMMANDER, STAFF, configured, ctx, press

ALL_EVENTS = [*EVENT_TYPES, "InjectDelivered", "DrillSignedOff", "IncidentOpened"]
SCENARIO = Scenario(title="Spill", kind="hazmat", injects=[Inject(text="A tanker leaks.")])
TT = "inc-tt"
inject = env(e.InjectDelivered, e.InjectDeliveredData(index=0, text="A tanker leaks."))
signed = env(e.DrillSignedOff, e.DrillSignedOffData(signed_by="Dr. Reyes"))

greedy = st.lists(
    st.builds(Channel, name=st.sampled_from(["a", "b", "c", "d"]), url=st.just("json://x"),
              events=st.lists(st.sampled_from(ALL_EVENTS), unique=True),
              modes=st.lists(st.sampled_from(["live", "drill", "replay"]), unique=True),
              handle_with_care=st.booleans(), audience=st.sampled_from(
                  ["everyone", "responders", "command"]),
              escalate_to=st.lists(st.sampled_from(["a", "b", "c", "d"]), unique=True)),
    min_size=1, max_size=5, unique_by=lambda ch: ch.name)


@settings(max_examples=300, deadline=None)
@given(chans=greedy, event=st.one_of(events_strategy, st.just(inject), st.just(signed)),
       alerted=st.frozensets(st.sampled_from(["a", "b", "c", "d"])))
def test_no_tabletop_event_is_ever_delivered_whatever_a_channel_asks(
        chans: list[Channel], event: e.Envelope, alerted: frozenset[str]) -> None:
    tabletop = msgspec.structs.replace(event, mode="tabletop")
    assert deliveries(state_with(chans, mode="tabletop"), tabletop, alerted) == []


def test_the_same_events_live_or_drill_do_reach_a_channel_that_takes_everything() -> None:
    every = Channel(name="all", url="json://a", events=ALL_EVENTS,
                    modes=["live", "drill", "replay"])
    for mode in ("live", "drill"):
        for event in (pressed(mode=mode), msgspec.structs.replace(inject, mode=mode)):
            assert [d.channel for d in deliveries(state_with([every], mode=mode), event)] == \
                ["all"]
            assert alert_rules.escalation(deliveries(state_with([every], mode=mode), event)[0],
                                          every, 60) is not None
        assert deliveries(state_with([every], mode="tabletop"),
                          pressed(mode="tabletop")) == []


@settings(max_examples=100, deadline=None)
@given(target=greedy.map(lambda chans: chans[0]),
       kind=st.sampled_from(["alert", "false_alarm", "escalation", "handle_with_care"]))
def test_no_tabletop_message_ever_escalates(target: Channel, kind: str) -> None:
    d = Delivery(channel="x", event_id="e", site="test-high", incident_id=TT, mode="tabletop",
                 kind=kind, title="t", body="b")  # type: ignore[arg-type]
    assert alert_rules.escalation(d, target, 60) is None
    assert not alert_rules.accepts(target, "tabletop")


def test_a_tabletop_has_no_cap_message_even_when_it_is_all_the_site_had() -> None:
    started = (c.StartTabletop(scenario=SCENARIO), ctx(COMMANDER, new=TT))
    declared = (c.DeclareProtocol(action="shelter", hazard="chlorine"),
                ctx(COMMANDER, at=30, incident=TT))
    assert cap.document(state(started, declared)) is None
    lifted = (c.AllClear(), ctx(COMMANDER, at=60, incident=TT))
    closed = (c.Close(), ctx(COMMANDER, at=70, incident=TT))
    assert cap.document(state(started, declared, lifted, closed)) is None


def test_a_live_incident_during_a_tabletop_is_published_and_the_tabletop_is_not() -> None:
    started = (c.StartTabletop(scenario=SCENARIO), ctx(COMMANDER, new=TT))
    f = valid(cap.document(state(started, (press("lockdown"), ctx(STAFF, at=5)),
                                 s=configured(DENVER))))
    assert f["incidents"] == "inc-live" and f["status"] == "Actual"


def test_a_drill_still_shows_when_a_tabletop_opened_first() -> None:
    drill = (press("lockdown", drill=True), ctx(new="inc-drill"))
    board_state = state(drill)
    opened_tt = env(e.IncidentOpened, e.IncidentOpenedData(kind="hazmat"), mode="tabletop",
                    incident=TT)
    board_state = board.evolve(board_state, board_state.seq + 1, opened_tt)
    assert valid(cap.document(board_state))["incidents"] == "inc-drill"


@given(sub_type=st.sampled_from(ds.SUB_TYPES))
def test_no_911_subscription_hears_of_a_tabletop(sub_type: str) -> None:
    assert not ds.heard(sub_type, "tabletop") and not ds.heard(sub_type, "replay")
    assert ds.heard(sub_type, "live")
    assert ds.heard(sub_type, "drill") == (sub_type == "single")


def test_a_tabletop_ending_after_a_real_incident_leaves_cap_telling_of_the_real_one() -> None:
    """CAP's last message stays the live incident's all clear; a later tabletop is no alert."""
    live = [(press("lockdown"), ctx(STAFF, new="inc-live")),
            (c.AllClear(), ctx(COMMANDER, at=30, incident="inc-live")),
            (c.Close(), ctx(COMMANDER, at=40, incident="inc-live"))]
    tabletop = [(c.StartTabletop(scenario=SCENARIO), ctx(COMMANDER, at=100, new=TT)),
                (c.Close(), ctx(COMMANDER, at=160, incident=TT))]
    before = valid(cap.document(state(*live)))
    after = state(*live, *tabletop)
    assert after.ended is not None and after.ended.incident.id == "inc-live"
    assert valid(cap.document(after)) == before and before["incidents"] == "inc-live"
