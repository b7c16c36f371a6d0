"""Properties over random command sequences from several actors, run through the pure core.

Each sequence goes decide → seal → evolve exactly as intake runs it (a `MusterError` is a
rejected command that writes nothing); the events written then feed the board. Whatever the
order, no release breaks a custody rule, no press quietly lowers a lockdown, drill and live never
mix, the board's counts add up, and a fold from scratch equals the incremental board.
"""

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from msgspec.structs import replace

from command.domain import board, board_render
from command.domain import commands as c
from command.domain import events as e
from command.domain.decide import decide, seal
from command.domain.errors import MusterError
from command.domain.policy import DEFAULT_POLICY, SEVERITY, SRP_ACTIONS
from command.domain.site_state import Ctx, SiteState, evolve
from tests.command.domain.test_site_state import (
    COMMANDER,
    DEVICE,
    OTHER_DEVICE,
    SITE_ID,
    STAFF,
    T0,
    site,
)

ROSTER = 8
ADMIN = e.Actor(kind="user", id="admin", role="admin")
SITE = site()
# The same school after a custody order against Anne Byron reached the office mid-incident.
ORDERED = site(people=[replace(p, guardians=[], restricted=["Anne Byron", "Lord Byron"])
                       if p.id == "s-1" else p for p in SITE.people])

KINDS = st.sampled_from([*SRP_ACTIONS, *DEFAULT_POLICY])
ROOMS = st.sampled_from(["A-101", "A-102", "B-112", "GYM", "Z-9"])
ANYONE = st.sampled_from(["s-1", "s-2", "s-3", "s-5", "t-1", "ghost"])
STUDENT = st.sampled_from(["s-1", "s-2", "s-3"])
GUARDIAN = st.sampled_from(["Anne Byron", "Lord Byron", "Sara Turing", "Mary Murray", "Stranger"])
TARGET = st.sampled_from(["live"] * 6 + ["drill", "ended"])
PRESSERS = st.sampled_from([DEVICE, OTHER_DEVICE, STAFF, COMMANDER])
WORKERS = st.sampled_from([STAFF, COMMANDER])

# Who acts, on which incident ("live", "drill", the last "ended" one) and room, doing what.
Op = tuple[e.Actor, str | None, str | None, c.Command]


def op(actors: st.SearchStrategy[e.Actor], target: st.SearchStrategy[Any],
       command: st.SearchStrategy[c.Command],
       room: st.SearchStrategy[Any] | None = None) -> st.SearchStrategy[Op]:
    return st.tuples(actors, target, st.none() if room is None else room, command)


PRESS = op(PRESSERS, st.none(), st.builds(c.RaiseAlert, kind=KINDS, room=ROOMS,
                                          drill=st.booleans()))
CHECKIN = op(WORKERS, TARGET, st.builds(c.CheckIn, person_id=st.sampled_from(["s-1", "s-2"])
                                        | ANYONE))
# Pairs that a check can approve, and some it must not, so releases really happen in a run.
FAMILY = st.sampled_from([("s-1", "Anne Byron"), ("s-2", "Sara Turing"), ("s-1", "Lord Byron")])
GUARDIAN_CHECK = op(WORKERS, TARGET, st.one_of(
    FAMILY.map(lambda f: c.CheckGuardian(guardian=f[1], id_verified=True, students=[f[0]])),
    st.builds(c.CheckGuardian, guardian=GUARDIAN, id_verified=st.booleans(),
              students=st.lists(STUDENT, min_size=1, max_size=2))))
RELEASE = op(WORKERS, TARGET, st.one_of(
    st.tuples(FAMILY, st.booleans() | st.just(True)).map(lambda f: c.Release(
        person_id=f[0][0], guardian=f[0][1], student_consents=f[1])),
    st.builds(c.Release, person_id=STUDENT, guardian=GUARDIAN, student_consents=st.booleans())))


def reunify(actor: e.Actor, family: tuple[str, str], verified: bool, consents: bool,
            steps: list[str]) -> list[Op]:
    """A reunifier working through one card: check-in, guardian check, release, in the order
    given, perhaps with a custody order imported by the office in between."""
    pid, name = family
    command: dict[str, c.Command] = {
        "in": c.CheckIn(person_id=pid),
        "check": c.CheckGuardian(guardian=name, id_verified=verified, students=[pid]),
        "out": c.Release(person_id=pid, guardian=name, student_consents=consents),
        "order": c.ConfigureSite(site=ORDERED),
    }
    return [(ADMIN if step == "order" else actor, None if step == "order" else "live", None,
             command[step]) for step in steps]


STEPS = (st.just(["in", "check", "out"]) | st.permutations(["in", "check", "out"])
         | st.permutations(["in", "check", "order", "out"]) | st.just(["check", "out", "out"]))


# Repeats, and whole reunifications, weight the draw to where the dangerous rules live.
SINGLE = st.one_of(
    PRESS, PRESS, CHECKIN, GUARDIAN_CHECK, RELEASE, RELEASE,
    op(st.just(COMMANDER), st.none(), st.builds(c.StartDrill, scenario=KINDS)),
    op(st.just(COMMANDER), TARGET, st.builds(
        c.DeclareProtocol, action=st.sampled_from(SRP_ACTIONS),
        evacuate_to=st.sampled_from([None, "Field"]), hazard=st.sampled_from([None, "tornado"]))),
    op(WORKERS, TARGET, st.builds(
        c.ReportRoomStatus, status=st.sampled_from(["secured", "clear", "needs_help"]),
        present=st.none() | st.integers(0, 5), missing=st.lists(ANYONE, max_size=2),
        injured=st.lists(ANYONE, max_size=1), extra=st.lists(ANYONE, max_size=2)), ROOMS),
    op(WORKERS, TARGET, st.builds(c.AccountPersons, entries=st.lists(st.builds(
        e.AccountingEntry, person_id=ANYONE,
        status=st.sampled_from(["accounted", "missing", "injured", "absent", "reunified"]),
        location=st.sampled_from([None, "GYM", "Field"])), min_size=1, max_size=3))),
    op(st.just(COMMANDER), TARGET, st.just(c.AllClear())),
    op(PRESSERS, TARGET, st.just(c.Cancel(reason="false alarm"))),
    op(st.just(COMMANDER), TARGET, st.just(c.Close())),
    op(st.just(COMMANDER), TARGET, st.just(c.Acknowledge(responder="Unit 12"))),
    op(st.just(ADMIN), st.none(), st.just(c.ConfigureSite(site=ORDERED))),
)
REUNIFY = st.builds(reunify, WORKERS, FAMILY, st.booleans() | st.just(True),
                    st.booleans() | st.just(True), STEPS)
OPS = st.one_of(SINGLE.map(lambda one: [one]), REUNIFY)
GAPS = st.sampled_from([0.0, 1.0, 4.0, 9.0, 30.0])
# Every script opens with a live press, so the commands after it mostly meet an open incident;
# each op comes with the seconds since the one before, so cancels fall on both window sides.
OPENING = op(PRESSERS, st.none(), st.builds(c.RaiseAlert, kind=KINDS,
                                            room=st.sampled_from(["GYM", "B-112"])))
SCRIPTS = st.tuples(OPENING, st.lists(st.tuples(OPS, GAPS), min_size=6, max_size=25)).map(
    lambda s: [(s[0], 0.0), *((one, gap if i == 0 else 0.0)
                              for ops, gap in s[1] for i, one in enumerate(ops))])
BOUNDED = settings(max_examples=200, deadline=None, database=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@dataclass
class Turn:
    """One command: the decision state before it, and what it wrote or why it was refused."""

    before: SiteState
    cmd: c.Command
    events: list[e.Envelope] = field(default_factory=list)
    error: MusterError | None = None


@dataclass
class Played:
    turns: list[Turn]
    events: list[e.Envelope]  # the whole stream, the site file first, in sequence order
    boards: list[board.State]  # the incremental board after each turn


def play(script: list[tuple[Op, float]]) -> Played:
    """Run the script as intake would, keeping a live board beside it."""
    configured = e.SiteConfigured(id="ev-0", site=SITE_ID, occurred_at=T0, recorded_at=T0,
                                  data=SITE)
    state = evolve(SiteState(), configured)
    live = board.evolve(board.empty(SITE_ID), 1, configured)
    played = Played(turns=[], events=[configured], boards=[])
    ended: str | None = None
    now = T0
    for n, ((actor, target, room, cmd), gap) in enumerate(script):
        now += timedelta(seconds=gap)
        incident = ended
        if target in state.open:
            incident = state.open[target].id
        ctx = Ctx(site=SITE_ID, actor=actor, now=now, room=room,
                  incident_id=incident if target else None, new_incident_id=f"inc-{n}",
                  commander=actor.role == "commander")
        turn = Turn(before=state, cmd=cmd)
        played.turns.append(turn)
        try:
            drafts = decide(state, cmd, ctx)
        except MusterError as err:
            turn.error = err
        else:
            turn.events = seal(drafts, ctx, [f"ev-{n}-{i}" for i in range(len(drafts))])
        for event in turn.events:
            state = evolve(state, event)  # type: ignore[arg-type]
            played.events.append(event)
            live = board.evolve(live, len(played.events), event)  # type: ignore[arg-type]
            if isinstance(event, e.IncidentCancelled | e.IncidentClosed):
                ended = event.incident_id
        played.boards.append(live)
    return played


def accepted(played: Played) -> list[Turn]:
    return [t for t in played.turns if t.error is None]


@BOUNDED
@given(SCRIPTS)
def test_every_refusal_is_a_client_error(script: list) -> None:
    """Anything else (a KeyError, a 500) escapes `play` or fails here."""
    for turn in play(script).turns:
        if turn.error is not None:
            assert turn.error.code in ("invalid", "not_found", "conflict"), turn.error.message


@BOUNDED
@given(SCRIPTS)
def test_release_only_after_checkin_to_an_allowed_guardian_once(script: list) -> None:
    played = play(script)
    site_now = SITE
    checked_in: set[tuple[str | None, str]] = set()
    released: set[tuple[str | None, str]] = set()
    for ev in played.events:
        if isinstance(ev, e.SiteConfigured):
            site_now = ev.data
        elif isinstance(ev, e.StudentCheckedIn):
            checked_in.add((ev.incident_id, ev.data.person_id))
        elif isinstance(ev, e.StudentReleased):
            key = (ev.incident_id, ev.data.person_id)
            student = next(p for p in site_now.people if p.id == ev.data.person_id)
            assert ev.data.guardian not in student.restricted
            assert ev.data.guardian in student.guardians
            assert ev.data.student_consents
            assert key in checked_in and key not in released
            released.add(key)


@BOUNDED
@given(SCRIPTS)
def test_a_press_never_lowers_the_protocol_in_force(script: list) -> None:
    played = play(script)
    for i, turn in enumerate(played.turns):
        if not isinstance(turn.cmd, c.RaiseAlert) or not turn.events:
            continue
        inc = turn.before.open.get("drill" if turn.cmd.drill else "live")
        if inc is None or inc.action is None:
            continue
        for ev in turn.events:
            if isinstance(ev, e.ProtocolDeclared):
                assert SEVERITY[ev.data.action] > SEVERITY[inc.action]
        if inc.action == "lockdown":
            assert [type(ev) for ev in turn.events] == [e.AlertRaised]
        # What responders see never drops either: the board's protocol is as grave as before.
        if i > 0 and (shown := board.current(played.boards[i - 1])) is not None:
            before = shown.protocol
            after = board.current(played.boards[i])
            if before is not None and after is not None and after.incident.id == inc.id:
                assert after.protocol is not None
                assert SEVERITY[after.protocol.action] >= SEVERITY[before.action]


@BOUNDED
@given(SCRIPTS)
def test_drill_and_live_never_mix_and_ended_incidents_stay_ended(script: list) -> None:
    played = play(script)
    mode_of: dict[str, str] = {}
    ended: set[str] = set()
    for turn in accepted(played):
        ids = {ev.incident_id for ev in turn.events if ev.incident_id}
        assert not ids & ended, "a command wrote to an ended incident"
        for ev in turn.events:
            if isinstance(ev, e.IncidentOpened):
                assert ev.incident_id not in mode_of
                mode_of[ev.incident_id or ""] = ev.mode
            if ev.incident_id:
                assert ev.mode == mode_of[ev.incident_id]
            if isinstance(ev, e.IncidentCancelled | e.IncidentClosed):
                ended.add(ev.incident_id or "")
        if isinstance(turn.cmd, c.StartDrill) or getattr(turn.cmd, "drill", False):
            assert "live" not in turn.before.open or not any(
                isinstance(ev, e.IncidentOpened) for ev in turn.events)


@BOUNDED
@given(SCRIPTS)
def test_board_counts_always_sum_to_the_roster(script: list) -> None:
    for state in play(script).boards:
        rendered = board_render.render(state)
        counts = rendered["accountability"]
        assert counts["total"] == ROSTER
        assert sum(v for k, v in counts.items() if k != "total") == ROSTER
        for row in rendered["rooms"]:
            per_room = row["accountability"]
            assert per_room["total"] == sum(v for k, v in per_room.items() if k != "total")
        assert sum(r["accountability"]["total"] for r in rendered["rooms"]) <= ROSTER


@BOUNDED
@given(SCRIPTS)
def test_fold_from_scratch_equals_the_incremental_board(script: list) -> None:
    played = play(script)
    numbered = list(enumerate(played.events, start=1))
    scratch = board.fold(SITE_ID, numbered)  # type: ignore[arg-type]
    live = played.boards[-1]
    assert board_render.render(scratch) == board_render.render(live)
    assert scratch == live
    # Redelivering every event again (at-least-once delivery) changes nothing.
    again = live
    for seq, event in numbered:
        again = board.evolve(again, seq, event)  # type: ignore[arg-type]
    assert again is live
