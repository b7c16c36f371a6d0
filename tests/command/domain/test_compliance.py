"""Given a site's drill-log rows, when the compliance view is taken on a day, then each state
requirement is done, due, overdue or upcoming, and late records are undocumented."""

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from msgspec.structs import replace

from command.domain import compliance
from command.domain import school_year as sy
from command.domain.drill_log import DrillRow
from command.domain.site import SiteError, loads
from command.domain.site_drills import Drills, Requirement
from tests.command.domain.test_site_state import site

YEAR = sy.parse("2026-27")
DENVER = ZoneInfo("America/Denver")


def drow(iid: str, day: date, category: str | None, mode: str = "drill",
         status: str = "closed", signed: date | None = None, hour: int = 10) -> DrillRow:
    start = datetime(day.year, day.month, day.day, hour, tzinfo=DENVER)
    return DrillRow(
        incident_id=iid, site="test-high", mode=mode, kind=category or "other", scenario=None,
        action=None, category=category, status=status, started_at=start, protective_at=None,
        protective_s=None, accounted_at=None, accounted_s=None, ended_at=None, ended_by=None,
        first_ack_s=None, participants={}, rooms_total=0, rooms_never=[], rooms_late=[],
        unaccounted=0, notifications=[], signed_off_by="P" if signed else None,
        signed_off_at=datetime(signed.year, signed.month, signed.day, 15, tzinfo=DENVER)
        if signed else None, notes=[])


def held(state: str | None, **kw: Any) -> Any:
    return site(timezone="America/Denver", drills=Drills(state=state, **kw))


def items(view: compliance.View) -> dict[str, tuple[str, int]]:
    return {i.requirement: (i.status, i.held) for i in view.items}


def test_michigan_before_and_after_the_first_of_december() -> None:
    rows = [drow("f1", date(2026, 9, 3), "fire"), drow("f2", date(2026, 10, 1), "fire"),
            drow("l1", date(2026, 10, 20), "lockdown")]
    nov = compliance.view(rows, held("MI"), YEAR, date(2026, 11, 30), DENVER)
    assert items(nov)["mi-fire-fall"] == ("due", 2)
    assert items(nov)["mi-lockdown-fall"] == ("done", 1)
    assert items(nov)["mi-lockdown-spring"] == ("upcoming", 0)
    assert items(nov)["mi-tornado-march"] == ("upcoming", 0)
    dec = compliance.view(rows, held("MI"), YEAR, date(2026, 12, 1), DENVER)
    assert items(dec)["mi-fire-fall"] == ("overdue", 2)  # 1 December is the first day late
    assert items(dec)["mi-fire"] == ("due", 2)
    assert dec.counts == {"done": 1, "due": 3, "overdue": 1, "upcoming": 2, "undocumented": 3}
    done = next(i for i in dec.items if i.requirement == "mi-lockdown-fall")
    assert (done.done_on, [h.incident_id for h in done.drills]) == (date(2026, 10, 20), ["l1"])


def test_a_requirement_is_done_from_the_day_of_its_last_needed_drill() -> None:
    rows = [drow(f"f{i}", date(2026, 9, 1 + i), "fire") for i in range(3)]
    before = compliance.view(rows, held("MI"), YEAR, date(2026, 9, 2), DENVER)
    on = compliance.view(rows, held("MI"), YEAR, date(2026, 9, 3), DENVER)
    assert items(before)["mi-fire-fall"] == ("due", 2)
    assert items(on)["mi-fire-fall"] == ("done", 3)


def test_new_jersey_counts_each_school_month_apart() -> None:
    rows = [drow("f", date(2026, 9, 30), "fire"), drow("s", date(2026, 10, 1), "hazmat"),
            drow("x", date(2026, 10, 2), "fire", status="cancelled"),
            drow("t", date(2026, 10, 3), "fire", mode="tabletop"),
            drow("live", date(2026, 10, 4), "fire", mode="live")]
    view = compliance.view(rows, held("NJ"), YEAR, date(2026, 10, 31), DENVER)
    got = items(view)
    assert len(view.items) == 20  # fire and security, September to June
    assert got["nj-fire/2026-09"] == ("done", 1) and got["nj-security/2026-09"] == ("overdue", 0)
    assert got["nj-fire/2026-10"] == ("due", 0)  # cancelled, tabletop and live do not count
    assert got["nj-security/2026-10"] == ("done", 1)
    assert got["nj-fire/2027-06"] == ("upcoming", 0)
    windows = {i.requirement: (i.opens, i.closes) for i in view.items}
    assert windows["nj-fire/2027-02"] == (date(2027, 2, 1), date(2027, 3, 1))
    assert windows["nj-fire/2026-12"] == (date(2026, 12, 1), date(2027, 1, 1))


def test_a_site_file_may_count_live_incidents() -> None:
    rows = [drow("live", date(2026, 10, 4), "fire", mode="live")]
    view = compliance.view(rows, held("NJ", count_live=True), YEAR, date(2026, 10, 5), DENVER)
    assert items(view)["nj-fire/2026-10"] == ("done", 1)


def test_the_site_file_replaces_a_state_requirement_by_id_and_adds_its_own() -> None:
    own = [Requirement(id="mi-fire", label="Six fire drills", categories=["fire"], count=6),
           Requirement(id="spring-evac", categories=["evacuation"], opens="03-01",
                       closes="06-01")]
    rules = compliance.rules(held("MI", requirements=own, documented_within_days=10))
    assert [r.id for r in rules.requirements][:2] == ["mi-fire", "mi-fire-fall"]
    assert rules.requirements[0].count == 6 and rules.requirements[-1].id == "spring-evac"
    assert (rules.state, rules.documented_within_days, rules.count_live) == ("MI", 10, False)
    (_, opens, closes), = compliance.windows(rules.requirements[-1], YEAR)
    assert (opens, closes) == (date(2027, 3, 1), date(2027, 6, 1))
    alone = compliance.rules(held(None, requirements=own[1:]))
    assert [r.id for r in alone.requirements] == ["spring-evac"] and alone.state is None
    assert compliance.rules(None).requirements == [] and compliance.rules(site()).state is None


def test_a_drill_is_undocumented_the_day_after_its_deadline_until_it_is_signed() -> None:
    rows = [drow("a", date(2026, 10, 1), "fire"),
            drow("b", date(2026, 10, 1), "lockdown", signed=date(2026, 10, 20)),
            drow("c", date(2026, 10, 1), "hazmat", signed=date(2026, 11, 5)),
            drow("t", date(2026, 10, 1), "fire", mode="tabletop")]

    def late(day: date) -> list[str]:
        view = compliance.view(rows, held("MI"), YEAR, day, DENVER)
        return [u.incident_id for u in view.undocumented]

    assert late(date(2026, 10, 31)) == []  # the thirtieth day is still in time
    assert late(date(2026, 11, 1)) == ["a", "c"]
    assert late(date(2026, 11, 5)) == ["a"]  # signed late: documented from that day
    view = compliance.view(rows, held("MI"), YEAR, date(2026, 11, 1), DENVER)
    assert view.undocumented[0].deadline == date(2026, 10, 31)


def test_only_the_school_years_drills_count_by_the_sites_calendar() -> None:
    # 20:00 on 30 June in Denver is 1 July in UTC: still the year before.
    rows = [drow("june", date(2026, 6, 30), "fire", hour=20)]
    assert rows[0].started_at.astimezone(UTC).date() == date(2026, 7, 1)
    view = compliance.view(rows, held("TX"), YEAR, date(2026, 7, 2), DENVER)
    assert items(view)["tx-fire"] == ("due", 0)
    assert items(compliance.view(rows, held("TX"), YEAR, date(2026, 7, 2)))["tx-fire"] == (
        "due", 1)


def test_texas_asks_one_lockdown_each_semester() -> None:
    rows = [drow("l", date(2026, 12, 31), "lockdown")]
    view = compliance.view(rows, held("TX"), YEAR, date(2027, 1, 1), DENVER)
    assert items(view)["tx-lockdown-fall"] == ("done", 1)
    assert items(view)["tx-lockdown-spring"] == ("due", 0)
    assert {i.requirement for i in view.items} == {
        "tx-lockdown-fall", "tx-lockdown-spring", "tx-secure", "tx-shelter-weather",
        "tx-shelter-hazmat", "tx-fire"}


@pytest.mark.parametrize("table,message", [
    ('state = "ZZ"', "drills.state"),
    ('[[drills.requirements]]\nid = "a"\ncategories = ["fire"]\n'
     '[[drills.requirements]]\nid = "a"\ncategories = ["fire"]', "duplicate"),
    ('[[drills.requirements]]\nid = "a"\ncategories = ["fire"]\nopens = "02-30"', "opens"),
    ('[[drills.requirements]]\nid = "a"\ncategories = []', "categories"),
    ('[[drills.requirements]]\nid = "a"\ncategories = ["drama"]', "categories"),
    ('[[drills.requirements]]\nid = "a"\ncategories = ["fire"]\ncloses = "13-01"', "closes")])
def test_a_drills_table_that_cannot_be_kept_is_refused(table: str, message: str) -> None:
    with pytest.raises(SiteError, match=message):
        loads(f'id = "s"\nname = "S"\ndistrict = "d-1"\n[drills]\n{table}\n')


def test_a_drills_table_reads_from_toml() -> None:
    s = loads('id = "s"\nname = "S"\ndistrict = "d-1"\n[drills]\nstate = "NJ"\n'
              'documented_within_days = 14\nlate_after_s = 120\n')
    assert s.district == "d-1" and s.drills is not None
    assert (s.drills.state, s.drills.documented_within_days, s.drills.late_after_s) == (
        "NJ", 14, 120.0)
    assert compliance.rules(s).documented_within_days == 14
    assert compliance.rules(replace(s, drills=Drills(state="NJ"))).documented_within_days == 30


def test_a_june_drill_falls_undocumented_in_the_next_school_years_view() -> None:
    june = [drow("june", date(2026, 6, 20), "fire"), drow("may", date(2026, 5, 1), "fire"),
            drow("signed", date(2026, 6, 25), "lockdown", signed=date(2026, 7, 15))]

    def view(day: date) -> compliance.View:
        return compliance.view([], held("NJ"), YEAR, day, DENVER, earlier=june)

    assert view(date(2026, 7, 10)).undocumented == []  # 20 July is the last day in time
    late = view(date(2026, 7, 21))
    assert [(u.incident_id, u.held_on, u.deadline) for u in late.undocumented] == [
        ("june", date(2026, 6, 20), date(2026, 7, 20))]  # May's was last year's to show
    assert late.counts["undocumented"] == 1 and late.counts["done"] == 0
    assert all(i.held == 0 for i in late.items)  # last year's drills count for nothing here
    assert [u.incident_id for u in compliance.view(june, held("NJ"), YEAR, date(2026, 7, 21),
                                                   DENVER).undocumented] == []
