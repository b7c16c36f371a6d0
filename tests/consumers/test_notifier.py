"""The notifier's pass-by rule: which events it may skip without decoding them."""

import msgspec

from command.domain import alert_rules, board
from command.domain import events as e
from command.domain.site import Channel
from consumers.notifier import QUIET, acts, passes_by
from tests.command.domain.test_alert_rules import env, press, state_with

NOTE = env(e.NoteAdded, e.NoteAddedData(text="hallway clear"))
ROOM = env(e.RoomStatusReported, e.RoomStatusReportedData(room="B-112", status="secured"))


def test_a_note_passes_by_when_no_channel_asks_for_notes() -> None:
    states = {"test-high": state_with([Channel(name="sro", url="json://x")])}
    assert passes_by(states, e.encode(NOTE)) and passes_by(states, e.encode(ROOM))
    assert not passes_by(states, e.encode(press()))


def test_a_note_is_read_when_a_channel_asks_for_notes() -> None:
    listening = Channel(name="log", url="json://x", events=["NoteAdded"])
    states = {"test-high": state_with([Channel(name="sro", url="json://x"), listening])}
    assert not passes_by(states, e.encode(NOTE))
    assert [d.channel for d in alert_rules.deliveries(states["test-high"], NOTE)] == ["log"]


def test_what_a_message_reads_is_never_changed_by_a_quiet_event() -> None:
    """Skipping is safe only if folding a quiet event leaves config and incidents alone."""
    state = state_with([Channel(name="sro", url="json://x")])
    for event in (NOTE, ROOM):
        assert e.type_of(event) in QUIET
        after = board.evolve(state, 9, event)
        assert after.config == state.config
        for key, case in after.cases.items():
            before = state.cases[key]
            assert (case.incident, case.protocol) == (before.incident, before.protocol)
        assert alert_rules.deliveries(after, press()) == alert_rules.deliveries(state, press())


def test_no_type_that_can_notify_by_default_is_quiet() -> None:
    defaults = Channel(name="x", url="json://x")
    assert not QUIET & set(defaults.events)
    assert not QUIET & {"AlertRaised", "ProtocolDeclared", "ProtocolLifted", "IncidentOpened",
                        "IncidentCancelled", "IncidentClosed", "ResponderAcknowledged",
                        "HandleWithCareIssued", "SiteConfigured"}
    assert msgspec.json.decode(e.encode(NOTE))["type"] == "NoteAdded"


def test_only_a_send_or_a_timer_needs_the_outbox_transaction() -> None:
    state = state_with([Channel(name="sro", url="json://x")])
    ack = env(e.ResponderAcknowledged, e.ResponderAcknowledgedData(responder="Officer Lee"))
    assert acts(state, press()) and acts(state, ack)
    assert not acts(state, NOTE) and not acts(state, ROOM)
