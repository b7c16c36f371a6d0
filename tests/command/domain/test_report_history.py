"""A site's earlier drills from a run of its events: each drill and live incident as its
drill-log row, folded with the site file it was held under; tabletops and replays left out."""

from msgspec.structs import replace

from command.domain import events as e
from command.domain import report_history
from tests.command.domain.test_report_compare import drill
from tests.command.domain.test_site_state import site


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
    rows = report_history.rows(reversed(stream))
    assert [(r.incident_id, r.mode, r.participants["total"]) for r in rows] == [
        ("d-1", "drill", 8), ("d-2", "drill", 3)]
    assert rows[0].protective_s == 240.0 and rows[1].protective_s == 160.0


def test_an_incident_opened_before_the_events_begin_is_left_out() -> None:
    events = drill("d-1", 0, 60)
    assert report_history.rows(events[2:]) == []  # its opening is not among them
    assert [r.incident_id for r in report_history.rows(events, site())] == ["d-1"]
