"""The `[drills]` table's windows: a requirement closes after it opens within the school year
(July to July), or on 07-01, the year's end; never a window silently stretched to the year."""

import pytest

from command.domain.site import SiteError, loads


def table(opens: str, closes: str) -> str:
    return (f'id = "s"\nname = "S"\n[drills]\n[[drills.requirements]]\nid = "a"\n'
            f'categories = ["fire"]\nopens = "{opens}"\ncloses = "{closes}"\n')


@pytest.mark.parametrize("opens,closes", [("09-01", "09-01"), ("03-01", "02-01"),
                                          ("01-15", "12-01"), ("10-02", "10-01")])
def test_a_window_closing_on_or_before_it_opens_is_refused(opens: str, closes: str) -> None:
    with pytest.raises(SiteError, match=r"drills.requirements\[0\].closes: must come after"):
        loads(table(opens, closes))


@pytest.mark.parametrize("opens,closes", [("07-01", "07-01"), ("09-01", "07-01"),
                                          ("12-01", "01-01"), ("03-01", "04-01"),
                                          ("07-01", "12-01"), ("01-01", "06-30")])
def test_a_window_within_the_school_year_is_kept(opens: str, closes: str) -> None:
    site = loads(table(opens, closes))
    assert site.drills is not None
    assert (site.drills.requirements[0].opens, site.drills.requirements[0].closes) == (
        opens, closes)
