"""How the reunification desk's events change intake's open incident (`site_state.Incident`):
the cards handed out, the approvals a check gives and a flagged check takes back, the students
fetched, the exception cases and a case resolved into a guardian's arms (a release).

Each fold returns the incident's changed fields; `site_state` applies them. Pure.

An approval is kept one of two ways: a check on a card approves that card alone (card -> the
checked guardian and the students), which a fetch or release must then name; a check without a
card approves the guardian's folded name, which a fetch or release without a card is held to.
A flagged check of a name takes back that name's approval and every card approved under it: a
second "Anne Byron" who fails the ID check does not ride on the first one's approval.
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
    if d.flags:  # revoked: nobody leaves with this name, on any card checked for it, till checked
        return {"approved": {k: v for k, v in inc.approved.items() if k != key},
                "approved_cards": {k: v for k, v in inc.approved_cards.items()
                                   if k != d.card and names.folded(v[0]) != key}}
    if not d.approved:
        return {}
    if not d.card:  # a card's approval is the card's alone: never a pass for the name
        return {"approved": {**inc.approved,
                             key: inc.approved.get(key, frozenset()) | set(d.approved)}}
    greeted = inc.arrivals.get(d.card)
    if greeted is not None and not names.same(greeted, d.guardian):
        return {}
    was = inc.approved_cards.get(d.card)
    prior = was[1] if was is not None and names.same(was[0], d.guardian) else frozenset()
    return {"approved_cards": {**inc.approved_cards, d.card: (d.guardian, prior | set(d.approved))}}


def carded(inc: Any, guardian: str, person_id: str) -> bool:
    """Whether a card checked for this guardian (folded name) approves this student."""
    key = names.folded(guardian)
    return any(names.folded(who) == key and person_id in students
               for who, students in inc.approved_cards.values())


def approved(inc: Any, guardian: str, person_id: str) -> bool:
    """Whether an ID-verified check approved this guardian for this student, by name or card."""
    return person_id in inc.approved.get(names.folded(guardian), frozenset()) or \
        carded(inc, guardian, person_id)


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
