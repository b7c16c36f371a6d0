"""A tabletop scenario's script: read from TOML, placed on a time line, scheduled at a speed."""

import pytest

from command.domain.errors import Invalid
from command.domain.scenario import (
    Inject,
    Pace,
    Scenario,
    clock_of,
    loads,
    paused,
    resumed,
    schedule,
    timeline,
    wait_for,
)

SCRIPT = b'''
title = "Spill"
kind = "hazmat"
summary = "A tanker leaks by the field."

[[injects]]
at = "10:02"
source = "a teacher"
text = "A truck rolled over."
expect = "Shelter"

[[injects]]
after_s = 90
source = "dispatch"
text = "Fire is en route."

[[injects]]
at = "10:10:30"
text = "The wind shifts."
'''


def test_a_script_is_placed_on_the_time_line_from_its_first_clock() -> None:
    timed = timeline(loads(SCRIPT))
    assert [(t.index, t.at_s, t.clock, t.source) for t in timed] == [
        (0, 0.0, "10:02", "a teacher"), (1, 90.0, "10:03:30", "dispatch"),
        (2, 510.0, "10:10:30", "")]
    assert timed[0].expect == "Shelter" and timed[1].expect is None


def test_a_start_clock_puts_the_first_inject_after_the_start() -> None:
    s = Scenario(title="t", kind="fire", start="09:58", injects=[Inject(at="10:02", text="a")])
    assert timeline(s)[0].at_s == 240.0


def test_a_script_without_clocks_counts_seconds_and_tells_no_clock() -> None:
    s = Scenario(title="t", kind="fire", injects=[Inject(text="a"), Inject(after_s=30, text="b")])
    assert [(t.at_s, t.clock) for t in timeline(s)] == [(0.0, ""), (30.0, "")]


@pytest.mark.parametrize("inject,field", [
    (Inject(at="10:01", text="b"), "$.injects[1].at"),
    (Inject(at="10:05", after_s=3, text="b"), "$.injects[1].at"),
])
def test_a_script_going_back_or_saying_both_is_refused_naming_the_field(
        inject: Inject, field: str) -> None:
    s = Scenario(title="t", kind="fire", injects=[Inject(at="10:02", text="a"), inject])
    with pytest.raises(Invalid) as info:
        timeline(s)
    assert info.value.field == field


@pytest.mark.parametrize("text,field", [
    (b'title = "t"\nkind = "flood"\n[[injects]]\ntext = "a"\n', "$.kind"),
    (b'title = "t"\nkind = "fire"\n[[injects]]\nat = "9:5"\ntext = "a"\n', "$.injects[0].at"),
    (b'title = "t"\nkind = "fire"\ninjects = []\n', "$.injects"),
    (b'title = "t"\nkind = "fire"\n[[injects]]\ntext = "a"\nroom = "B-1"\n',
     "$.injects[0].room"),
    (b'title = "t"\nkind = "fire"\n[[injects', "$"),
])
def test_a_bad_file_is_refused_naming_the_key(text: bytes, field: str) -> None:
    with pytest.raises(Invalid) as info:
        loads(text)
    assert info.value.field == field


def test_a_schedule_divides_script_time_by_the_speed_from_the_chosen_inject() -> None:
    timed = timeline(loads(SCRIPT))
    assert [(at, t.index) for at, t in schedule(timed, 10)] == [(0.0, 0), (9.0, 1), (51.0, 2)]
    assert [(at, t.index) for at, t in schedule(timed, 2, start_index=1)] == [(0.0, 1),
                                                                              (210.0, 2)]
    for wrong in (3, -1):  # "--from 4" and "--from 0" of three injects name what there is
        with pytest.raises(Invalid, match="injects 1 to 3") as info:
            schedule(timed, 1, start_index=wrong)
        assert info.value.field == "from"
    for speed in (0, -1, float("nan"), float("inf")):
        with pytest.raises(Invalid) as info:
            schedule(timed, speed)
        assert info.value.field == "speed"


def test_a_clock_past_midnight_wraps() -> None:
    assert (clock_of(23 * 3600 + 59 * 60 + 90), clock_of(3600)) == ("00:00:30", "01:00")


def test_a_pause_holds_every_later_inject_back_by_its_length() -> None:
    pace = Pace(started=100.0)
    assert wait_for(pace, 30, now=110) == 20
    assert wait_for(pace, 5, now=110) == 0  # overdue: at once
    held = paused(pace, now=110)
    assert wait_for(held, 30, now=500) is None and paused(held, now=200) == held
    again = resumed(held, now=150)  # paused 40 s
    assert wait_for(again, 30, now=150) == 20 and again.paused_at is None
    twice = resumed(paused(again, now=160), now=170)
    assert wait_for(twice, 30, now=170) == 10 and resumed(twice, now=999) == twice
