"""The shipped tabletop scenarios read, and a name in a request given its scenario."""

import pytest

from command.domain import commands as c
from command.domain.errors import Invalid
from command.domain.scenario import timeline
from command.write.scenario_library import resolved, shipped


def test_two_scenarios_ship_each_with_eight_to_twelve_timed_injects() -> None:
    assert set(shipped()) == {"armed-intruder-dismissal", "chemical-spill-offsite"}
    for s in shipped().values():
        timed = timeline(s)
        assert 8 <= len(timed) <= 12 and all(t.source and t.clock and t.expect for t in timed)
        assert [t.at_s for t in timed] == sorted(t.at_s for t in timed)


def test_the_spill_becomes_an_evacuation_to_an_off_site_reunification_point() -> None:
    spill = shipped()["chemical-spill-offsite"]
    assert spill.kind == "hazmat"
    said = [i.expect or "" for i in spill.injects]
    first_evacuation = next(n for n, x in enumerate(said) if "Evacuate to the off-site" in x)
    assert any("Shelter" in x for x in said[:first_evacuation])
    assert any("reunification point" in i.text for i in spill.injects[first_evacuation:])


def test_the_intruder_scenario_is_set_at_dismissal() -> None:
    intruder = shipped()["armed-intruder-dismissal"]
    assert intruder.kind == "armed_intruder" and "dismissal" in intruder.title.lower()


def test_a_name_is_given_its_scenario_and_an_unknown_one_refused() -> None:
    cmd = resolved(c.StartTabletop(scenario="chemical-spill-offsite", note="n"))
    assert isinstance(cmd, c.StartTabletop) and cmd.scenario == shipped()["chemical-spill-offsite"]
    assert cmd.note == "n"
    with pytest.raises(Invalid) as info:
        resolved(c.StartTabletop(scenario="flood"))
    assert info.value.field == "$.scenario" and "armed-intruder-dismissal" in info.value.message
    other = c.AddNote(text="x")
    assert resolved(other) is other
