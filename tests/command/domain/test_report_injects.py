"""A tabletop's debrief, inject by inject: given a scripted tabletop (its participants' events
written by the real `decide`, injects as the facilitator's player delivers them), what the team
did after each inject and how long the first response took."""

from datetime import timedelta
from typing import Any

from msgspec.structs import replace

from command.domain import commands as c
from command.domain import events as e
from command.domain import report, report_render
from command.domain.redact import event_view
from tests.command.domain.test_site_state import (
    COMMANDER,
    DRILL,
    STAFF,
    T0,
    configured,
    ctx,
    given,
    run,
)

RESPONDER = e.Actor(kind="user", id="officer-k", role="responder")
FACILITATOR = e.Actor(kind="user", id="facilitator", role="commander")


def on(actor: e.Actor, seconds: float, room: str | None = None) -> Any:
    return ctx(actor, at=seconds, incident=DRILL, room=room)


def inject(index: int, seconds: float, text: str, clock: str = "", source: str = "",
           expect: str | None = None) -> e.InjectDelivered:
    when = T0 + timedelta(seconds=seconds)
    return e.InjectDelivered(id=f"inject-{index}", site="test-high", incident_id=DRILL,
                             mode="tabletop", occurred_at=when, recorded_at=when,
                             actor=FACILITATOR, data=e.InjectDeliveredData(
                                 index=index, text=text, at_s=seconds, clock=clock,
                                 source=source, expect=expect))


def tabletop(view: report.View | None = None) -> report.Report:
    """Opened at 0; inject 1 at 10 s, two actions; inject 2 at 100 s, nothing; inject 3 at 200 s,
    an ack and the all clear. The participants' events are a drill's, run as a tabletop."""
    cfg = configured()
    acted = run(given(cfg), (c.StartDrill(scenario="armed_intruder"), ctx(COMMANDER, new=DRILL)),
                (c.ReportRoomStatus(status="secured", present=3), on(STAFF, 40, "B-112")),
                (c.AddNote(text="door <b>propped</b>"), on(STAFF, 50)),
                (c.Acknowledge(responder="Unit 12"), on(RESPONDER, 230)),
                (c.OpenReunification(reason="parents at the gate"), on(COMMANDER, 235)),
                (c.CheckIn(person_id="s-1", area="Gym"), on(STAFF, 240)),
                (c.CheckGuardian(guardian="Anne Byron", id_verified=True, students=["s-1"]),
                 on(STAFF, 245)),
                (c.Release(person_id="s-1", guardian="Anne Byron", student_consents=True),
                 on(STAFF, 250)),
                (c.AllClear(), on(COMMANDER, 300)))[1]
    played = [replace(ev, mode="tabletop") for ev in acted]
    played += [inject(0, 10, "A parent calls about a man with a gun in the parking lot",
                      "10:02", "a parent on the phone", "Declare a lockdown at once"),
               inject(1, 100, "Dispatch: two units en route", "10:05", "dispatch"),
               inject(2, 200, "Units on scene")]
    ordered = sorted(played, key=lambda ev: ev.occurred_at)
    return report.build(list(enumerate([cfg, *ordered], start=1)), None, view=view)


def test_each_inject_lists_what_the_team_did_until_the_next() -> None:
    steps = tabletop().injects
    assert [(s.index, s.offset_s, s.until_s, s.first_response_s) for s in steps] == [
        (0, 10.0, 100.0, 30.0), (1, 100.0, 200.0, None), (2, 200.0, None, 30.0)]
    assert [(a.offset_s, a.type, a.actor) for a in steps[0].actions] == [
        (40.0, "RoomStatusReported", "user:ms-frizzle (staff)"),
        (50.0, "NoteAdded", "user:ms-frizzle (staff)")]
    assert [a.type for a in steps[2].actions] == [
        "ResponderAcknowledged", "ReunificationOpened", "StudentCheckedIn", "GuardianCheckedIn",
        "StudentReleased", "ProtocolLifted"]
    assert (steps[0].clock, steps[0].source) == ("10:02", "a parent on the phone")
    assert [s.expect for s in steps] == ["Declare a lockdown at once", None, None]
    assert tabletop().title == "TABLETOP — After-action report: armed_intruder at Test High"


def test_an_incident_without_injects_has_no_inject_section() -> None:
    cfg = configured()
    events = [cfg, *run(given(cfg), (c.StartDrill(scenario="fire"), ctx(COMMANDER, new=DRILL)),
                        (c.AllClear(), on(COMMANDER, 60)))[1]]
    r = report.build(list(enumerate(events, start=1)), None)
    assert r.injects == []
    assert "Injects" not in report_render.to_markdown(r)
    assert "Injects" not in report_render.to_html(r)


def test_the_debrief_shows_each_inject_and_its_actions_as_the_reader_may_see_them() -> None:
    commander = tabletop(view=lambda d: event_view(d, "commander"))
    responder = tabletop(view=lambda d: event_view(d, "responder"))
    assert "s-1 released to Anne Byron" in [a.text for a in commander.injects[2].actions]
    assert "s-1 released to a checked guardian" in [a.text for a in responder.injects[2].actions]
    md = report_render.to_markdown(commander)
    assert ("### Inject 1 at +0:10 (10:02, a parent on the phone)\n\n> A parent calls about a "
            "man with a gun in the parking lot\n\n- **Expected:** Declare a lockdown at once\n"
            "- **First response:** 30 s after the inject"
            in md)
    assert "| +0:30 | user:ms-frizzle (staff) | room B-112: secured, 3 present |" in md
    assert "- **First response:** none before the next inject\n\nNo action was taken." in md
    page = report_render.to_html(responder)
    assert page.count('<section class="inject">') == 3
    assert "<dt>Expected</dt><dd>Declare a lockdown at once</dd>" in page
    assert "door &lt;b&gt;propped&lt;/b&gt;" in page and "Anne Byron" not in page
    assert "inject 2 (10:05), dispatch: Dispatch: two units en route" in [
        x.text for x in commander.timeline]
