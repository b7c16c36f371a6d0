"""What each event owes the notifier's outbox: which events it may skip without decoding them,
which need the outbox transaction, and the rows and timers each writes (its sends worked out
once)."""

from typing import Any

import msgspec
import pytest

from command.domain import alert_rules, board
from command.domain import events as e
from command.domain.site import Channel
from consumers.outbox_effects import QUIET, Batch, acts, passes_by, write_effects
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


class Conn:
    """Records the outbox's SQL; `alerted` answers the query of who heard an incident's alerts."""

    def __init__(self, alerted: tuple[str, ...] = ()) -> None:
        self.alerted = alerted
        self.executed: list[tuple[str, tuple[Any, ...]]] = []

    async def execute(self, sql: str, *args: Any) -> None:
        self.executed.append((sql.split("(")[0].strip(), args))

    async def executemany(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        for args in rows:  # a row each, as the server sees them, in order
            await self.execute(sql, *args)

    async def fetch(self, sql: str, *args: Any) -> list[dict[str, str]]:
        assert "FROM notifications" in sql
        return [{"channel": name} for name in self.alerted]

    def sql(self, start: str) -> list[tuple[Any, ...]]:
        return [args for sql, args in self.executed if sql.startswith(start)]


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The type of each event alert_rules.deliveries was asked about."""
    calls: list[str] = []
    real = alert_rules.deliveries

    def deliveries(state: board.State, event: e.Event, alerted: frozenset[str] = frozenset(),
                   ) -> list[alert_rules.Delivery]:
        calls.append(e.type_of(event))
        return real(state, event, alerted)

    monkeypatch.setattr(alert_rules, "deliveries", deliveries)
    return calls


ESCALATING = Channel(name="sro", url="json://x", escalate_after_s=60, escalate_to=["office"])
OFFICE = Channel(name="office", url="json://y")


async def test_a_press_works_out_its_sends_once_and_writes_them_with_its_timer(
        counted: list[str]) -> None:
    before = state_with([ESCALATING, OFFICE])
    batch = Batch({"test-high": before}, set())
    batch.step(4, e.encode(press()))
    [effect] = batch.effects
    assert effect.before is before and [d.channel for d in effect.sends] == ["sro", "office"]
    conn = Conn()
    await write_effects(conn, effect)  # type: ignore[arg-type]
    assert counted == ["AlertRaised"]
    assert [(a[1], a[4]) for a in conn.sql("INSERT INTO notifications")] == [
        ("sro", 4), ("office", 4)]
    [timer] = conn.sql("INSERT INTO escalations")  # only sro escalates, a minute after the press
    assert timer[1] == "sro" and (timer[4] - press().occurred_at).total_seconds() == 60


async def test_a_false_alarm_goes_to_whoever_heard_the_alerts_and_stops_the_timers(
        counted: list[str]) -> None:
    before = state_with([ESCALATING, OFFICE])
    cancel = env(e.IncidentCancelled, e.IncidentCancelledData(reason="pressed by mistake"))
    batch = Batch({"test-high": before}, set())
    batch.step(5, e.encode(cancel))
    [effect] = batch.effects
    assert effect.sends == [] and counted == []  # who heard it is in the outbox, not the board
    conn = Conn(alerted=("office",))
    await write_effects(conn, effect)  # type: ignore[arg-type]
    assert counted == ["IncidentCancelled"]
    assert [a[1] for a in conn.sql("INSERT INTO notifications")] == ["office"]
    assert conn.sql("UPDATE escalations") == [("inc-1",)]


async def test_an_acknowledgement_that_sends_nothing_still_stops_the_timers(
        counted: list[str]) -> None:
    ack = env(e.ResponderAcknowledged, e.ResponderAcknowledgedData(responder="Officer Lee"))
    batch = Batch({"test-high": state_with([ESCALATING])}, set())
    batch.step(6, e.encode(ack))
    [effect] = batch.effects
    conn = Conn()
    await write_effects(conn, effect)  # type: ignore[arg-type]
    assert counted == ["ResponderAcknowledged"]
    assert conn.sql("INSERT") == [] and conn.sql("UPDATE escalations") == [("inc-1",)]


def test_an_event_that_cannot_be_read_stops_its_site_alone() -> None:
    """The site waits at the fault and its later events are passed by (never a gap); another
    site's events are folded and owe their sends."""
    other = msgspec.structs.replace(press(), site="other-high")
    states = {"test-high": state_with([ESCALATING]), "other-high": board.evolve(
        board.empty("other-high"), 1, msgspec.structs.replace(
            env(e.SiteConfigured, state_with([OFFICE]).config, incident=None),
            site="other-high"))}
    batch = Batch(states, set())
    batch.step(7, b'{"type": "AlertRaised", "site": "test-high"}')
    batch.step(8, e.encode(press()))
    batch.step(9, e.encode(other))
    assert batch.new["test-high"].seq == 7 and set(batch.new) == {"test-high"}
    assert batch.states["test-high"] is states["test-high"]
    assert [(x.seq, x.event.site) for x in batch.effects] == [(9, "other-high")]
    assert batch.states["other-high"].seq == 9


def test_a_site_stopped_before_the_pass_stays_stopped() -> None:
    states = {"test-high": state_with([ESCALATING])}
    batch = Batch(states, {"test-high"})
    batch.step(8, e.encode(press()))
    assert batch.effects == [] and batch.new == {} and batch.states == states
