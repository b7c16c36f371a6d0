"""The report's reunification section (`command/domain/report_reunification.py`): a fire's SRM
desk, scripted through the real `decide`, folded into guardian waits, release times, counts per
point and exception cases by kind, rendered in JSON, Markdown and HTML without a name."""

import json
from typing import Any

import msgspec
import pytest

from command.domain import commands as c
from command.domain import events as e
from command.domain import report, report_render
from command.domain.redact import event_view
from command.domain.site import EvacuationSite
from tests.command.domain.test_site_state import (
    COMMANDER,
    LIVE,
    STAFF,
    configured,
    ctx,
    given,
    press,
    run,
    site,
)

PLACES = [EvacuationSite(id="church", name="St Paul's Church", kind="reunification")]
NAMES = ("Ada", "Alan", "Grace", "Anne Byron", "Sara Turing", "Mary Murray", "St Mary",
         "Ms Nurse", "taken by ambulance")


def at(seconds: float, actor: e.Actor = STAFF) -> Any:
    return ctx(actor, at=seconds, incident=LIVE)


def walk(pid: str, guardian: str, card: str, arrives: float, released: float,
         ) -> list[tuple[c.Command, Any]]:
    """A guardian greeted at `arrives`, checked, the student fetched and released at `released`."""
    return [(c.GreetGuardian(guardian=guardian, students=[pid], card=card), at(arrives)),
            (c.CheckGuardian(guardian=guardian, id_verified=True, students=[pid], card=card),
             at(arrives + 5)),
            (c.FetchStudent(person_id=pid, guardian=guardian, card=card), at(released - 5)),
            (c.Release(person_id=pid, guardian=guardian, student_consents=True, card=card),
             at(released))]


def fire(view: report.View | None = None, role: str | None = "commander") -> report.Report:
    """Evacuated to the church at +10 s; everyone accounted for; Ada's mother waits 60 s, then the
    point moves to the town hall, where Alan's mother waits 100 s and Grace's is still waiting;
    Edsger is taken to hospital, his case resolved into his guardian's care at +400 s, her ID
    checked at the desk at +390 s (a case's release passes the release's gates)."""
    cfg = configured(site(evacuation_sites=PLACES))
    everyone = c.AccountPersons(entries=[e.AccountingEntry(person_id=p.id, status="accounted")
                                         for p in site().people])
    steps = [(c.DeclareProtocol(action="evacuate", evacuate_to="church"), at(10, COMMANDER)),
             (everyone, at(20)),
             *[(c.CheckIn(person_id=p), at(30)) for p in ("s-1", "s-2", "s-3", "s-4")],
             *walk("s-1", "Anne Byron", "1", 100, 160),
             (c.SetReunificationPoint(place="the town hall"), at(200, COMMANDER)),
             *walk("s-2", "Sara Turing", "2", 210, 310),
             (c.GreetGuardian(guardian="Mary Murray", students=["s-3"], card="3"), at(320)),
             (c.OpenException(person_id="s-4", kind="hospital", assigned_to="Ms Nurse",
                              hospital="St Mary's", note="taken by ambulance"), at(330)),
             (c.OpenException(person_id="s-5", kind="missing", assigned_to="Mr Head",
                              assigned_role="administrator"), at(340)),
             (c.CheckGuardian(guardian="Brechtje Kluijver", id_verified=True, students=["s-4"]),
              at(390))]
    state, written = run(given(cfg), (press("fire"), ctx()), *steps)
    case = next(ev.data.case_id for ev in written if isinstance(ev, e.ExceptionOpened))
    written += run(state, (c.ResolveException(case_id=case, outcome="discharged",
                                              released_to="Brechtje Kluijver"),
                           at(400, COMMANDER)))[1]
    return report.build(list(enumerate([cfg, *written], start=1)), cfg.data, view=view,
                        role=role)


def test_the_section_gives_release_times_and_guardian_waits() -> None:
    r = fire().reunification
    assert r is not None
    # Edsger's guardian, checked at +390 s for his case, is in the queue, off it with his case.
    assert (r.checked_in, r.guardians, r.released, r.still_waiting) == (4, 4, 2, 1)
    assert (r.first_arrival_s, r.first_release_s, r.last_release_s) == (100, 160, 310)
    # Waits: Anne 60 s, Sara 100 s, Mary 80 s and counting at the last event (+400 s).
    assert (r.median_wait_s, r.longest_wait_s) == (80, 100)


def test_counts_per_point_follow_the_point_in_force() -> None:
    r = fire().reunification
    assert r is not None
    assert [(p.place, p.arrivals, p.released) for p in r.points] == [
        ("St Paul's Church", 1, 1), ("the town hall", 3, 1)]  # Edsger's mother checked at 390


def test_exceptions_by_kind_with_times_and_no_details() -> None:
    r = fire().reunification
    assert r is not None
    assert r.exceptions == {"hospital": 1, "missing": 1}
    assert [(x.kind, x.assigned_role, x.opened_s, x.resolved_s, x.released) for x in r.cases] == [
        ("hospital", "counsellor", 330, 400, True), ("missing", "administrator", 340, None, False)]


def test_every_rendering_shows_the_section_and_names_nobody() -> None:
    built = fire()
    section = json.dumps(msgspec.to_builtins(built.reunification))
    md = report_render.to_markdown(built)
    page = report_render.to_html(built)
    assert "## Reunification" in md and "<h2>Reunification</h2>" in page
    assert "Median guardian wait" in md and "the town hall" in page
    assert all(name not in section for name in NAMES)
    sections = md.split("## Reunification")[1].split("## Counts")[0]
    assert all(name not in sections for name in NAMES)


def test_an_incident_without_the_desk_has_no_section() -> None:
    cfg = configured()
    events = [cfg, *run(given(cfg), (press("lockdown"), ctx()))[1]]
    built = report.build(list(enumerate(events, start=1)), None)
    assert built.reunification is None
    assert "Reunification" not in report_render.to_markdown(built)


def test_the_timeline_says_each_desk_step_and_a_responder_reads_no_name() -> None:
    whole: dict[str, str] = {}
    for x in fire().timeline:
        whole.setdefault(x.type, x.text)  # each type's first
    assert whole["GuardianArrived"] == "guardian Anne Byron arrived for s-1 (card 1)"
    assert whole["StudentFetched"] == "s-1 fetched for Anne Byron"
    assert whole["ReunificationPointSet"] == "reunification point: the town hall"
    opened = whole["ExceptionOpened"]
    assert opened.startswith("s-4 to the exceptions track: hospital, case x-")
    assert opened.endswith(" (counsellor)")
    seen = fire(lambda doc: event_view(doc, "responder")).timeline
    texts = " ".join(x.text for x in seen)
    assert "exceptions-track case x-" in texts and "resolved" in texts
    assert "to the exceptions track" not in texts and "hospital" not in texts  # a case, no more
    assert all(name not in texts for name in NAMES)


@pytest.mark.parametrize("role", ["responder", "dispatch", "device", None])
def test_a_reader_without_the_roster_reads_the_number_of_cases_only(role: str | None) -> None:
    """Which cases, of what kind, and whether each went home are the counsellor's: a responder's
    report, in JSON, Markdown and HTML alike, says only that there were 2 (reviewer 2, #3)."""
    built = fire(lambda doc: event_view(doc, role or "device"), role)
    r = built.reunification
    assert r is not None
    assert (r.exceptions, r.cases, r.exception_cases) == ({}, [], 2)
    section = json.dumps(msgspec.to_builtins(r))
    md = report_render.to_markdown(built)
    page = report_render.to_html(built)
    for text in (section, md, page):
        assert all(kind not in text for kind in ("hospital", "missing", "administrator",
                                                 "went home with a guardian"))
    assert "- **Exceptions:** 2 cases" in md and "<dd>2 cases</dd>" in page
    assert r.released == fire().reunification.released  # type: ignore[union-attr]


def test_staff_and_commanders_read_the_cases_by_kind() -> None:
    for role in ("staff", "commander"):
        r = fire(role=role).reunification
        assert r is not None and r.exceptions == {"hospital": 1, "missing": 1}
        assert len(r.cases) == r.exception_cases == 2
