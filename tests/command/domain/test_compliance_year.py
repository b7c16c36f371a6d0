"""A whole school year of generated drills at the demo school, written by the real `decide` and
folded into drill-log rows, then the compliance view taken on every day of the year under New
Jersey's and Michigan's rules and checked against an oracle written from the schedule itself."""

import random
from datetime import date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import msgspec
import pytest
from msgspec.structs import replace

from command.bootstrap.demo import DEMO_PATH
from command.domain import commands as c
from command.domain import compliance, drill_log
from command.domain import events as e
from command.domain import school_year as sy
from command.domain.decide import decide, seal
from command.domain.drill_log import DrillRow
from command.domain.site import Site, load
from command.domain.site_drills import Drills
from command.domain.site_state import Ctx, SiteState, evolve

YEAR = sy.parse("2026-27")
PRINCIPAL = e.Actor(kind="user", id="principal", role="commander")
TEACHER = e.Actor(kind="user", id="teacher", role="staff")
BUTTON = e.Actor(kind="device", id="button", role="device")
# The security drill of each school month; February's is missed (None).
SECURITY = {9: "lockdown", 10: "weather", 11: "hazmat", 12: "evacuate", 1: "lockdown", 2: None,
            3: "weather", 4: "lockdown", 5: "secure", 6: "lockdown"}
CATEGORY = {"fire": "fire", "lockdown": "lockdown", "weather": "severe_weather",
            "hazmat": "hazmat", "evacuate": "evacuation", "secure": "secure"}


class Drill(msgspec.Struct, frozen=True, kw_only=True):
    """One planned exercise: the schedule the oracle reads, not the rows."""

    iid: str
    day: date
    kind: str
    mode: str = "drill"  # drill, live or tabletop
    cancelled: bool = False
    signed: date | None = None

    @property
    def counts(self) -> bool:
        return self.mode == "drill" and not self.cancelled


def demo() -> Site:
    return load(DEMO_PATH)


@cache
def schedule() -> tuple[Drill, ...]:
    """A fire and a security drill each school month, on random weekdays, with some signed off
    in time, some late and some never; November's fire drill is cancelled, a tabletop and a
    live fire are held beside them."""
    rng = random.Random(20)
    plan: list[Drill] = []
    for month in [9, 10, 11, 12, 1, 2, 3, 4, 5, 6]:
        first = YEAR.day(f"{month:02d}-01")
        weekdays = [first + timedelta(days=i) for i in range(28)
                    if (first + timedelta(days=i)).weekday() < 5]
        kinds = ["fire"] + ([SECURITY[month]] if SECURITY[month] else [])
        for kind, day in zip(kinds, sorted(rng.sample(weekdays, len(kinds))), strict=True):
            fate = rng.random()
            signed = (day + timedelta(days=rng.randint(0, 30)) if fate < 0.6 else
                      day + timedelta(days=rng.randint(31, 50)) if fate < 0.8 else None)
            plan.append(Drill(iid=f"d-{day}-{kind}", day=day, kind=kind, signed=signed,
                              cancelled=(month, kind) == (11, "fire")))
    plan += [Drill(iid="tabletop-jan", day=date(2027, 1, 20), kind="lockdown", mode="tabletop"),
             Drill(iid="live-may", day=date(2027, 5, 12), kind="fire", mode="live"),
             Drill(iid="extra-fire", day=date(2026, 10, 28), kind="fire",
                   signed=date(2026, 10, 28))]
    return tuple(plan)


def run(state: SiteState, cmd: c.Command, ctx: Ctx, out: list[e.Event]) -> SiteState:
    drafts = decide(state, cmd, ctx)
    events = seal(drafts, ctx, [f"{ctx.new_incident_id}-{len(out) + i}"
                                for i in range(len(drafts))])
    for ev in events:
        state = evolve(state, ev)  # type: ignore[arg-type]
        out.append(ev)  # type: ignore[arg-type]
    return state


def events_of(drill: Drill, site: Site) -> list[tuple[int, e.Event]]:
    """The drill's events as intake would write them: opened at 10:00 local, every room
    reporting, then the all clear and the close, or a cancel; the sign-off at 15:00."""
    zone = ZoneInfo(site.timezone)
    start = datetime(drill.day.year, drill.day.month, drill.day.day, 10, tzinfo=zone)
    configured = e.SiteConfigured(id=f"cfg-{drill.iid}", site=site.id, occurred_at=start
                                  - timedelta(days=1), recorded_at=start, data=site)
    out: list[e.Event] = [configured]
    state = evolve(SiteState(), configured)

    def ctx(seconds: float, actor: e.Actor = PRINCIPAL, room: str | None = None) -> Ctx:
        return Ctx(site=site.id, actor=actor, now=start + timedelta(seconds=seconds),
                   incident_id=drill.iid, room=room, new_incident_id=drill.iid,
                   commander=actor is PRINCIPAL)

    opening: c.Command = (c.RaiseAlert(kind=drill.kind, room=site.rooms[0].id)  # type: ignore
                          if drill.mode == "live" else c.StartDrill(scenario=drill.kind))  # type: ignore
    state = run(state, opening, ctx(0, BUTTON if drill.mode == "live" else PRINCIPAL), out)
    heads = {r.id: 0 for r in site.rooms}
    for person in site.people:
        heads[person.room or ""] = heads.get(person.room or "", 0) + 1
    status = "evacuated" if drill.kind in ("fire", "evacuate") else "secured"
    rooms = site.rooms[: 5 if drill.cancelled else None]
    for i, room in enumerate(rooms):
        report = c.ReportRoomStatus(status=status, present=heads[room.id])  # type: ignore
        state = run(state, report, ctx(30 + 3 * i, TEACHER, room.id), out)
    if drill.cancelled:
        state = run(state, c.Cancel(reason="the alarm panel failed"), ctx(200), out)
    else:
        state = run(state, c.AllClear(), ctx(600), out)
        state = run(state, c.Close(), ctx(660), out)
    if drill.signed is not None:
        at = datetime(drill.signed.year, drill.signed.month, drill.signed.day, 15, tzinfo=zone)
        out.append(e.DrillSignedOff(id=f"so-{drill.iid}", site=site.id, incident_id=drill.iid,
                                    mode="drill", occurred_at=at, recorded_at=at,
                                    data=e.DrillSignedOffData(signed_by="Elena Ruiz")))
    return list(enumerate(out, start=1))


@cache
def rows() -> tuple[DrillRow, ...]:
    site = demo()
    made = []
    for drill in schedule():
        row = drill_log.row(events_of(drill, site), None)
        made.append(replace(row, mode="tabletop") if drill.mode == "tabletop" else row)
    return tuple(made)


def test_the_generated_rows_are_the_schedule() -> None:
    plan = {d.iid: d for d in schedule()}
    zone = ZoneInfo(demo().timezone)
    for row in rows():
        drill = plan[row.incident_id]
        assert (row.category, row.mode) == (CATEGORY[drill.kind], drill.mode)
        assert sy.local_day(row.started_at, zone) == drill.day
        assert row.status == ("cancelled" if drill.cancelled else "closed")
        assert (row.signed_off_at is not None) == (drill.signed is not None)
        assert (row.protective_at is None) == drill.cancelled
    assert [r.incident_id for r in drill_log.log(rows(), YEAR, zone)] == [
        d.iid for d in sorted(plan.values(), key=lambda d: d.day)]


def windows(state: str) -> dict[str, tuple[list[str], int, date, date]]:
    """Each requirement as the oracle reads the statute: (categories, count, opens, closes)."""
    if state == "NJ":
        found = {}
        for month in [9, 10, 11, 12, 1, 2, 3, 4, 5, 6]:
            opens = date(2026 if month > 6 else 2027, month, 1)
            closes = date(opens.year + (month == 12), month % 12 + 1, 1)
            found[f"nj-fire/{opens:%Y-%m}"] = (["fire"], 1, opens, closes)
            found[f"nj-security/{opens:%Y-%m}"] = (
                ["lockdown", "severe_weather", "hazmat", "evacuation", "secure"], 1, opens, closes)
        return found
    whole, fall = (date(2026, 7, 1), date(2027, 7, 1)), (date(2026, 7, 1), date(2026, 12, 1))
    return {"mi-fire": (["fire"], 5, *whole), "mi-fire-fall": (["fire"], 3, *fall),
            "mi-tornado": (["severe_weather"], 2, *whole),
            "mi-tornado-march": (["severe_weather"], 1, date(2027, 3, 1), date(2027, 4, 1)),
            "mi-lockdown": (["lockdown"], 3, *whole), "mi-lockdown-fall": (["lockdown"], 1, *fall),
            "mi-lockdown-spring": (["lockdown"], 1, date(2027, 1, 1), whole[1])}


def expected(state: str, day: date) -> dict[str, tuple[str, int]]:
    """The oracle: from the schedule, each requirement's status and drills held on `day`."""
    found = {}
    for key, (categories, count, opens, closes) in windows(state).items():
        days = sorted(d.day for d in schedule() if d.counts and CATEGORY[d.kind] in categories
                      and opens <= d.day < closes)
        done_on = days[count - 1] if len(days) >= count else None
        status = ("done" if done_on and day >= done_on else "overdue" if day >= closes
                  else "due" if day >= opens else "upcoming")
        found[key] = (status, sum(1 for d in days if d <= day))
    return found


def late(day: date) -> list[str]:
    """Drills past their 30 days on `day` with no sign-off by then, in the order held."""
    return [d.iid for d in sorted(schedule(), key=lambda d: d.day) if d.counts
            and d.day + timedelta(days=30) < day and (d.signed is None or d.signed > day)]


@pytest.mark.parametrize("state", ["NJ", "MI"])
def test_every_day_of_the_year_the_view_is_the_oracles(state: str) -> None:
    site = replace(demo(), drills=Drills(state=state))
    zone = ZoneInfo(site.timezone)
    history: dict[str, list[str]] = {}
    for day in YEAR.days():
        view = compliance.view(rows(), site, YEAR, day, zone)
        got = {i.requirement: (i.status, i.held) for i in view.items}
        assert got == expected(state, day), day
        assert [u.incident_id for u in view.undocumented] == late(day), day
        for item in view.items:
            history.setdefault(item.requirement, []).append(item.status)
            assert (item.status == "done") == (item.done_on is not None and item.done_on <= day)
            assert (item.opens, item.closes) == windows(state)[item.requirement][2:]
    for key, seen in history.items():  # upcoming, then due, then done or overdue for good
        order = [s for i, s in enumerate(seen) if i == 0 or seen[i - 1] != s]
        assert order in (["upcoming", "due", "done"], ["upcoming", "due", "overdue"],
                         ["due", "done"], ["due", "overdue"], ["upcoming", "done"],
                         ["done"], ["due"], ["upcoming", "due"]), (key, order)


def test_new_jerseys_missed_february_security_drill_is_overdue_from_the_first_of_march() -> None:
    site = replace(demo(), drills=Drills(state="NJ"))

    def status(day: date) -> str:
        view = compliance.view(rows(), site, YEAR, day, ZoneInfo(site.timezone))
        return next(i.status for i in view.items if i.requirement == "nj-security/2027-02")

    assert [status(date(2027, 1, 31)), status(date(2027, 2, 28)), status(date(2027, 3, 1)),
            status(date(2027, 6, 30))] == ["upcoming", "due", "overdue", "overdue"]


def test_michigans_fall_fire_drills_are_met_without_novembers_cancelled_one() -> None:
    site = replace(demo(), drills=Drills(state="MI"))
    view = compliance.view(rows(), site, YEAR, date(2026, 12, 1), ZoneInfo(site.timezone))
    fall = next(i for i in view.items if i.requirement == "mi-fire-fall")
    counted = sorted((d.day, d.iid) for d in schedule() if d.kind == "fire" and d.counts
                     and d.day < date(2026, 12, 1))
    assert [iid for _, iid in counted] == [h.incident_id for h in fall.drills]
    assert len(counted) == 3 and "extra-fire" in dict(map(reversed, counted))  # type: ignore
    assert (fall.status, fall.held, fall.done_on) == ("done", 3, counted[-1][0])
