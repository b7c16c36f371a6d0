"""The result's verdicts on the bounds, without servers."""

from loadtest.reporting.result import Bound


def test_bounds_judge_at_most_at_least_and_nothing_measured() -> None:
    assert Bound("x", 2.9, 3.0, "x").met and not Bound("x", 3.1, 3.0, "x").met
    assert Bound("t", 2100.0, 2000.0, "events/s", at_least=True).met
    assert not Bound("t", 1900.0, 2000.0, "events/s", at_least=True).met
    assert not Bound("x", None, 3.0, "x").met
