"""The exceptions track on a board (`command/domain/board_desk.py`): a case resolved into a
listed guardian's care counts its student reunified, once, as intake counts them; a case
resolved otherwise moves nobody. Given events written by the real `decide`."""

from typing import Any

from command.domain import accounting, board, board_render
from command.domain import commands as c
from command.domain import events as e
from command.domain.site_state import SiteState, evolve
from tests.command.domain.test_site_state import (
    COMMANDER,
    LIVE,
    SITE_ID,
    STAFF,
    configured,
    ctx,
    everyone_accounted,
    given,
    guardian,
    press,
    run,
)

STAFF_AT = ctx(STAFF, at=100, incident=LIVE)
BOSS_AT = ctx(COMMANDER, at=200, incident=LIVE)


def history(released_to: str | None) -> list[e.Envelope]:
    """A fire; s-1 injured, checked in, taken onto the exceptions track and resolved."""
    site = configured()
    state, written = run(given(site), (press("fire"), ctx()),
                         (everyone_accounted()[0], STAFF_AT),
                         (c.CheckIn(person_id="s-1"), STAFF_AT),
                         (guardian("Anne Byron", "s-1"), STAFF_AT),
                         (c.OpenException(person_id="s-1", kind="injured",
                                          assigned_to="Ms Nurse"), STAFF_AT))
    case = written[-1].data.case_id
    written += run(state, (c.ResolveException(case_id=case, outcome="done",
                                              released_to=released_to), BOSS_AT))[1]
    return [site, *written]


def counts(events: list[e.Envelope]) -> dict[str, Any]:
    state = board.fold(SITE_ID, list(enumerate(events, start=1)))  # type: ignore[arg-type]
    return board_render.render(state)["accountability"]


def intake(events: list[e.Envelope]) -> SiteState:
    state = SiteState()
    for ev in events:
        state = evolve(state, ev)  # type: ignore[arg-type]
    return state


def test_a_case_resolved_into_a_guardians_care_counts_the_student_reunified_once() -> None:
    events = history("Anne Byron")
    assert counts(events)["reunified"] == 1
    state = intake(events)
    assert accounting.person(state.open["live"].ledger, state.site, "s-1").status == "reunified"


def test_a_case_resolved_otherwise_moves_nobody() -> None:
    assert counts(history(None))["reunified"] == 0
