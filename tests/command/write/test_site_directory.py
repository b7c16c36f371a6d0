"""The site directory folds each event once, whether written here or read back, knows each
incident's site, and answers a retried command with its first answer."""

import uuid

from command.domain import events as e
from command.write.answers import Accepted, Answers
from command.write.site_directory import SiteDirectory
from tests.conftest import small_site

SITE = "test-high"
CID = str(uuid.uuid4())


def opened() -> list[e.Envelope]:
    """A press's events, with the ids intake derives from its client_event_id."""
    first, alert = e.client_event_ids(CID, 2)
    at = e.now()
    return [
        e.IncidentOpened(id=first, site=SITE, incident_id="inc-1", occurred_at=at,
                         recorded_at=at, data=e.IncidentOpenedData(kind="hold", room="GYM")),
        e.AlertRaised(id=alert, site=SITE, incident_id="inc-1", occurred_at=at, recorded_at=at,
                      data=e.AlertRaisedData(kind="hold", room="GYM", action="hold")),
    ]


def directory() -> SiteDirectory:
    sites = SiteDirectory(Answers())
    sites.apply(1, e.SiteConfigured(id="cfg", site=SITE, occurred_at=e.now(),
                                    recorded_at=e.now(), data=small_site()))
    return sites


def test_an_event_is_folded_once_and_names_its_incidents_site() -> None:
    sites = directory()
    for seq, event in enumerate(opened(), 2):
        sites.apply(seq, event)
    folded = sites.state(SITE)
    assert folded.seq == 3 and set(folded.open) == {"live"}
    assert sites.site_of("inc-1") == SITE and sites.site_of("inc-2") is None
    sites.apply(3, opened()[1])  # read back after this replica wrote it
    assert sites.state(SITE) is folded and sites.applied == 3


def test_a_retry_gets_the_first_answer_naming_the_alert() -> None:
    sites = directory()
    for seq, event in enumerate(opened(), 2):
        sites.apply(seq, event)
    assert sites.answers.again(CID) == Accepted("inc-1", opened()[1].id, 3, duplicate=True)


def test_an_event_this_version_cannot_read_still_moves_its_site_on() -> None:
    sites = directory()
    sites.skip(7, SITE)
    assert sites.state(SITE).seq == 7 and sites.state(SITE).site is not None
    assert sites.applied == 7 and sites.state("elsewhere").seq == 0
