"""Replaying the same incident twice gives identical boards at identical offsets (issue 20).

A generated incident (a press or a drill, then room reports, head counts, acknowledgements,
notes, the notifier's send records, injects, all clear and close, at random gaps) is written by
the real `decide`. Each run is what `consumers.replay.replay` appends: `schedule` (the order,
the cut and the waits) then `rewrite` of each event, stamped with that run's wall clock. The
two runs differ in everything a run may differ in: run id, wall clock, speed, where they jump
in (`--from-minute`, `--from-inject`) and the stream sequences they land on (other sites write
between them). Each run is folded with the board's own fold and rendered after every event.

What is normalised before comparing, and why (nothing else is):
- `seq`: the stream sequence the board is current to; each run lands at its own place in the
  stream, so it is replaced by the event's offset in the run;
- the replayed incident id `replay-{run}-{incident}` (in `incident.id`, `other_incidents`,
  `other_cases`): it names the run on purpose, so two runs never share an incident;
- replayed event ids (`uuid5(original id, run)`, in `notifications[].event_id`): they name the
  run on purpose, so a run resumed writes nothing twice; each is mapped back to its original.
Wall times never need normalising: a replayed event keeps its original `occurred_at`. The drill
log's row and the after-action report of each run are also the original's, less the incident
id, site, mode and the report's title, which say it is a replay.
"""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from msgspec.structs import replace

from command.domain import board, board_render, drill_log, report
from command.domain import commands as c
from command.domain import events as e
from command.domain.errors import MusterError
from consumers.replay import (
    Recording,
    replay_incident,
    replay_site,
    replayed_id,
    rewrite,
    schedule,
)
from tests.command.domain.test_site_state import (
    COMMANDER,
    DEVICE,
    DRILL,
    LIVE,
    SITE_ID,
    STAFF,
    T0,
    configured,
    ctx,
    then,
)
from tests.command.domain.test_site_state import (
    given as site_given,
)
from tests.conftest import small_site

SYSTEM = e.Actor(kind="system", id="notifier")
RESPONDER = e.Actor(kind="user", id="unit-7", role="responder")
ROOMS = [r.id for r in small_site(SITE_ID).rooms]
PEOPLE = [p.id for p in small_site(SITE_ID).people]
STEP = st.one_of(
    st.tuples(st.just("room"), st.sampled_from(ROOMS),
              st.sampled_from(["secured", "clear", "needs_help", "evacuated", "unreachable"]),
              st.integers(0, 4)),
    st.tuples(st.just("account"), st.sampled_from(PEOPLE),
              st.sampled_from(["accounted", "missing", "injured", "absent"])),
    st.tuples(st.just("ack"), st.sampled_from(["Unit 7", "Engine 3"])),
    st.tuples(st.just("note"), st.text(st.characters(codec="utf-8", categories=["L", "N"]),
                                       min_size=1, max_size=20)),
    st.tuples(st.just("sent"), st.booleans()),
    st.tuples(st.just("inject"), st.text("abc ", min_size=1, max_size=10)),
)


def command_of(kind: str, args: list[Any]) -> tuple[c.Command, e.Actor]:
    if kind == "room":
        return c.ReportRoomStatus(status=args[1], present=args[2]), STAFF
    if kind == "account":
        return c.AccountPersons(entries=[e.AccountingEntry(person_id=args[0],
                                                           status=args[1])]), COMMANDER
    if kind == "ack":
        return c.Acknowledge(responder=args[0]), RESPONDER
    return c.AddNote(text=args[0]), COMMANDER


@st.composite
def incidents(draw: st.DrawFn) -> Recording:
    """A site file, then one incident's events as the stream holds them, with sequences."""
    drill = draw(st.booleans())
    incident = DRILL if drill else LIVE
    site = configured()
    state = site_given(site)
    cmd = c.StartDrill(scenario="lockdown") if drill else c.RaiseAlert(kind="lockdown",
                                                                        room="B-112")
    state, written = then(state, cmd, ctx(COMMANDER if drill else DEVICE, 0, new=incident))
    alert = written[-1].id
    at, injects = 0.0, 0
    for step in draw(st.lists(st.tuples(st.floats(0, 400), STEP), max_size=14)):
        gap, (kind, *args) = step
        at += gap
        when = T0 + timedelta(seconds=at)
        if kind in ("sent", "inject"):  # written by the notifier and the facilitator's player
            data: Any = (e.NotificationSentData(channel="sro", event_id=alert) if args[0]
                         else e.NotificationFailedData(channel="sro", event_id=alert, attempt=1,
                                                       error="503"))
            cls: Any = e.NotificationSent if args[0] else e.NotificationFailed
            if kind == "inject":
                data, cls = e.InjectDeliveredData(index=injects, text=args[0]), e.InjectDelivered
                injects += 1
            written.append(cls(id=f"rec-{len(written)}", site=SITE_ID, incident_id=incident,
                               mode="drill" if drill else "live", occurred_at=when,
                               recorded_at=when, actor=SYSTEM, data=data))
            continue
        command, actor = command_of(kind, args)
        try:
            state, more = then(state, command, ctx(actor, at, incident,
                                                   args[0] if kind == "room" else None))
        except MusterError:
            continue  # refused by intake: never written
        written += more
    if draw(st.booleans()):
        state, more = then(state, c.AllClear(), ctx(COMMANDER, at + 60, incident))
        written += more
        state, more = then(state, c.Close(), ctx(COMMANDER, at + 90, incident))
        written += more
    return Recording(site, list(enumerate(written, start=2)))


@st.composite
def runs(draw: st.DrawFn, recording: Recording) -> dict[str, Any]:
    """One run's choices: its id, wall clock, speed, jump and where it lands in the stream."""
    events = [ev for _, ev in recording.events]
    lasted = (max(ev.occurred_at for ev in events) - events[0].occurred_at).total_seconds()
    injects = sum(isinstance(ev, e.InjectDelivered) for ev in events)
    jump = draw(st.sampled_from(["none", "minute"] + (["inject"] if injects else [])))
    return {
        "run": draw(st.text("0123456789abcdef", min_size=8, max_size=8)),
        "wall": draw(st.datetimes(datetime(2026, 1, 1), datetime(2030, 1, 1),
                                  timezones=st.just(UTC))),
        "speed": draw(st.floats(0.5, 1000)),
        "from_minute": draw(st.floats(0, lasted / 60)) if jump == "minute" else None,
        "from_inject": draw(st.integers(1, injects)) if jump == "inject" else None,
        "seqs": draw(st.lists(st.integers(1, 50), min_size=len(events) + 1,
                              max_size=len(events) + 1)),
    }


def replayed(recording: Recording, choice: dict[str, Any]) -> list[tuple[int, e.Event]]:
    """The run as `replay` appends it: `schedule`, then `rewrite` at the run's wall clock."""
    incident = recording.events[0][1].incident_id or ""
    site, run = replay_site(incident), choice["run"]
    wall, seq, out = choice["wall"], 10_000, []
    planned = schedule(recording, choice["speed"], choice["from_minute"], choice["from_inject"])
    for (pause, event), step in zip(planned, choice["seqs"], strict=True):
        wall += timedelta(seconds=pause + 0.003)
        seq += step  # other sites' events land between a run's
        out.append((seq, rewrite(event, site, replay_incident(incident, run), run, wall)))
    return out


def normalised(rendered: dict[str, Any], offset: int, names: dict[str, str]) -> dict[str, Any]:
    """The board with its run-dependent ids named alike (see the module's docstring)."""
    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return names.get(value, value) if isinstance(value, str) else value

    return {**walk(json.loads(json.dumps(rendered, default=str))), "seq": offset}


def names_of(recording: Recording, run: str) -> dict[str, str]:
    incident = recording.events[0][1].incident_id or ""
    originals = [recording.config, *(ev for _, ev in recording.events)]
    return {replay_incident(incident, run): "replay-RUN-" + incident,
            **{replayed_id(ev.id, run): "EVENT-" + ev.id for ev in originals if ev}}


def boards(recording: Recording, choice: dict[str, Any],
           start: board.State | None = None) -> list[dict[str, Any]]:
    """The run folded by the board's fold, rendered after every event, normalised."""
    copies = replayed(recording, choice)
    state = start or board.empty(copies[0][1].site, "replay")
    base, names, out = state.seq, names_of(recording, choice["run"]), []
    for offset, (seq, event) in enumerate(copies):
        state = board.evolve(state, base + seq, e.decode(e.encode(event)))
        out.append(normalised(board_render.render(state), offset, names))
    return out


def record(events: list[tuple[int, Any]]) -> dict[str, Any]:
    """The incident's drill-log row, less what names the copy: its id, site and mode."""
    doc = msgspec.to_builtins(drill_log.row(events, None))
    return {k: v for k, v in doc.items() if k not in ("incident_id", "site", "mode")}


def debrief(events: list[tuple[int, Any]], names: dict[str, str]) -> dict[str, Any]:
    """The report, less its incident id, site, mode, title and row (compared by `record`)."""
    doc = normalised(msgspec.to_builtins(report.build(events, None)), 0, names)
    return {k: v for k, v in doc.items()
            if k not in ("incident_id", "site", "mode", "title", "record")}


@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.data())
def test_two_replays_of_one_incident_show_identical_boards_at_identical_offsets(
        data: st.DataObject) -> None:
    recording = data.draw(incidents())
    first, second = data.draw(runs(recording)), data.draw(runs(recording))
    if first["run"] == second["run"]:
        second = {**second, "run": first["run"][::-1] + "x"}
    a, b = boards(recording, first), boards(recording, second)
    assert len(a) == len(b) == len(recording.events) + 1
    for offset, (x, y) in enumerate(zip(a, b, strict=True)):
        assert x == y, f"the boards differ at offset {offset}"
    # The board shows the original's clock, whatever the run's wall clock was
    last = max(ev.occurred_at for _, ev in recording.events)
    assert a[-1]["clock"]["at"] == last.isoformat().replace("+00:00", "Z")
    # The drill log's row of each run is the original's: milestones, times, counts
    original = record([(1, recording.config), *recording.events])
    assert record(replayed(recording, first)) == original == record(replayed(recording, second))
    # And so is its after-action report, but for what names the copy (its title says replay)
    assert debrief(replayed(recording, second), names_of(recording, second["run"])) == debrief(
        [(1, recording.config), *recording.events], {})
    # A second run onto the same replay board, after a first that ended, shows the same too
    ended = any(isinstance(ev, e.IncidentClosed) for _, ev in recording.events)
    if ended:
        after_first = board.empty(replay_site(recording.events[0][1].incident_id or ""),
                                  "replay")
        for seq, event in replayed(recording, first):
            after_first = board.evolve(after_first, seq, event)
        assert boards(recording, second, after_first) == b


def test_the_property_is_not_vacuous_a_replay_on_the_wall_clock_would_differ() -> None:
    """Were a replay to stamp its wall time as occurred_at (as it once did), two runs would
    show different boards: the comparison above can fail."""
    site = configured()
    state, written = then(site_given(site), c.RaiseAlert(kind="lockdown", room="B-112"), ctx())
    state, more = then(state, c.ReportRoomStatus(status="secured", present=3),
                       ctx(STAFF, 30, LIVE, "A-101"))
    recording = Recording(site, list(enumerate([*written, *more], start=2)))
    choice = {"run": "aaaaaaaa", "wall": datetime(2026, 1, 1, tzinfo=UTC), "speed": 10.0,
              "from_minute": None, "from_inject": None, "seqs": [1] * 5}
    other = {**choice, "run": "bbbbbbbb", "wall": datetime(2027, 1, 1, tzinfo=UTC)}
    assert boards(recording, choice) == boards(recording, other)
    stamped = [(seq, replace(ev, occurred_at=ev.recorded_at))
               for seq, ev in replayed(recording, other)]
    state_a, state_b = board.empty("replay-inc-live", "replay"), board.empty("x", "replay")
    for (seq, ev), (seq_b, ev_b) in zip(replayed(recording, choice), stamped, strict=True):
        state_a, state_b = board.evolve(state_a, seq, ev), board.evolve(state_b, seq_b, ev_b)
    assert board_render.render(state_a)["protocol"] != board_render.render(state_b)["protocol"]
