"""What a projector batch keeps as a site's config (`consumers/projection_batch.py`): any event
that gives the board a new config (a site file, a roster import) is the site's file and a
version of it; a multi-part import is one version, at its last part; an event that leaves the
config alone is neither."""

from datetime import UTC, datetime

from command.domain import events as e
from command.domain.roster_diff import applied, diff, parts
from command.domain.site import Person
from consumers.projection_batch import Batch
from tests.conftest import small_site

SITE = small_site()
AT = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)


def envelope(cls: type[e.Envelope], data: object, n: int, incident: str | None = None,
             ) -> e.Envelope:
    return cls(id=f"ev-{n}", site="test-high", incident_id=incident, occurred_at=AT,
               recorded_at=AT, data=data)  # type: ignore[call-arg]


def test_a_roster_import_is_the_sites_file_and_one_version() -> None:
    people = [Person(id=f"n-{i}", name=f"N {i}", room="GYM") for i in range(5)]
    chunks = parts(diff(SITE.people, people), "oneroster", size=4)
    assert len(chunks) == 4  # 5 added, 8 removed
    batch = Batch({})
    batch.add(1, envelope(e.SiteConfigured, SITE, 1))
    for n, chunk in enumerate(chunks, 2):
        batch.add(n, envelope(e.RosterChanged, chunk, n))
    batch.add(6, envelope(e.NoteAdded, e.NoteAddedData(text="no config"), 6, "inc-1"))
    seq, config = batch.configs["test-high"]
    assert seq == 5 and [p.id for p in config.people] == [p.id for p in people]
    assert [(s, [p.id for p in c.people] == [p.id for p in people])
            for _, s, c, _ in batch.versions] == [(1, False), (5, True)]
    expected = SITE
    for chunk in chunks:
        expected = applied(expected, chunk)
    assert config == expected
