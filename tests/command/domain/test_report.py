"""The after-action report: scripted incidents (written by the real `decide`) folded into
milestones, counts and a timeline, then rendered."""

from datetime import timedelta
from typing import Any

import msgspec

from command.domain import board, board_render, report, report_render
from command.domain import commands as c
from command.domain import events as e
from command.domain.redact import event_view
from tests.command.domain.test_site_state import (
    COMMANDER,
    DEVICE,
    DRILL,
    LIVE,
    STAFF,
    T0,
    configured,
    ctx,
    given,
    press,
    run,
    site,
)

RESPONDER = e.Actor(kind="user", id="officer-k", role="responder")
SCRIPT = "<script>alert('x')</script>"


def at(seconds: float, actor: e.Actor = STAFF, room: str | None = None) -> Any:
    return ctx(actor, at=seconds, incident=LIVE, room=room)


def secured(room: str, seconds: float, present: int) -> tuple[c.Command, Any]:
    return c.ReportRoomStatus(status="secured", present=present), at(seconds, room=room)


def release(pid: str, guardian: str, seconds: float) -> list[tuple[c.Command, Any]]:
    return [(c.CheckIn(person_id=pid, area="Gym"), at(seconds)),
            (c.CheckGuardian(guardian=guardian, id_verified=True, students=[pid]),
             at(seconds + 5)),
            (c.Release(person_id=pid, guardian=guardian, student_consents=True),
             at(seconds + 10))]


def build(*steps: tuple[c.Command, Any], view: report.View | None = None,
          opened: bool = True) -> report.Report:
    """The site file first, then every event the commands write, with stream sequences."""
    cfg = configured()
    head = [(press("lockdown"), ctx())] if opened else []
    events = [cfg, *run(given(cfg), *head, *steps)[1]]
    return report.build(list(enumerate(events, start=1)), None, view=view)


def full() -> report.Report:
    """A lockdown from press to close: every milestone reached at a known second."""
    return build(
        (c.TransferCommand(commander="Sgt. Rivera", agency="City PD"), at(20, COMMANDER)),
        (c.Acknowledge(responder="Unit 12"), at(30, RESPONDER)),
        (c.Acknowledge(responder="Unit 14"), at(45, RESPONDER)),
        secured("B-112", 60, 3), secured("A-101", 75, 3), secured("A-102", 90, 2),
        secured("GYM", 100, 0), secured("A-101", 110, 3),
        (c.AddNote(text=f"door jammed {SCRIPT}"), at(120, RESPONDER)),
        (c.AllClear(), at(300, COMMANDER)),
        *release("s-1", "Anne Byron", 400), *release("s-2", "Sara Turing", 490),
        (c.Close(summary="all safe"), at(600, COMMANDER)))


def milestones(r: report.Report) -> dict[str, float | str | None]:
    return {m.key: m.offset_s if m.offset_s is not None else m.note for m in r.milestones}


def test_every_milestone_is_timed_from_the_first_event() -> None:
    r = full()
    assert milestones(r) == {"protocol": 0.0, "first_ack": 30.0, "rooms_reported": 100.0,
                             "all_accounted": 90.0, "all_clear": 300.0,
                             "last_reunified": 500.0, "end": 600.0}
    by_key = {m.key: m for m in r.milestones}
    assert by_key["rooms_reported"].at == T0 + timedelta(seconds=100)
    assert (r.status, r.false_alarm, r.mode, r.summary) == ("closed", False, "live", "all safe")
    assert r.opened_at == T0 and r.ended_at == T0 + timedelta(seconds=600)
    assert r.title == "After-action report: lockdown at Test High"
    assert [(x.commander, x.agency, x.offset_s) for x in r.commanders] == [
        ("Sgt. Rivera", "City PD", 20.0)]


def test_counts_and_the_accountability_series_come_from_the_board_fold() -> None:
    r = full()
    assert r.counts.alerts == 1
    assert r.counts.rooms == {"secured": 4}
    assert r.counts.people == {"total": 8, "accounted": 6, "missing": 0, "injured": 0,
                               "absent": 0, "reunified": 2, "unknown": 0}
    points = [(p.offset_s, p.accounted, p.unknown) for p in r.accountability]
    assert points[:4] == [(0.0, 0, 8), (60.0, 3, 5), (75.0, 6, 2), (90.0, 8, 0)]
    assert points[-1] == (500.0, 6, 0)  # two reunified students leave "accounted"
    assert "user:officer-k (responder)" in r.participants
    assert "device:button-b112 (device)" == r.opened_by


def test_unreached_milestones_say_why() -> None:
    r = build(secured("B-112", 40, 3))
    found = milestones(r)
    assert found["protocol"] == 0.0
    assert found["first_ack"] == "not reached"
    assert found["rooms_reported"] == "not reached: 3 of 4 rooms never reported"
    assert found["all_accounted"] == "not reached: 5 people still unknown at the end"
    assert found["all_clear"] == "not reached"
    assert found["last_reunified"] == "not reached: no student was released"
    assert found["end"] == "not reached: the incident is still open"
    assert r.counts.rooms == {"secured": 1, "not reported": 3}
    assert (r.status, r.ended_at) == ("open", None)


def test_a_cancelled_incident_reads_as_a_false_alarm() -> None:
    r = build((c.Cancel(reason="pressed by mistake"), ctx(DEVICE, at=6, incident=LIVE)))
    assert (r.status, r.false_alarm, r.cancel_reason) == ("cancelled", True,
                                                          "pressed by mistake")
    found = milestones(r)
    assert found["all_clear"] == "not reached: cancelled as a false alarm"
    assert found["end"] == 6.0
    assert "- **False alarm:** yes: pressed by mistake" in report_render.to_markdown(r)


def test_a_drill_is_titled_as_a_drill() -> None:
    cfg = configured()
    drill = ctx(COMMANDER, new=DRILL)
    events = [cfg, *run(given(cfg), (c.StartDrill(scenario="fire"), drill),
                        (c.AllClear(), ctx(COMMANDER, at=240, incident=DRILL)))[1]]
    r = report.build(list(enumerate(events, start=1)), site())
    assert r.mode == "drill" and r.title.startswith("DRILL — ")
    assert milestones(r)["all_clear"] == 240.0
    page = report_render.to_html(r)
    assert "<title>DRILL — After-action report: fire at Test High</title>" in page
    assert report_render.to_markdown(r).startswith("# DRILL — After-action report")


def test_html_escapes_every_text_and_draws_the_chart() -> None:
    r = full()
    page = report_render.to_html(r)
    assert SCRIPT not in page and "<script" not in page
    assert "door jammed &lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert page.count("<svg") == 1 and page.count("<circle") == len(r.timeline)
    chart = page[page.index("<svg"):page.index("</svg>")]
    for label in report.MILESTONES.values():
        assert f">{label}</text>" in chart
    assert chart.count("<path") == 2  # accounted and unknown over time
    assert "http" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_markdown_lists_milestones_and_timeline() -> None:
    md = report_render.to_markdown(full())
    assert "| Every room reported | 09:01:40 | +1:40 |" in md
    assert "| Last student reunified | 09:08:20 | +8:20 |" in md
    assert "| 09:02:00 | +2:00 | NoteAdded | user:officer-k (responder) | door jammed &lt;script" \
        in md


def notice(cls: type, at_s: float, **data: Any) -> Any:
    kinds = {e.NotificationSent: e.NotificationSentData, e.NotificationFailed:
             e.NotificationFailedData, e.NotificationEscalated: e.NotificationEscalatedData}
    when = T0 + timedelta(seconds=at_s)
    return cls(id=f"n-{at_s}", site="test-high", incident_id=LIVE, occurred_at=when,
               recorded_at=when, data=kinds[cls](event_id="ev", **data))


def test_notifications_are_counted_by_channel_even_after_the_close() -> None:
    cfg = configured()
    events = [cfg, *run(given(cfg), (press("lockdown"), ctx()),
                        (c.AllClear(), at(60, COMMANDER)), (c.Close(), at(70, COMMANDER)))[1]]
    events += [notice(e.NotificationSent, 1, channel="sro"),
               notice(e.NotificationFailed, 2, channel="sms", attempt=1, error="timeout"),
               notice(e.NotificationEscalated, 31, channel="sro", to=["district"]),
               notice(e.NotificationSent, 71, channel="sro")]  # the close's own message
    r = report.build(list(enumerate(events, start=1)), None)
    assert r.counts.notifications == {"sro": {"sent": 2, "failed": 0, "escalated": 1},
                                      "sms": {"sent": 0, "failed": 1, "escalated": 0}}
    assert "- **Channel sms:** sent 0, failed 1, escalated 0" in report_render.to_markdown(r)


def test_a_site_without_rooms_or_roster_says_so() -> None:
    bare = configured(site(rooms=[], people=[]))
    press_at_nowhere = e.IncidentOpened(
        id="open", site="test-high", incident_id=LIVE, occurred_at=T0, recorded_at=T0,
        data=e.IncidentOpenedData(kind="medical"))
    found = milestones(report.build([(1, bare), (2, press_at_nowhere)], None))
    assert found["rooms_reported"] == "not reached: no rooms in the site file"
    assert found["all_accounted"] == "not reached: no roster in the site file"


def test_json_round_trips() -> None:
    r = full()
    assert msgspec.json.decode(report_render.to_json(r), type=report.Report) == r


def test_a_responder_view_hides_guardian_names() -> None:
    early = (c.OpenReunification(reason="the fire spreads"), at(5, COMMANDER))
    commander = build(early, *release("s-1", "Anne Byron", 10),
                      view=lambda d: event_view(d, "commander"))
    responder = build(early, *release("s-1", "Anne Byron", 10),
                      view=lambda d: event_view(d, "responder"))
    assert "s-1 released to Anne Byron" in [x.text for x in commander.timeline]
    assert "Anne Byron" not in report_render.to_html(responder)
    assert "s-1 released to a checked guardian" in [x.text for x in responder.timeline]


def test_handle_with_care_never_reaches_a_report() -> None:
    cfg = configured()
    events: list[e.Envelope] = [cfg, *run(given(cfg), (press("lockdown"), ctx()))[1]]
    hwc = e.HandleWithCareIssued(id="hwc", site=cfg.site, incident_id=LIVE, occurred_at=T0,
                                 recorded_at=T0, data=e.HandleWithCareIssuedData(person_id="s-3"))
    r = report.build(list(enumerate([*events, hwc], start=1)), None)  # type: ignore[arg-type]
    assert "HandleWithCareIssued" not in [x.type for x in r.timeline]
    assert len(r.timeline) == 3


def test_events_without_an_opened_incident_are_refused() -> None:
    try:
        report.build([(1, configured())], None)
    except ValueError as exc:
        assert "no events of an incident" in str(exc)
    else:
        raise AssertionError("a report of nothing was built")


def test_a_drills_note_is_kept_on_the_board_timeline_and_report() -> None:
    """Given a drill started with a note, the note is on its opening event, the board, the
    report's facts and its timeline, for the debrief."""
    why = "unannounced: second lockdown drill of the year, lunch period"
    r = build((c.StartDrill(scenario="armed_intruder", note=why), ctx(COMMANDER)), opened=False)
    assert r.mode == "drill" and r.note == why
    assert why in r.timeline[0].text
    assert why in report_render.to_markdown(r) and why in report_render.to_html(r)
    cfg = configured()
    events = [cfg, *run(given(cfg), (c.StartDrill(scenario="fire", note=why), ctx(COMMANDER)))[1]]
    state = board.fold("test-high", list(enumerate(events, start=1)))  # type: ignore[arg-type]
    assert board_render.render(state)["incident"]["note"] == why
