"""A site file's `[drills]` table: which state's drill requirements a school keeps, its own
requirements beside or instead of them, and when a drill's record is late (docs/site-file.md,
"drills"; docs/drills.md)."""

from typing import Annotated, Literal

import msgspec

from command.domain.types import END, Ident, Label, Seconds

# What a drill counts as for a state: command/domain/drill_log.py maps each row to one.
Category = Literal["fire", "lockdown", "secure", "evacuation", "shelter", "severe_weather",
                   "hazmat", "hold", "bomb_threat"]
CATEGORIES: tuple[str, ...] = Category.__args__  # type: ignore[attr-defined]
# A day of the school year, "MM-DD": July to December fall in its first calendar year.
MonthDay = Annotated[str, msgspec.Meta(pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
                                               + END)]
Month = Annotated[int, msgspec.Meta(ge=1, le=12)]
State = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{2}" + END)]
Needed = Annotated[int, msgspec.Meta(ge=1, le=1000)]
Days = Annotated[int, msgspec.Meta(ge=0, le=365)]
LATE_S = 180.0  # a room in place later than this after the start is late, unless the file says


class Requirement(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """`count` drills of any of `categories` held from `opens` (inclusive) until `closes`
    (the first day it is overdue unmet); with `months`, once in each of those months instead."""

    id: Ident
    label: Label = ""
    categories: list[Category]
    count: Needed = 1
    opens: MonthDay = "07-01"
    closes: MonthDay = "07-01"  # the same day as `opens`: the whole school year
    months: list[Month] = []


class Drills(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    state: State | None = None  # a state's table in command/domain/drill_rules.py
    requirements: list[Requirement] = []  # one with a state requirement's id replaces it
    documented_within_days: Days | None = None  # else the state's (30 days when it says none)
    late_after_s: Seconds = LATE_S
    count_live: bool | None = None  # whether a live incident counts as a drill; else the state's


def check(table: Drills) -> None:
    """Cross-field rules: requirement ids are unique and each day is a real one."""
    ids = [r.id for r in table.requirements]
    if len(set(ids)) != len(ids):
        raise ValueError("drills.requirements: duplicate requirement id")
    for i, req in enumerate(table.requirements):
        for name in ("opens", "closes"):
            month, day = (int(x) for x in getattr(req, name).split("-"))
            if day > (29 if month == 2 else 30 if month in (4, 6, 9, 11) else 31):
                raise ValueError(f"drills.requirements[{i}].{name}: no such day")
        if not req.categories:
            raise ValueError(f"drills.requirements[{i}].categories: name at least one")
        if req.closes != "07-01" and _in_year(req.closes) <= _in_year(req.opens):
            raise ValueError(f"drills.requirements[{i}].closes: must come after opens in the "
                             "school year (July to July; 07-01 is the year's end)")


def _in_year(month_day: str) -> tuple[bool, int, int]:
    """A MM-DD's place in a school year that starts on 1 July."""
    month, day = (int(x) for x in month_day.split("-"))
    return month < 7, month, day
