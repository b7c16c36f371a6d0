"""What the exceptions track changes on a board: a case resolved into a listed guardian's care
(`released_to`) is a release, so the student counts reunified once, exactly as intake's
`desk_state` folds it; the board keeps each case's student to know whom a resolution sends home.

The handlers are registered in `board`'s evolvers beside `board_case.EVOLVERS`. Pure.
"""

from collections.abc import Callable
from typing import Any

from msgspec.structs import replace

from command.domain import accounting
from command.domain import events as e
from command.domain.board_case import Case
from command.domain.site import Site


def _opened(case: Case, ev: e.ExceptionOpened, config: Site | None) -> Case:
    cases = {**case.exception_cases, ev.data.case_id: ev.data.person_id}
    return replace(case, exception_cases=cases)


def _resolved(case: Case, ev: e.ExceptionResolved, config: Site | None) -> Case:
    pid = case.exception_cases.get(ev.data.case_id)
    if ev.data.released_to is None or pid is None:
        return case
    ledger = accounting.released(accounting.Ledger(people=case.people, tally=case.tally), pid,
                                 config)
    return replace(case, people=ledger.people, tally=ledger.tally)


EVOLVERS: dict[type, Callable[[Any, Any, Site | None], Any]] = {
    e.ExceptionOpened: _opened,
    e.ExceptionResolved: _resolved,
}
