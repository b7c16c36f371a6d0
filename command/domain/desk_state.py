"""How the reunification desk's events change intake's open incident (`site_state.Incident`):
the cards handed out, the approvals a check gives and a flagged check takes back, the students
fetched, the exception cases and a case resolved into a guardian's arms (a release).

Each fold returns the incident's changed fields; `site_state` applies them. Pure.

An approval is kept twice: by card (card -> the checked guardian and the students), which a
fetch or release naming a card must match, and by the guardian's folded name, which a client
that sends no card is held to. A flagged check takes back both its card's approval and its
name's: a second "Anne Byron" who fails the ID check does not ride on the first one's approval.
"""

from collections.abc import Callable
from typing import Any

from command.domain import accounting, names
from command.domain import events as e
from command.domain.site import Site

Changes = dict[str, Any]


def _arrived(ev: e.GuardianArrived, inc: Any, site: Site | None) -> Changes:
    return {"arrivals": {**inc.arrivals, ev.data.card: ev.data.guardian}} if ev.data.card else {}


def _checked(ev: e.GuardianCheckedIn, inc: Any, site: Site | None) -> Changes:
    d = ev.data
    key = names.folded(d.guardian)
    if d.flags:  # revoked: nobody leaves on this card, or with this name, until checked again
        return {"approved": {k: v for k, v in inc.approved.items() if k != key},
                "approved_cards": {k: v for k, v in inc.approved_cards.items() if k != d.card}}
    if not d.approved:
        return {}
    changes: Changes = {"approved": {**inc.approved,
                                     key: inc.approved.get(key, frozenset()) | set(d.approved)}}
    greeted = inc.arrivals.get(d.card)
    if d.card and (greeted is None or names.same(greeted, d.guardian)):
        was = inc.approved_cards.get(d.card)
        prior = was[1] if was is not None and names.same(was[0], d.guardian) else frozenset()
        changes["approved_cards"] = {**inc.approved_cards,
                                     d.card: (d.guardian, prior | set(d.approved))}
    return changes


def _resolved(ev: e.ExceptionResolved, inc: Any, site: Site | None) -> Changes:
    """A case resolved with `released_to` is a release: counted reunified once, as the board."""
    changes: Changes = {"resolved_cases": inc.resolved_cases | {ev.data.case_id}}
    pid = inc.cases.get(ev.data.case_id)
    if ev.data.released_to is None or pid is None or pid in inc.released:
        return changes
    return {**changes, "released": inc.released | {pid},
            "ledger": accounting.released(inc.ledger, pid, site)}


CHANGES: dict[type, Callable[[Any, Any, Site | None], Changes]] = {
    e.GuardianArrived: _arrived,
    e.GuardianCheckedIn: _checked,
    e.StudentFetched: lambda ev, inc, site: {"fetched": inc.fetched | {ev.data.person_id}},
    e.ExceptionOpened: lambda ev, inc, site: {
        "cases": {**inc.cases, ev.data.case_id: ev.data.person_id}},
    e.ExceptionResolved: _resolved,
    e.ReunificationPointSet: lambda ev, inc, site: {"point": ev.data.place},
}
