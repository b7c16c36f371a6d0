"""The drill requirements Muster ships for some states (docs/drills.md, "The states' tables").

These are summaries of each state's statute as it read when they were written, for a school to
check against the current statute and its own district's policy: a site file's `[drills]`
table may replace any requirement (by its id) or add its own (docs/site-file.md, "drills").
"""

import msgspec

from command.domain.site_drills import Requirement

SCHOOL_MONTHS = [9, 10, 11, 12, 1, 2, 3, 4, 5, 6]  # September to June
DOCUMENTED_WITHIN_DAYS = 30  # when a state names no deadline for a drill's record
# What New Jersey calls a school security drill: any practised emergency other than a fire.
SECURITY = ["lockdown", "secure", "evacuation", "shelter", "severe_weather", "hazmat",
            "bomb_threat", "hold"]


class StateRules(msgspec.Struct, frozen=True, kw_only=True):
    state: str
    name: str
    source: str  # the statute summarised
    requirements: list[Requirement]
    documented_within_days: int = DOCUMENTED_WITHIN_DAYS
    count_live: bool = False  # whether a live incident counts as a drill of its kind


def _req(id: str, label: str, categories: list[str], count: int = 1, opens: str = "07-01",
         closes: str = "07-01", months: list[int] | None = None) -> Requirement:
    return Requirement(id=id, label=label, categories=categories,  # type: ignore[arg-type]
                       count=count, opens=opens, closes=closes, months=months or [])


STATES: dict[str, StateRules] = {r.state: r for r in [
    StateRules(
        state="NJ", name="New Jersey", source="N.J.S.A. 18A:41-1",
        requirements=[
            _req("nj-fire", "A fire drill each month school is in session", ["fire"],
                 months=SCHOOL_MONTHS),
            _req("nj-security", "A school security drill each month school is in session "
                 "(lockdown, non-fire evacuation, bomb threat, shelter ...)", SECURITY,
                 months=SCHOOL_MONTHS),
        ]),
    StateRules(
        state="MI", name="Michigan", source="MCL 29.19",
        requirements=[
            _req("mi-fire", "Fire drills: 5 a school year", ["fire"], 5),
            _req("mi-fire-fall", "Fire drills: 3 of them before 1 December", ["fire"], 3,
                 closes="12-01"),
            _req("mi-tornado", "Tornado (severe weather) drills: 2 a school year",
                 ["severe_weather"], 2),
            _req("mi-tornado-march", "Tornado drills: 1 of them in March", ["severe_weather"],
                 opens="03-01", closes="04-01"),
            _req("mi-lockdown", "Lockdown drills: 3 a school year", ["lockdown"], 3),
            _req("mi-lockdown-fall", "Lockdown drills: 1 of them before 1 December",
                 ["lockdown"], closes="12-01"),
            _req("mi-lockdown-spring", "Lockdown drills: 1 of them from 1 January",
                 ["lockdown"], opens="01-01"),
        ],
        documented_within_days=30),  # posted on the school's website within 30 days
    StateRules(
        state="TX", name="Texas", source="Texas Education Code 37.114; 19 TAC 103.1209",
        requirements=[
            _req("tx-lockdown-fall", "Lockdown drill: 1 in the fall semester", ["lockdown"],
                 closes="01-01"),
            _req("tx-lockdown-spring", "Lockdown drill: 1 in the spring semester",
                 ["lockdown"], opens="01-01"),
            _req("tx-secure", "Secure drill: 1 a school year", ["secure"]),
            _req("tx-shelter-weather", "Shelter drill for severe weather: 1 a school year",
                 ["severe_weather"]),
            _req("tx-shelter-hazmat", "Shelter-in-place drill for hazardous materials: 1 a "
                 "school year", ["hazmat"]),
            _req("tx-fire", "Fire evacuation drills: 4 a school year", ["fire"], 4),
        ]),
]}
