"""Given a drill's events (written by the real `decide`), when its row is folded, then the
protective-response and accounted-for milestones, the end and the findings are what the board
showed at those instants."""

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import pytest
from msgspec.structs import replace

from command.domain import commands as c
from command.domain import drill_log
from command.domain import events as e
from command.domain import school_year as sy
from command.domain.drill_log import DrillRow
from command.domain.site import Channel, Site
from command.domain.site_drills import Drills
from tests.command.domain.test_site_state import (
    COMMANDER,
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
HEADS = {"B-112": 3, "A-101": 3, "A-102": 2, "GYM": 0}  # the small site's roster per room
SECRET = "twilio://AC123:s3cret@+15550100/+15550199"


def drill(scenario: str = "lockdown") -> tuple[c.Command, Any]:
    return c.StartDrill(scenario=scenario), ctx(COMMANDER, at=0, new=DRILL)  # type: ignore[arg-type]


def report(room: str, seconds: float, status: str = "secured",
           incident: str = DRILL) -> tuple[c.Command, Any]:
    present = HEADS[room] if status in ("secured", "evacuated") else None
    return (c.ReportRoomStatus(status=status, present=present),  # type: ignore[arg-type]
            ctx(STAFF, at=seconds, incident=incident, room=room))


def by(command: c.Command, seconds: float, incident: str = DRILL,
       actor: e.Actor = COMMANDER) -> tuple[c.Command, Any]:
    return command, ctx(actor, at=seconds, incident=incident)


def events(*steps: tuple[c.Command, Any], config: Site | None = None,
           extra: list[e.Envelope] = ()) -> list[tuple[int, e.Event]]:  # type: ignore[assignment]
    """The site file, then every event the commands write, then `extra`, with sequences."""
    cfg = configured(config)
    written = run(given(cfg), *steps)[1]
    return list(enumerate([cfg, *written, *extra], start=1))  # type: ignore[list-item]


def row(*steps: tuple[c.Command, Any], **kw: Any) -> DrillRow:
    return drill_log.row(events(*steps, **kw), None)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


ALL_IN = [report("B-112", 40), report("A-101", 70), report("A-102", 95), report("GYM", 200)]


def test_protective_response_is_the_instant_the_last_room_is_in_place() -> None:
    r = row(drill(), *ALL_IN, by(c.Acknowledge(responder="Unit 12"), 50, actor=RESPONDER),
            by(c.AllClear(), 300), by(c.Close(summary="done"), 400))
    assert (r.protective_at, r.protective_s) == (at(200), 200.0)
    # Accounting is complete once every room with people has counted them: GYM holds nobody.
    assert (r.accounted_at, r.accounted_s) == (at(95), 95.0)
    assert (r.ended_at, r.ended_by, r.status) == (at(300), "all_clear", "closed")
    assert (r.mode, r.kind, r.scenario, r.action, r.category) == (
        "drill", "lockdown", "lockdown", "lockdown", "lockdown")
    assert r.first_ack_s == 50.0 and r.started_at == T0
    assert r.participants == {"student": 6, "staff": 2, "visitor": 0, "total": 8}
    assert (r.rooms_total, r.rooms_never, r.unaccounted) == (4, [], 0)
    assert r.rooms_late == ["GYM"]  # in place 200 s after the start: later than 180 s
    assert r.notes == [] and r.site == "test-high"


def test_a_room_that_reports_secured_and_later_needs_help_keeps_the_milestone() -> None:
    r = row(drill(), *ALL_IN, report("A-101", 230, "needs_help"), by(c.AllClear(), 300))
    assert r.protective_at == at(200)  # reached once: a later call for help does not undo it
    assert r.rooms_late == ["GYM"]  # A-101 was in place at 70 s, in time
    assert r.notes == ["room A-101 reported needs help after the protective action was in place"]
    assert (r.status, r.ended_by, r.ended_at) == ("open", "all_clear", at(300))


def test_a_room_that_needs_help_before_the_last_room_is_secured_makes_the_milestone_wait() -> None:
    r = row(drill(), report("B-112", 40), report("A-101", 60, "needs_help"),
            report("A-102", 95), report("GYM", 120), report("A-101", 150))
    assert r.protective_at == at(150)  # GYM was the last secured, but A-101 still needed help
    assert r.accounted_at == at(150)  # A-101's three were counted only by its second report
    assert r.rooms_late == [] and r.notes == []


def test_an_unreachable_room_is_never_in_place_and_never_late_free() -> None:
    r = row(drill(), report("B-112", 40), report("A-101", 60, "unreachable"),
            report("A-102", 95), report("GYM", 120))
    assert (r.protective_at, r.protective_s) == (None, None)
    assert r.rooms_late == ["A-101"] and r.rooms_never == []
    assert r.unaccounted == 3 and r.accounted_at is None


def test_a_drill_cancelled_halfway_ends_at_the_cancel_with_neither_milestone() -> None:
    r = row(drill("fire"), report("B-112", 40, "evacuated"), report("A-101", 55, "evacuated"),
            by(c.Cancel(reason="fire alarm panel fault"), 90))
    assert (r.status, r.ended_by, r.ended_at) == ("cancelled", "cancelled", at(90))
    assert (r.protective_at, r.accounted_at) == (None, None)
    assert r.rooms_never == ["A-102", "GYM"] and r.unaccounted == 2
    assert r.rooms_late == ["A-102", "GYM"]
    assert (r.action, r.category) == ("evacuate", "fire")
    assert r.notes == ["cancelled: fire alarm panel fault"]


def test_a_live_incident_during_a_drill_gives_two_rows_each_from_its_own_events() -> None:
    stream = events(drill("evacuate"), report("B-112", 30, "evacuated"),
                    (press("armed_intruder", room="GYM"), ctx(at=60, new=LIVE)),
                    report("A-101", 70, "secured", incident=LIVE),
                    report("A-102", 80, "secured", incident=LIVE),
                    report("B-112", 90, "secured", incident=LIVE),
                    report("GYM", 100, "secured", incident=LIVE),
                    report("A-101", 110, "evacuated"), report("A-102", 120, "evacuated"),
                    report("GYM", 130, "evacuated"),
                    by(c.Cancel(reason="live lockdown"), 140),
                    by(c.AllClear(), 900, incident=LIVE), by(c.Close(), 950, incident=LIVE))
    practice = drill_log.row(stream, None, incident_id=DRILL)
    live = drill_log.row(stream, None, incident_id=LIVE)
    assert (practice.mode, practice.category, practice.protective_at) == (
        "drill", "evacuation", at(130))
    assert practice.accounted_at == at(120)  # the drill's own accounting, not the live one's
    assert practice.notes == [f"{drill_log.INTERRUPTED} ({LIVE})", "cancelled: live lockdown"]
    assert (live.mode, live.kind, live.category, live.started_at) == (
        "live", "armed_intruder", "lockdown", at(60))
    assert (live.protective_at, live.protective_s, live.accounted_s) == (at(100), 40.0, 30.0)
    assert (live.ended_at, live.ended_by, live.status) == (at(900), "all_clear", "closed")
    assert live.notes == []


def test_the_log_notes_an_interruption_from_rows_folded_apart() -> None:
    stream = events(drill(), (press("fire", room="GYM"), ctx(at=60, new=LIVE)))
    practice = drill_log.row([x for x in stream if x[1].incident_id != LIVE], None)
    live = drill_log.row(stream, None, incident_id=LIVE)
    assert practice.notes == []
    listed = drill_log.log([live, practice], sy.parse("2024-25"))
    assert [r.incident_id for r in listed] == [DRILL, LIVE]
    assert listed[0].notes == [f"{drill_log.INTERRUPTED} ({LIVE})"] and listed[1].notes == []


def notified(kind: type, channel: str, seconds: float, **data: Any) -> e.Envelope:
    payload = {"NotificationSent": e.NotificationSentData(channel=channel, event_id="x"),
               "NotificationFailed": e.NotificationFailedData(
                   channel=channel, event_id="x", attempt=1, error="timeout"),
               "NotificationEscalated": e.NotificationEscalatedData(
                   channel=channel, to=["office"], event_id="x")}[kind.__name__]
    return kind(id=f"n-{channel}-{seconds}", site="test-high", incident_id=DRILL, mode="drill",
                occurred_at=at(seconds), recorded_at=at(seconds), data=payload)


def test_notification_methods_name_the_scheme_only_and_whether_each_worked() -> None:
    channels = [Channel(name="sro", url="json://10.0.0.9:9000/sro", modes=["drill"]),
                Channel(name="sms", url=SECRET, modes=["drill"]),
                Channel(name="office", url="mailto://office@example.org", modes=["drill"])]
    sends = [notified(e.NotificationSent, "sro", 1), notified(e.NotificationFailed, "sms", 1),
             notified(e.NotificationFailed, "sms", 5), notified(e.NotificationEscalated, "sro", 30),
             notified(e.NotificationFailed, "sro", 31), notified(e.NotificationSent, "gone", 32)]
    r = drill_log.row(events(drill(), by(c.AllClear(), 15), by(c.Close(), 20),
                             config=site(channels=channels), extra=sends), None)
    assert [(m.channel, m.method, m.sent, m.failed, m.escalated, m.worked)
            for m in r.notifications] == [("sro", "json", 1, 1, 1, True),
                                          ("sms", "twilio", 0, 2, 0, False),
                                          ("gone", "unknown", 1, 0, 0, True)]
    assert b"s3cret" not in msgspec.json.encode(r) and b"10.0.0.9" not in msgspec.json.encode(r)


@pytest.mark.parametrize("url", ["xoxbSECRETTOKEN:hunter2@hooks.example", "SECRET",
                                 "Json_s3cret://x", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa://x"])
def test_a_url_that_is_no_plain_scheme_shows_as_unknown_never_its_head(url: str) -> None:
    sends = [notified(e.NotificationSent, "odd", 1)]
    r = drill_log.row(events(drill(), config=site(channels=[Channel(name="odd", url=url)]),
                             extra=sends), None)
    assert [(m.channel, m.method) for m in r.notifications] == [("odd", "unknown")]


def test_the_site_file_sets_when_a_room_is_late_and_a_sign_off_is_recorded() -> None:
    signed = e.DrillSignedOff(id="so-1", site="test-high", incident_id=DRILL, mode="drill",
                              occurred_at=at(3600), recorded_at=at(3600),
                              data=e.DrillSignedOffData(signed_by="Elena Ruiz"))
    r = drill_log.row(events(drill(), *ALL_IN, by(c.AllClear(), 240), by(c.Close(), 250),
                             extra=[signed], config=site(drills=Drills(late_after_s=60))), None)
    assert r.rooms_late == ["A-101", "A-102", "GYM"]
    assert (r.signed_off_by, r.signed_off_at) == ("Elena Ruiz", at(3600))
    assert (r.ended_by, r.ended_at, r.status) == ("all_clear", at(240), "closed")


def test_a_site_without_rooms_never_reaches_the_protective_response() -> None:
    r = row(drill(), by(c.AllClear(), 50), by(c.Close(), 60), config=site(rooms=[], people=[]))
    assert (r.protective_at, r.accounted_at, r.rooms_total) == (None, None, 0)
    assert r.participants == {"student": 0, "staff": 0, "visitor": 0, "total": 0}


def test_no_incident_in_the_events_is_an_error() -> None:
    with pytest.raises(ValueError):
        drill_log.row([(1, configured())], None)


@pytest.mark.parametrize("kind,action,hazard,expected", [
    ("fire", "evacuate", None, "fire"), ("weather", "shelter", "a tornado", "severe_weather"),
    ("shelter", "shelter", "a tornado", "severe_weather"),
    ("shelter", "shelter", "a chemical release", "hazmat"), ("shelter", "shelter", None, "shelter"),
    ("armed_intruder", "lockdown", None, "lockdown"), ("police_activity", "secure", None, "secure"),
    ("evacuate", "evacuate", None, "evacuation"), ("bomb_threat", "evacuate", None, "bomb_threat"),
    ("fight", "hold", None, "hold"), ("other", None, None, None),
    ("upset_parent", "lockdown", None, "lockdown")])
def test_each_kind_counts_as_a_category(kind: str, action: str | None, hazard: str | None,
                                        expected: str | None) -> None:
    assert drill_log.category(kind, action, hazard) == expected


def test_the_log_lists_a_school_years_rows_in_the_sites_zone_without_replays() -> None:
    base = row(drill(), by(c.AllClear(), 50), by(c.Close(), 60))
    denver = ZoneInfo("America/Denver")
    # 1 July 2025 03:00 UTC is still 30 June in Denver: the school year before.
    edge = msgspec.structs.replace(base, incident_id="edge",
                                   started_at=datetime(2025, 7, 1, 3, tzinfo=ZoneInfo("UTC")))
    replayed = msgspec.structs.replace(base, incident_id="again", mode="replay")
    assert [r.incident_id for r in drill_log.log([edge, base, replayed], sy.parse("2024-25"),
                                                 denver)] == [DRILL, "edge"]
    assert drill_log.log([edge], sy.parse("2025-26"), denver) == []


def test_a_school_year_is_july_to_july() -> None:
    year = sy.parse("2026-27")
    assert (year.label, year.first_day, year.end_day) == ("2026-27", date(2026, 7, 1),
                                                         date(2027, 7, 1))
    assert (year.day("09-01"), year.day("03-15"), year.day("02-29")) == (
        date(2026, 9, 1), date(2027, 3, 15), date(2027, 2, 28))
    assert sy.containing(date(2027, 6, 30)) == year and sy.containing(date(2027, 7, 1)) != year
    assert len(year.days()) == 365 and len(sy.parse("2027-28").days()) == 366
    start, end = year.bounds(ZoneInfo("America/Denver"))
    assert start.isoformat() == "2026-07-01T00:00:00-06:00" and (end - start).days == 365


@pytest.mark.parametrize("text", ["2026-28", "2026-7", "2026", "26-27", "2026/27", "x",
                                  "2099-00 ", "0001-02"])
def test_a_school_year_written_otherwise_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        sy.parse(text)


def test_the_turn_of_a_century_is_a_school_year() -> None:
    assert sy.parse("2099-00").end_day == date(2100, 7, 1)


@pytest.mark.parametrize("text,said", [("2026-28", "must be 27"), ("0001-02", "1970-71"),
                                       ("2026", "YYYY-YY")])
def test_a_refused_school_year_says_why(text: str, said: str) -> None:
    with pytest.raises(ValueError, match=said):
        sy.parse(text)


def test_a_replay_keeping_the_original_times_gives_the_same_row() -> None:
    stream = events(drill(), *ALL_IN, by(c.Acknowledge(responder="Unit 12"), 50, actor=RESPONDER),
                    report("A-101", 230, "needs_help"), by(c.AllClear(), 300),
                    by(c.Close(), 400))
    later = at(86_400 * 30)  # recorded a month later, at other stream sequences, as a replay
    again = [(seq + 5000, replace(ev, recorded_at=later, mode="replay"))
             for seq, ev in stream]
    first, second = drill_log.row(stream, None), drill_log.row(again, None)
    assert second.mode == "replay"
    assert replace(second, mode="drill") == first


def test_a_record_names_what_a_row_counts_as() -> None:
    """A tabletop and a cancelled drill count as no drill; any other row names its category."""
    from command.domain.drill_log import counted_as
    base = replace  # rows differ only in mode, status and category here
    proto = row(drill(), *ALL_IN)
    assert counted_as(base(proto, mode="tabletop")) == "a tabletop exercise: not a drill"
    assert counted_as(base(proto, status="cancelled")) == "cancelled: not counted"
    assert counted_as(base(proto, category="severe_weather")) == "severe weather category"
    assert counted_as(base(proto, category=None)) == "no drill category"
