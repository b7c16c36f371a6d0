"""Reunification's rules: check-in at the assembly area, the greeter's queue, the guardian
check, the reunifier's fetch, the controlled release, the reunification point and opening
reunification early; the decisions `decide` hands these commands to. The exceptions track's
rules are in `exception_rules`.
"""

from collections.abc import Sequence

from command.domain import accounting, desk_state, names
from command.domain import commands as c
from command.domain import events as e
from command.domain.errors import Conflict, Invalid
from command.domain.site import Site
from command.domain.site_state import (
    Ctx,
    Draft,
    Incident,
    SiteState,
    incident_of,
    known_person,
    site_of,
)


def check_in(state: SiteState, cmd: c.CheckIn, ctx: Ctx) -> list[Draft]:
    inc = incident_of(state, ctx.incident_id)
    known_person(state, cmd.person_id, "$.person_id")
    if cmd.person_id not in state.students:
        raise Conflict("only students check in at the assembly area", field="$.person_id")
    if cmd.person_id in inc.released:
        raise Conflict("this student has already been released", field="$.person_id")
    if cmd.person_id in inc.checked_in:
        raise Conflict("this student is already checked in", field="$.person_id")
    data = e.StudentCheckedInData(person_id=cmd.person_id, area=cmd.area)
    return [(e.StudentCheckedIn, data, inc.id, inc.mode)]


def _students(state: SiteState, students: list[str]) -> None:
    if not students:
        raise Invalid("students must name at least one student", field="$.students")
    for i, pid in enumerate(students):
        known_person(state, pid, f"$.students[{i}]")
        if pid not in state.students:
            raise Conflict(f"{pid!r} is not a student", field=f"$.students[{i}]")


def greet(state: SiteState, cmd: c.GreetGuardian, ctx: Ctx) -> list[Draft]:
    """SRM's greeter: an adult joins the queue with a card naming the students they came for."""
    inc = incident_of(state, ctx.incident_id)
    _students(state, cmd.students)
    if cmd.card and cmd.card in inc.arrivals:
        raise Conflict(f"card {cmd.card!r} is already given to {inc.arrivals[cmd.card]}",
                       field="$.card")
    data = e.GuardianArrivedData(guardian=cmd.guardian, students=cmd.students, card=cmd.card)
    return [(e.GuardianArrived, data, inc.id, inc.mode)]


def on_exceptions_track(inc: Incident, person_id: str) -> bool:
    """Whether the student has an exception case, open or resolved: never the general queue's."""
    return person_id in inc.cases.values()


def guardian_flags(site: Site, guardian: str, verified: bool, students: list[str]) -> list[str]:
    """Why a guardian may not take each student; empty where every student may go with them."""
    people = {p.id: p for p in site.people}
    flags = [] if verified else ["id not verified"]
    for pid in students:
        person = people[pid]
        if names.among(guardian, person.restricted):
            flags.append(f"{pid}: custody restriction")
        elif not names.among(guardian, person.guardians):
            flags.append(f"{pid}: guardian not listed")
    return flags


def check_guardian(state: SiteState, cmd: c.CheckGuardian, ctx: Ctx) -> list[Draft]:
    inc = incident_of(state, ctx.incident_id)
    _students(state, cmd.students)
    if cmd.card:  # the card in the adult's hand is the greeter's to that adult, no other
        greeted = inc.arrivals.get(cmd.card)
        if greeted is None:
            raise Conflict(f"card {cmd.card!r} was never handed out by the greeter; greet the "
                           "guardian first, or check them without a card", field="$.card")
        if not names.same(greeted, cmd.guardian):
            raise Conflict(f"card {cmd.card!r} was given to {greeted}, not to this guardian",
                           field="$.card")
    flags = guardian_flags(site_of(state), cmd.guardian, cmd.id_verified, cmd.students)
    approved = [] if flags else list(cmd.students)
    data = e.GuardianCheckedInData(
        guardian=cmd.guardian, id_verified=cmd.id_verified, students=cmd.students,
        approved=approved, flags=flags, card=cmd.card,
    )
    return [(e.GuardianCheckedIn, data, inc.id, inc.mode)]


def refused_though_written(events: Sequence[e.Envelope]) -> Conflict | None:
    """The refusal a command is answered with although its events are written, or None. A
    guardian check that raised a flag is recorded, so the board shows it and no release follows,
    and answered 409, so whoever checks the guardian at the gate stops."""
    for ev in events:
        if isinstance(ev, e.GuardianCheckedIn) and ev.data.flags:
            return Conflict("guardian check flagged: " + "; ".join(ev.data.flags), "$.guardian")
    return None


def _releasable(state: SiteState, inc: Incident, person_id: str) -> None:
    """Why the general queue may not hand this student over (yet), raised; else nothing."""
    known_person(state, person_id, "$.person_id")
    if person_id in inc.released:
        raise Conflict("this student has already been released", field="$.person_id")
    if on_exceptions_track(inc, person_id):
        raise Conflict("this student is handled on the exceptions track", field="$.person_id")
    if person_id not in inc.checked_in:
        raise Conflict("the student has not checked in at the assembly area", "$.person_id")


def _approved(inc: Incident, person_id: str, guardian: str, card: str) -> None:
    """Raised unless a check approved this guardian for this student: on this card when one is
    named (its checked guardian must be this one), else by the guardian's name from a check
    without a card (approved only on a card: 409 asking for the card)."""
    if not card:
        if person_id in inc.approved.get(names.folded(guardian), frozenset()):
            return
        if desk_state.carded(inc, guardian, person_id):  # a card's approval is no name's
            raise Conflict("give the card this guardian was checked on", "$.card")
        raise Conflict("this guardian was not checked and approved for this student",
                       "$.guardian")
    checked = inc.approved_cards.get(card)
    if checked is None or person_id not in checked[1]:
        raise Conflict(f"card {card!r} was not checked and approved for this student", "$.card")
    if not names.same(checked[0], guardian):
        raise Conflict(f"card {card!r} was checked for another adult, not this guardian",
                       "$.guardian")


def fetch(state: SiteState, cmd: c.FetchStudent, ctx: Ctx) -> list[Draft]:
    """SRM's reunifier brings the student from the assembly area to a checked guardian."""
    inc = incident_of(state, ctx.incident_id)
    _releasable(state, inc, cmd.person_id)
    if cmd.person_id in inc.fetched:
        raise Conflict("this student has already been fetched", field="$.person_id")
    _approved(inc, cmd.person_id, cmd.guardian, cmd.card)
    if guardian_flags(site_of(state), cmd.guardian, True, [cmd.person_id]):
        raise Conflict("this guardian may no longer take this student", "$.guardian")
    data = e.StudentFetchedData(person_id=cmd.person_id, guardian=cmd.guardian, card=cmd.card)
    return [(e.StudentFetched, data, inc.id, inc.mode)]


def release(state: SiteState, cmd: c.Release, ctx: Ctx) -> list[Draft]:
    inc = incident_of(state, ctx.incident_id)
    _releasable(state, inc, cmd.person_id)
    left = accounting.unknown(inc.ledger)
    if left and not inc.reunification_open:  # SRM: nobody goes home while anyone is unaccounted
        raise Conflict(f"accounting is not complete: {left} people not yet accounted for; a "
                       "commander may open reunification early, with a reason", "$.person_id")
    _approved(inc, cmd.person_id, cmd.guardian, cmd.card)
    # A custody order imported after the guardian check must still stop the release.
    if guardian_flags(site_of(state), cmd.guardian, True, [cmd.person_id]):
        raise Conflict("this guardian may no longer take this student", "$.guardian")
    if not cmd.student_consents:
        raise Conflict("the student's consent to leave with this adult is needed",
                       "$.student_consents")
    data = e.StudentReleasedData(
        person_id=cmd.person_id, guardian=cmd.guardian, student_consents=True, card=cmd.card,
    )
    return [(e.StudentReleased, data, inc.id, inc.mode)]


def open_reunification(state: SiteState, cmd: c.OpenReunification, ctx: Ctx) -> list[Draft]:
    inc = incident_of(state, ctx.incident_id)
    if not cmd.reason.strip():
        raise Invalid("say why reunification opens before accounting is complete", "$.reason")
    if inc.reunification_open:
        raise Conflict("reunification is already open for this incident")
    data = e.ReunificationOpenedData(reason=cmd.reason)
    return [(e.ReunificationOpened, data, inc.id, inc.mode)]


def set_point(state: SiteState, cmd: c.SetReunificationPoint, ctx: Ctx) -> list[Draft]:
    """Where guardians collect students: a place of the site file by id, else as written."""
    inc = incident_of(state, ctx.incident_id)
    if not cmd.place.strip():
        raise Invalid("name the reunification point", field="$.place")
    place = next((p for p in site_of(state).evacuation_sites if p.id == cmd.place), None)
    data = e.ReunificationPointSetData(place=cmd.place) if place is None else \
        e.ReunificationPointSetData(place=place.name, place_id=place.id, address=place.address)
    return [(e.ReunificationPointSet, data, inc.id, inc.mode)]


def point_of(state: SiteState, inc: Incident) -> str | None:
    """The reunification point's name: the one set, else the evacuation site in force when it
    is a reunification point, else None (nobody knows yet where guardians go)."""
    if inc.point:
        return inc.point
    place = next((p for p in site_of(state).evacuation_sites if p.id == inc.evacuation_site),
                 None)
    return place.name if place is not None and place.kind == "reunification" else None
