"""What went wrong: scripted incidents (written by the real `decide`) and the findings the report
draws from their events, each at its offset."""

from typing import Any

from command.domain import commands as c
from command.domain import events as e
from command.domain import report, report_findings
from command.domain.site import Channel
from tests.command.domain.test_report import at, build, full, notice, secured
from tests.command.domain.test_site_state import (
    COMMANDER,
    DEVICE,
    LIVE,
    configured,
    ctx,
    given,
    press,
    run,
    site,
)


def found(r: report.Report) -> list[tuple[float | None, str, str]]:
    return [(f.offset_s, f.kind, f.text) for f in r.findings]


def test_a_clean_lockdown_has_nothing_to_teach() -> None:
    assert full().findings == []


def test_a_room_secured_and_later_needing_help_is_found_at_the_call_for_help() -> None:
    r = build(secured("B-112", 60, 3), secured("A-101", 70, 3), secured("A-102", 80, 2),
              secured("GYM", 90, 0),
              (c.ReportRoomStatus(status="needs_help", present=3), at(150, room="B-112")))
    assert (150.0, "help_after_in_place",
            "Room B-112 (Biology) reported needs help after it was secured at +1:00.") in found(r)


def test_rooms_that_never_reported_are_named_at_the_end() -> None:
    r = build(secured("B-112", 40, 3), (c.AllClear(), at(200, COMMANDER)))
    assert (200.0, "never_reported", "3 of 4 rooms never reported: A-101, A-102, GYM.") \
        in found(r)


def with_channels(escalate_after_s: float, modes: list[str]) -> e.SiteConfigured:
    return configured(site(channels=[
        Channel(name="sro", url="json://sro.example/hook", escalate_after_s=escalate_after_s,
                escalate_to=["district"], modes=modes),  # type: ignore[arg-type]
        Channel(name="district", url="json://district.example/hook")]))


def scripted(cfg: e.SiteConfigured, *steps: tuple[c.Command, Any]) -> report.Report:
    events = [cfg, *run(given(cfg), (press("lockdown"), ctx()), *steps)[1]]
    return report.build(list(enumerate(events, start=1)), None)


def test_an_acknowledgement_later_than_the_escalation_window_is_found() -> None:
    late = scripted(with_channels(30, ["live"]), (c.Acknowledge(responder="Unit 12"),
                                                  at(45, COMMANDER)))
    assert [x for x in found(late) if x[1] == "late_ack"] == [(45.0, "late_ack", (
        "The first acknowledgement (Unit 12) came 45 s after the alert, later than the 30 s "
        "escalation window (channel sro)."))]
    in_time = scripted(with_channels(60, ["live"]), (c.Acknowledge(responder="Unit 12"),
                                                     at(45, COMMANDER)))
    assert not [x for x in found(in_time) if x[1] in ("late_ack", "no_ack")]


def test_no_acknowledgement_at_all_is_found_where_the_window_closed() -> None:
    r = scripted(with_channels(30, ["live"]), (c.AddNote(text="quiet"), at(90, COMMANDER)))
    assert (30.0, "no_ack", "Nobody acknowledged the alert: the 30 s escalation window "
            "(channel sro) passed with no acknowledgement.") in found(r)
    # A channel that hears only drills sets no window for a live incident.
    quiet = scripted(with_channels(30, ["drill"]), (c.AddNote(text="quiet"), at(90, COMMANDER)))
    assert not [x for x in found(quiet) if x[1] == "no_ack"]


def test_failed_channels_are_found_with_their_error_and_never_their_url() -> None:
    cfg = configured()
    events = [cfg, *run(given(cfg), (press("lockdown"), ctx()))[1]]
    events += [notice(e.NotificationFailed, 2, channel="sms", attempt=1,
                      error="POST https://api.example/hooks/s3cr3t?token=abc: timed out"),
               notice(e.NotificationFailed, 9, channel="sms", attempt=2, error="HTTP 503 at "
                      "twilio://AC123:tok@+15551234567"),
               notice(e.NotificationFailed, 3, channel="sro", attempt=1, error="refused"),
               notice(e.NotificationSent, 8, channel="sro")]
    r = report.build(list(enumerate(events, start=1)), None)
    failures = [x for x in found(r) if x[1] == "channel_failed"]
    assert failures == [
        (2.0, "channel_failed", "Channel sms failed 2 times (HTTP 503 at <url>); nothing got "
         "through."),
        (3.0, "channel_failed", "Channel sro failed once (refused); other sends got through.")]
    assert "s3cr3t" not in str(r.findings) and "AC123" not in str(r.findings)


def test_people_accounted_only_in_the_last_minute_before_the_all_clear() -> None:
    r = build(secured("A-101", 30, 3), secured("GYM", 40, 0), secured("A-102", 250, 2),
              secured("B-112", 280, 3), (c.AllClear(), at(300, COMMANDER)))
    assert (300.0, "accounted_at_end", "5 people were accounted for only in the last minute "
            "before the end (+4:00 to +5:00).") in found(r)
    assert "never_accounted" not in [x[1] for x in found(r)]


def test_people_never_accounted_for_by_the_end() -> None:
    r = build(secured("A-101", 30, 3), secured("A-102", 40, 2), secured("GYM", 50, 0),
              (c.AllClear(), at(300, COMMANDER)), (c.Close(), at(320, COMMANDER)))
    assert (300.0, "never_accounted", "3 people were still not accounted for at the end.") \
        in found(r)
    assert "accounted_at_end" not in [x[1] for x in found(r)]


def test_a_protocol_never_lifted_is_found_at_the_last_event() -> None:
    r = build(secured("A-101", 30, 3), (c.AddNote(text="left open"), at(900, COMMANDER)))
    assert (900.0, "protocol_not_lifted", "LOCKDOWN declared at +0:00 was never lifted: still "
            "in force at the last event.") in found(r)


def test_a_false_alarm_is_judged_on_its_channels_and_protocol_only() -> None:
    r = scripted(with_channels(5, ["live"]), (c.Cancel(reason="bumped it"),
                                              ctx(DEVICE, at=8, incident=LIVE)))
    assert r.status == "cancelled" and r.findings == []


def test_findings_come_in_time_order() -> None:
    r = build(secured("B-112", 40, 3),
              (c.ReportRoomStatus(status="unreachable"), at(100, room="B-112")),
              (c.AllClear(), at(200, COMMANDER)))
    offsets = [f.offset_s for f in r.findings]
    assert offsets == sorted(offsets) and len(offsets) >= 3
    assert r.findings[0] == report_findings.Finding(
        offset_s=100.0, kind="help_after_in_place",
        text="Room B-112 (Biology) reported unreachable after it was secured at +0:40.")


def test_markdown_and_html_say_what_went_wrong_escaped() -> None:
    from command.domain import report_render

    r = build(secured("B-112", 40, 3), (c.AllClear(), at(200, COMMANDER)))
    md, page = report_render.to_markdown(r), report_render.to_html(r)
    assert "## What went wrong\n\n- **+3:20** 3 of 4 rooms never reported: A-101, A-102, GYM." \
        in md
    assert "<h2>What went wrong</h2><ul" in page and "<li><b>+3:20</b> 3 of 4 rooms" in page
    assert report_render.NOTHING_FOUND in report_render.to_markdown(full())
    assert report_render.NOTHING_FOUND in report_render.to_html(full())
