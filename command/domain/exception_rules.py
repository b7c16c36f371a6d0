"""SRM's exceptions track: a student who is injured, taken to hospital, missing, or asked for by
an adult nobody listed leaves the general queue for a counsellor's or administrator's care, and
is never released by a reunifier (`reunification_rules.release` refuses them). A case is opened
by staff or a commander and resolved by a commander alone, who may hand the student only to a
listed guardian, never to a restricted adult, and, as in any release, only once accounting is
complete (or reunification opened early) and the adult's ID was checked and approved at the desk.
"""

import hashlib

from command.domain import accounting, desk_state, names
from command.domain import commands as c
from command.domain import events as e
from command.domain.errors import Conflict, Invalid, NotFound
from command.domain.site_state import (
    Ctx,
    Draft,
    Incident,
    SiteState,
    incident_of,
    known_person,
    site_of,
)

# What a case of each kind must say: where the student was taken, or who came for them.
REQUIRED = {"hospital": "hospital", "unlisted_adult": "adult"}


def case_id(incident_id: str, n: int) -> str:
    """The n-th case of an incident's id: deterministic, so a replayed decision agrees."""
    return "x-" + hashlib.sha256(f"{incident_id}/{n}".encode()).hexdigest()[:8]


def open_exception(state: SiteState, cmd: c.OpenException, ctx: Ctx) -> list[Draft]:
    inc = incident_of(state, ctx.incident_id)
    known_person(state, cmd.person_id, "$.person_id")
    if cmd.person_id not in state.students:
        raise Conflict("only students are taken onto the exceptions track", "$.person_id")
    if cmd.person_id in inc.released:
        raise Conflict("this student has already been released", field="$.person_id")
    if not cmd.assigned_to.strip():
        raise Invalid("name the counsellor or administrator the case is assigned to",
                      field="$.assigned_to")
    need = REQUIRED.get(cmd.kind)
    if need is not None and not getattr(cmd, need).strip():
        raise Invalid(f"a case of kind {cmd.kind} needs `{need}`", field=f"$.{need}")
    open_cases = [cid for cid, pid in inc.cases.items()
                  if pid == cmd.person_id and cid not in inc.resolved_cases]
    if open_cases:
        raise Conflict(f"this student already has an open case, {open_cases[0]}; resolve it "
                       "first", field="$.person_id")
    data = e.ExceptionOpenedData(
        case_id=case_id(inc.id, len(inc.cases) + 1), person_id=cmd.person_id, kind=cmd.kind,
        assigned_to=cmd.assigned_to, assigned_role=cmd.assigned_role,
        hospital=cmd.hospital if cmd.kind == "hospital" else "",
        adult=cmd.adult if cmd.kind == "unlisted_adult" else "", note=cmd.note)
    return [(e.ExceptionOpened, data, inc.id, inc.mode)]


def _release_gates(inc: Incident, person_id: str, adult: str, seen: bool) -> None:
    """A case resolved into an adult's care is a release: it passes the release's gates."""
    left = accounting.unknown(inc.ledger)
    if left and not inc.reunification_open:  # the same words as reunification_rules.release
        raise Conflict(f"accounting is not complete: {left} people not yet accounted for; a "
                       "commander may open reunification early, with a reason", "$.released_to")
    # The ID is seen where the case ends (a hospital) or was checked at the desk before.
    if not seen and not desk_state.approved(inc, adult, person_id):
        raise Conflict("check the adult's photo ID first (id_verified), or at the desk: this "
                       "adult has no ID-verified approval for this student", "$.released_to")


def resolve_exception(state: SiteState, cmd: c.ResolveException, ctx: Ctx) -> list[Draft]:
    inc = incident_of(state, ctx.incident_id)
    if not ctx.commander:  # the route admits commanders only; the rule stands without it
        raise Conflict("only a commander resolves an exception case")
    person_id = inc.cases.get(cmd.case_id)
    if person_id is None:
        raise NotFound(f"unknown case {cmd.case_id!r}", field="$.case_id")
    if cmd.case_id in inc.resolved_cases:
        raise Conflict("this case is already resolved", field="$.case_id")
    if not cmd.outcome.strip():
        raise Invalid("say how the case ended", field="$.outcome")
    if cmd.released_to is not None:
        person = next((p for p in site_of(state).people if p.id == person_id), None)
        if person is None:  # an import took them off: nobody can say who may take them
            raise Conflict("this student is no longer on the roster", field="$.case_id")
        if names.among(cmd.released_to, person.restricted):
            raise Conflict("a custody restriction forbids this adult", field="$.released_to")
        if not names.among(cmd.released_to, person.guardians):
            raise Conflict("the student goes home only with a listed guardian",
                           field="$.released_to")
        _release_gates(inc, person_id, cmd.released_to, cmd.id_verified)
    data = e.ExceptionResolvedData(case_id=cmd.case_id, outcome=cmd.outcome,
                                   released_to=cmd.released_to,
                                   id_verified=cmd.id_verified and cmd.released_to is not None)
    return [(e.ExceptionResolved, data, inc.id, inc.mode)]
