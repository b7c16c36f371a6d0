"""A school year, "2026-27": from 1 July 2026 until 1 July 2027, in the site's time zone.

The second part must be the next year's last two digits, so "2026-28" and "2026-7" are refused.
"""

import re
from datetime import date, datetime, time, timedelta, tzinfo

import msgspec

_LABEL = re.compile(r"^(\d{4})-(\d{2})$")
FIRST_MONTH = 7  # July: a school year's months from July to December are its first year's


class SchoolYear(msgspec.Struct, frozen=True):
    start: int  # the calendar year it begins in

    @property
    def label(self) -> str:
        return f"{self.start}-{(self.start + 1) % 100:02d}"

    @property
    def first_day(self) -> date:
        return date(self.start, FIRST_MONTH, 1)

    @property
    def end_day(self) -> date:
        """The first day after it: 1 July of the next year."""
        return date(self.start + 1, FIRST_MONTH, 1)

    def days(self) -> list[date]:
        n = (self.end_day - self.first_day).days
        return [self.first_day + timedelta(days=i) for i in range(n)]

    def contains(self, day: date) -> bool:
        return self.first_day <= day < self.end_day

    def bounds(self, zone: tzinfo) -> tuple[datetime, datetime]:
        """Its first and end instants in `zone`: [midnight 1 July, midnight next 1 July)."""
        return (datetime.combine(self.first_day, time(), zone),
                datetime.combine(self.end_day, time(), zone))

    def day(self, month_day: str) -> date:
        """"MM-DD" within this school year (29 February is the 28th in a common year)."""
        month, day = (int(x) for x in month_day.split("-"))
        year = self.start if month >= FIRST_MONTH else self.start + 1
        if month == 2 and day == 29 and not _leap(year):
            day = 28
        return date(year, month, day)


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def parse(text: str) -> SchoolYear:
    """A "YYYY-YY" label; ValueError saying what is wrong with any other text."""
    found = _LABEL.match(text)
    if found is None:
        raise ValueError("a school year is written YYYY-YY, e.g. 2026-27")
    start = int(found[1])
    if not 1970 <= start <= 9998:
        raise ValueError(f"{text!r}: a school year from 1970-71 to 9998-99")
    if int(found[2]) != (start + 1) % 100:
        raise ValueError(f"{text!r}: the second part must be {(start + 1) % 100:02d}, the "
                         f"last two digits of the year after {start}")
    return SchoolYear(start)


def containing(day: date) -> SchoolYear:
    """The school year `day` falls in."""
    return SchoolYear(day.year if day.month >= FIRST_MONTH else day.year - 1)


def local_day(at: datetime, zone: tzinfo) -> date:
    """The calendar day an instant falls on in the site's zone."""
    return at.astimezone(zone).date()
