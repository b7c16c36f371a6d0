"""The drill record in the report: this drill's drill-log figures, compared with the site's
earlier drills of the same kind (a table and an inline SVG trend chart), from scripted drills
written by the real `decide`."""

from typing import Any

import msgspec
from msgspec.structs import replace

from command.domain import commands as c
from command.domain import drill_log, report, report_compare, report_render
from command.domain import events as e
from command.domain.drill_log import DrillRow
from command.domain.report_compare import earlier_rows
from tests.command.domain.test_site_state import (
    COMMANDER,
    STAFF,
    configured,
    ctx,
    given,
    run,
    site,
)

DAY = 86400.0
ROSTER = {"A-101": 3, "A-102": 2, "B-112": 3, "GYM": 0}


def drill(iid: str, day: float, secured_at: float, scenario: str = "armed_intruder",
          rooms: dict[str, int] = ROSTER, end: float = 400, sign: bool = False,
          ) -> list[tuple[int, Any]]:
    """A drill `day` days after T0: each room secured `secured_at` s apart, all clear at `end`
    s, then closed (and signed off)."""
    base = day * DAY
    cfg = configured(at=base - 60)

    def on(actor: e.Actor, s: float, room: str | None = None) -> Any:
        return ctx(actor, at=base + s, incident=iid, room=room)

    steps: list[tuple[c.Command, Any]] = [(c.StartDrill(scenario=scenario),  # type: ignore[arg-type]
                                           ctx(COMMANDER, at=base, new=iid))]
    steps += [(c.ReportRoomStatus(status="secured", present=n), on(STAFF, secured_at * (i + 1),
                                                                    room))
              for i, (room, n) in enumerate(rooms.items())]
    steps += [(c.AllClear(), on(COMMANDER, end)), (c.Close(), on(COMMANDER, end + 10))]
    if sign:
        steps.append((c.SignOff(signed_by="Dana Reyes", title="Principal"),
                      on(COMMANDER, end + 60)))
    return list(enumerate([cfg, *run(given(cfg), *steps)[1]], start=1))


def row(events: list[tuple[int, Any]]) -> DrillRow:
    return drill_log.row(events, None)


def history() -> list[DrillRow]:
    """Two earlier lockdown drills, a fire drill between them, and a later lockdown drill."""
    return [row(drill("d-1", 0, 60)), row(drill("f-1", 5, 20, "fire")),
            row(drill("d-2", 10, 40)), row(drill("d-9", 40, 10))]


def this(**kwargs: Any) -> report.Report:
    return report.build(drill("d-3", 20, 30, sign=True), None, **kwargs)


def test_the_report_carries_this_drills_row() -> None:
    r = this()
    assert r.record is not None
    assert (r.record.incident_id, r.record.category, r.record.protective_s,
            r.record.accounted_s) == ("d-3", "lockdown", 120.0, 90.0)  # the gym is empty
    assert r.record.signed_off_by == "Dana Reyes"
    assert r.signed_off is not None and r.signed_off.title == "Principal"
    assert (f"- **Signed off:** by Dana Reyes, Principal, at 2025-03-24 09:07:40 UTC (recorded "
            f"as event {r.signed_off.event_id})") in report_render.to_markdown(r)
    assert "<dt>Signed off</dt><dd>by Dana Reyes, Principal, at " in report_render.to_html(r)
    unsigned = report.build(drill("d-4", 20, 30), None)
    assert "- **Signed off:** not yet signed off in Muster" in report_render.to_markdown(unsigned)
    assert r.history == []
    md = report_render.to_markdown(r)
    assert "## Drill record" in md and "- **Protective response:** +2:00" in md
    assert "- **Rooms late:** 0 of 4" in md
    assert report_compare.NONE_BEFORE in md and report_compare.NONE_BEFORE in \
        report_render.to_html(r)


def test_only_earlier_drills_of_the_same_kind_are_compared_oldest_first() -> None:
    r = this(history=history())
    assert [x.incident_id for x in r.history] == ["d-1", "d-2"]
    assert [x[:4] for x in report_compare.rows(r.record, r.history, report_render.zone_named(
        "UTC"))] == [  # type: ignore[arg-type]
        ("2025-03-04", "armed_intruder (drill)", "+4:00", "+3:00"),
        ("2025-03-14", "armed_intruder (drill)", "+2:40", "+2:00"),
        ("2025-03-24 (this)", "armed_intruder (drill)", "+2:00", "+1:30")]
    many = [row(drill(f"old-{i}", i - 20, 50)) for i in range(12)]
    assert [x.incident_id for x in this(history=many[::-1]).history] == [
        f"old-{i}" for i in range(2, 12)]


def test_markdown_and_html_show_the_comparison_and_the_trend_chart() -> None:
    r = this(history=history())
    md = report_render.to_markdown(r)
    assert ("| date | drill | protective response | accounted for | duration | rooms late | "
            "people not accounted |") in md
    assert "| 2025-03-24 (this) | armed_intruder (drill) | +2:00 | +1:30 | +6:40 | 0 | 0 |" in md
    assert "| 2025-03-04 | armed_intruder (drill) | +4:00 | +3:00 | +6:40 | 1 | 0 |" in md
    page = report_render.to_html(r)
    assert page.count('<table class="compare">') == 1
    chart = page[page.index('<svg class="trend"'):]
    chart = chart[:chart.index("</svg>")]
    assert chart.count("<path") == 2 and chart.count("<circle") == 6
    assert "2025-03-24 (this)" in chart and "protective response: +4:00" in chart


def test_a_drill_that_never_reached_a_milestone_is_a_hollow_mark() -> None:
    stalled = row(drill("d-0", 1, 60, rooms={"A-101": 3}))  # three rooms never reported
    r = this(history=[stalled])
    chart = report_render.to_html(r)
    assert 'class="prot miss"' in chart and "protective response: not reached" in chart
    assert "| 2025-03-05 | armed_intruder (drill) | not reached | not reached | +6:40 | 3 | 5 |" \
        in report_render.to_markdown(r)


def test_json_carries_the_record_the_history_and_the_sign_off() -> None:
    r = this(history=history())
    doc = msgspec.json.decode(report_render.to_json(r))
    assert doc["record"]["protective_s"] == 120.0
    assert [x["incident_id"] for x in doc["history"]] == ["d-1", "d-2"]
    assert doc["signed_off"]["signed_by"] == "Dana Reyes"
    assert msgspec.json.decode(report_render.to_json(r), type=report.Report) == r


def test_a_long_list_of_late_rooms_is_cut_to_a_dozen() -> None:
    rooms = {f"R-{i:02d}": 0 for i in range(20)}
    record = drill_log.row(drill("d-7", 20, 30), None)
    late = replace(record, rooms_late=list(rooms), rooms_total=20)
    shown = dict(report_compare.figures(late, report_render.zone_named("UTC")))["Rooms late"]
    assert shown == ("20 of 20 (R-00, R-01, R-02, R-03, R-04, R-05, R-06, R-07, R-08, R-09, "
                     "R-10, R-11 and 8 more)")


def test_each_drill_is_a_row_with_the_site_file_it_was_held_under() -> None:
    first = drill("d-1", 0, 60)
    second = drill("d-2", 10, 40)
    (seq, cfg), *rest = second
    assert isinstance(cfg, e.SiteConfigured)
    smaller = replace(cfg, data=replace(site(), people=site().people[:3]))  # a roster cut
    tabletop = [(s, replace(ev, mode="tabletop", incident_id="t-1", id=f"t-{ev.id}"))
                for s, ev in drill("t-1", 15, 30)[1:]]
    # The stream numbers every event once: the runs follow each other.
    stream = [*first, *((s + 100, ev) for s, ev in [(seq, smaller), *rest]),
              *((s + 200, ev) for s, ev in tabletop)]
    rows = earlier_rows(reversed(stream))
    assert [(r.incident_id, r.mode, r.participants["total"]) for r in rows] == [
        ("d-1", "drill", 8), ("d-2", "drill", 3)]
    assert rows[0].protective_s == 240.0 and rows[1].protective_s == 160.0


def test_an_incident_opened_before_the_events_begin_is_left_out() -> None:
    events = drill("d-1", 0, 60)
    assert earlier_rows(events[2:]) == []  # its opening is not among them
    assert [r.incident_id for r in earlier_rows(events, site())] == ["d-1"]


def test_which_earlier_incidents_may_compare_before_their_events_are_read() -> None:
    lockdown = row(drill("d-1", 0, 60))  # armed_intruder: counts as lockdown
    assert report_compare.may_be_same_kind(lockdown, "lockdown", "lockdown")
    assert report_compare.may_be_same_kind(lockdown, "armed_intruder", None)
    assert not report_compare.may_be_same_kind(lockdown, "fire", "evacuate")
    assert report_compare.may_be_same_kind(lockdown, "weather", "shelter")  # its hazard decides
    fire = row(drill("f-1", 0, 60, "fire"))
    assert report_compare.same_kind(fire, row(drill("f-2", 1, 30, "fire")))
    assert not report_compare.same_kind(fire, lockdown)
