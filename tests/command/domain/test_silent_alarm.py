"""A silent alarm (Alyssa's Law) reaches responder-facing channels only, until a commander
declares a protocol or someone presses aloud; and a channel's roles decide whether its
messages may carry a name from the roster."""

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from command.domain import alert_rules, board, board_render
from command.domain import events as e
from command.domain.alert_rules import deliveries
from command.domain.site import Channel
from tests.command.domain.test_alert_rules import AT, EVENT_TYPES
from tests.conftest import small_site

SRO = Channel(name="sro", url="json://sro", audience="responders", modes=["live", "drill"],
              escalate_after_s=30, escalate_to=["staff", "district"])
DISTRICT = Channel(name="district", url="json://district", audience="responders",
                   modes=["live", "drill"])
STAFF_ALL = Channel(name="staff", url="json://staff", modes=["live", "drill"])


class Story:
    """One incident's events folded into a board as the notifier folds them: each event's
    deliveries are worked out from the state before it."""

    def __init__(self, chans: list[Channel], mode: str = "live") -> None:
        site = msgspec.structs.replace(small_site(), channels=chans)
        self.mode, self.seq, self.chans = mode, 1, {ch.name: ch for ch in chans}
        self.state = board.evolve(board.empty("test-high"), 1, self._env(
            e.SiteConfigured, site, incident=None))
        self.sent: list[alert_rules.Delivery] = []

    def _env(self, cls: type, data: msgspec.Struct, incident: str | None = "inc-1",
             ) -> e.Envelope:
        return cls(id=f"{cls.__name__}-{self.seq}", site="test-high", incident_id=incident,
                   mode=self.mode, occurred_at=AT, recorded_at=AT, data=data)

    def then(self, cls: type, data: msgspec.Struct) -> list[alert_rules.Delivery]:
        self.seq += 1
        event = self._env(cls, data)
        out = deliveries(self.state, event, frozenset(d.channel for d in self.sent))  # type: ignore[arg-type]
        self.state = board.evolve(self.state, self.seq, event)  # type: ignore[arg-type]
        self.sent += out
        return out

    def press(self, kind: str = "armed_intruder", action: str = "lockdown",
              silent: bool = True) -> list[alert_rules.Delivery]:
        if self.state.cases:
            return self.then(e.AlertRaised, e.AlertRaisedData(
                kind=kind, room="B-112", action=action, silent=silent))  # type: ignore[arg-type]
        self.then(e.IncidentOpened, e.IncidentOpenedData(kind=kind, room="B-112"))  # type: ignore[arg-type]
        raised = self.then(e.AlertRaised, e.AlertRaisedData(
            kind=kind, room="B-112", action=action, silent=silent))  # type: ignore[arg-type]
        return raised + self.then(e.ProtocolDeclared, e.ProtocolDeclaredData(action=action))  # type: ignore[arg-type]

    def escalations(self, d: alert_rules.Delivery) -> list[alert_rules.Delivery]:
        source = self.chans[d.channel]
        return [esc for name in source.escalate_to if name in self.chans
                if (esc := alert_rules.escalation(d, self.chans[name], 30)) is not None]


def test_a_silent_press_reaches_responders_and_never_all_staff() -> None:
    """Given responder channels and an all-staff channel, when a teacher presses silently,
    then only the responder channels hear the lockdown, and escalation skips all staff."""
    story = Story([SRO, DISTRICT, STAFF_ALL])
    sent = story.press()
    assert {d.channel for d in sent} == {"sro", "district"}
    assert all(d.silent for d in sent)
    assert [esc.channel for d in sent for esc in story.escalations(d)] == ["district"]
    assert story.state.cases["inc-1"].incident.silent


def test_the_board_shows_silent_until_a_commander_declares() -> None:
    story = Story([SRO, STAFF_ALL])
    story.press()
    assert board_render.render(story.state)["incident"]["silent"] is True
    heard = story.then(e.ProtocolDeclared, e.ProtocolDeclaredData(
        action="lockdown", reason="commander"))
    assert {d.channel for d in heard} == {"sro", "staff"}
    assert board_render.render(story.state)["incident"]["silent"] is False


def test_the_silence_holds_through_the_all_clear_and_a_false_alarm() -> None:
    story = Story([SRO, STAFF_ALL])
    story.press()
    assert {d.channel for d in story.then(e.ProtocolLifted, e.ProtocolLiftedData(
        action="lockdown"))} == {"sro"}
    story.then(e.IncidentCancelled, e.IncidentCancelledData(reason="bumped"))
    assert "staff" not in {d.channel for d in story.sent}


def test_a_press_aloud_after_a_silent_one_is_heard_by_everyone() -> None:
    """A second teacher pressing aloud asks for the campus-wide alert: it ends the silence."""
    story = Story([SRO, STAFF_ALL])
    story.press()
    assert {d.channel for d in story.press(silent=False)} == {"sro", "staff"}
    assert not story.state.cases["inc-1"].incident.silent


def test_a_silent_press_never_hushes_an_incident_already_heard() -> None:
    story = Story([SRO, STAFF_ALL])
    story.press(silent=False)
    assert {d.channel for d in story.press("fire", "evacuate", silent=True)} == {"sro", "staff"}


def test_a_silent_drill_press_is_labelled_and_stays_with_responders() -> None:
    story = Story([SRO, STAFF_ALL], mode="drill")
    sent = story.press()
    assert {d.channel for d in sent} == {"sro"}
    assert all(d.title.startswith("DRILL — ") for d in sent)


channel_sets = st.lists(
    st.builds(Channel, name=st.sampled_from(["a", "b", "c", "d", "e"]), url=st.just("json://x"),
              audience=st.sampled_from(["on_site", "responders"]),
              events=st.lists(st.sampled_from(EVENT_TYPES), unique=True),
              modes=st.lists(st.sampled_from(["live", "drill"]), unique=True),
              escalate_to=st.lists(st.sampled_from(["a", "b", "c", "d", "e"]), unique=True,
                                   max_size=3),
              handle_with_care=st.booleans()),
    max_size=6, unique_by=lambda ch: ch.name)
# What may follow a silent press before anyone ends the silence.
followers = st.lists(st.sampled_from([
    (e.AlertRaised, e.AlertRaisedData(kind="medical", room="A-101", action="hold", silent=True)),
    (e.AlertRaised, e.AlertRaisedData(kind="fire", room="A-101", action="evacuate",
                                      silent=True)),
    (e.ProtocolDeclared, e.ProtocolDeclaredData(action="evacuate")),
    (e.ProtocolLifted, e.ProtocolLiftedData(action="lockdown")),
    (e.ProtocolLifted, e.ProtocolLiftedData(action="lockdown", reason="cancel")),
    (e.IncidentCancelled, e.IncidentCancelledData(reason="oops")),
    (e.NoteAdded, e.NoteAddedData(text="x")),
    (e.RoomStatusReported, e.RoomStatusReportedData(room="B-112", status="secured")),
]), max_size=6)


@settings(max_examples=200, deadline=None)
@given(chans=channel_sets, after=followers, mode=st.sampled_from(["live", "drill"]),
       kind=st.sampled_from([("armed_intruder", "lockdown"), ("medical", "hold"),
                             ("fire", "evacuate"), ("police_activity", "secure")]))
def test_a_silent_alarm_never_reaches_an_on_site_channel(
        chans: list[Channel], after: list[tuple[type, msgspec.Struct]], mode: str,
        kind: tuple[str, str]) -> None:
    """Whatever the channels, the mode and what follows, until a commander declares a
    protocol no message of a silent alarm, nor its escalation, reaches an on-site channel."""
    story = Story(chans, mode=mode)
    story.press(*kind)
    for cls, data in after:
        story.then(cls, data)
        if cls is e.IncidentCancelled:
            return  # the incident is over: intake writes nothing more to it
    on_site = {c.name for c in chans if c.audience == "on_site"}
    assert not {d.channel for d in story.sent} & on_site
    assert not {esc.channel for d in story.sent for esc in story.escalations(d)} & on_site
    declared = story.then(e.ProtocolDeclared, e.ProtocolDeclaredData(
        action="lockdown", reason="commander"))
    wanted = {c.name for c in chans if "ProtocolDeclared" in c.events and mode in c.modes
              and not c.handle_with_care}
    assert {d.channel for d in declared} == wanted  # the commander is heard by every channel


def hwc_to(chans: list[Channel]) -> dict[str, str]:
    story = Story(chans)
    story.seq += 1
    notice = e.HandleWithCareIssued(id="hwc", site="test-high", occurred_at=AT, recorded_at=AT,
                                    data=e.HandleWithCareIssuedData(person_id="s-1"))
    return {d.channel: d.body for d in deliveries(story.state, notice)}


def test_a_channel_carries_a_roster_name_only_when_its_roles_may_read_the_roster() -> None:
    """Given a counselor channel for staff and one for responders, a Handle With Care notice
    names the student only on the channel whose readers may see the roster."""
    care = dict(handle_with_care=True, events=["HandleWithCareIssued"])
    bodies = hwc_to([Channel(name="counselor", url="json://c", roles=["staff"], **care),
                     Channel(name="liaison", url="json://l", roles=["responder"], **care),
                     Channel(name="unsaid", url="json://u", **care)])
    assert bodies["counselor"] == "Ada Lovelace"
    assert "Ada Lovelace" not in bodies["liaison"] and "Ada Lovelace" not in bodies["unsaid"]
    assert bodies["liaison"] == bodies["unsaid"] == alert_rules.UNNAMED


def test_an_escalated_notice_carries_the_name_only_to_roles_that_may_read_it() -> None:
    care = dict(handle_with_care=True, events=["HandleWithCareIssued"])
    counselor = Channel(name="counselor", url="json://c", roles=["staff"], escalate_after_s=60,
                        escalate_to=["principal", "liaison"], **care)
    principal = Channel(name="principal", url="json://p", roles=["commander"], **care)
    liaison = Channel(name="liaison", url="json://l", roles=["responder"], **care)
    story = Story([counselor, principal, liaison])
    notice = e.HandleWithCareIssued(id="hwc", site="test-high", occurred_at=AT, recorded_at=AT,
                                    data=e.HandleWithCareIssuedData(person_id="s-1"))
    sent = next(d for d in deliveries(story.state, notice) if d.channel == "counselor")
    bodies = {d.channel: d.body for d in story.escalations(sent)}
    assert "Ada Lovelace" in bodies["principal"]
    assert "Ada Lovelace" not in bodies["liaison"] and alert_rules.UNNAMED in bodies["liaison"]
