"""The guardian messenger's fold (`consumers/guardian_messenger.py`): a request becomes a job
with the plan of the config as it was; a batch recorded is done; a replay's or tabletop's
request, or one in a mode the site does not send in, is no job; and a replay's site file
carries no [guardian_messages] at all."""

from datetime import UTC, datetime
from typing import Any

from msgspec.structs import replace

from command.domain import events as e
from command.domain.site import GuardianContact, GuardianMessages
from consumers.guardian_messenger import GuardianMessenger
from consumers.replay import rewrite
from tests.conftest import small_site

AT = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
TEXT = "Reunification for Test High is at the church; bring photo ID"


def site() -> Any:
    people = [replace(p, contacts=[GuardianContact(name=p.guardians[0], phone=f"+1555{i}")])
              if p.guardians else p for i, p in enumerate(small_site().people)]
    return replace(small_site(), people=people,
                   guardian_messages=GuardianMessages(sms="json://x/{phone}", batch=4))


def ev(cls: type[e.Envelope], data: object, eid: str, mode: str = "live",
       incident: str | None = "inc-1") -> Any:
    return cls(id=eid, site="test-high", incident_id=incident, mode=mode, occurred_at=AT,
               recorded_at=AT, data=data)  # type: ignore[call-arg]


def folded(*events: Any) -> GuardianMessenger:
    messenger = GuardianMessenger(None, None, None)  # type: ignore[arg-type]
    for seq, event in enumerate([ev(e.SiteConfigured, site(), "c-1", incident=None),
                                 ev(e.IncidentOpened, e.IncidentOpenedData(kind="fire"), "o-1"),
                                 *events], 1):
        messenger.fold(seq, event)
    return messenger


def asked(eid: str = "r-1", mode: str = "live") -> Any:
    return ev(e.GuardianMessagesRequested, e.GuardianMessagesRequestedData(
        place="the church", text=TEXT), eid, mode)


def sent(batch: int, request: str = "r-1") -> Any:
    return ev(e.GuardianMessagesSent, e.GuardianMessagesSentData(request_id=request,
                                                                 batch=batch, sent=4), f"s-{batch}")


def test_a_request_is_a_job_and_recorded_batches_are_done() -> None:
    messenger = folded(asked(), sent(1))
    job = messenger.jobs["r-1"]
    assert [len(b) for b in job.plan.batches] == [4, 2] and job.done == {1}


def test_a_replay_tabletop_or_unasked_mode_is_no_job() -> None:
    assert folded(asked(mode="replay")).jobs == {}
    assert folded(asked(mode="tabletop")).jobs == {}
    assert folded(asked(mode="drill")).jobs == {}  # the site sends in live only


def test_a_replays_site_file_has_no_guardian_messages() -> None:
    copied = rewrite(ev(e.SiteConfigured, site(), "c-1", incident=None), "replay-inc-1",
                     "replay-run-inc-1", "run", AT)
    assert copied.data.guardian_messages is None  # type: ignore[attr-defined]


def test_a_restriction_imported_after_the_request_stops_the_batches_still_to_go() -> None:
    """A custody order imported mid-incident, after the request (or before a restart, when the
    fold meets it after the request): the batches not yet sent leave the adult out, as skipped."""
    s1 = next(p for p in site().people if p.id == "s-1")
    anne = s1.contacts[0]
    barred = replace(s1, guardians=[], restricted=[*s1.restricted, "Anne Byron"])
    change = ev(e.RosterChanged, e.RosterChangedData(changed=[barred], source="oneroster"),
                "rc-1", incident=None)
    for messenger in (folded(asked(), change), folded(asked(), sent(2), change)):
        job = messenger.jobs["r-1"]
        first = job.plan.batches[0]
        assert any(anne.phone.lstrip("+") in u for u in first)  # planned before the order
        kept = messenger.still(job, first)
        assert len(kept) == len(first) - 1 and not [u for u in kept if anne.phone[1:] in u]
        assert messenger.still(job, job.plan.batches[1]) == job.plan.batches[1]
