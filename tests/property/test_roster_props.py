"""Properties of roster imports and guardian messages, over generated rosters:
- an import's RosterChanged parts, applied to the site, give exactly the imported roster, each
  part within the size bound, and importing the same roster again writes nothing;
- no guardian message ever goes to an adult restricted for any student, nor to one not listed
  as the student's guardian, and no address is messaged twice."""

from hypothesis import given, settings
from hypothesis import strategies as st
from msgspec.structs import replace

from command.domain.guardian_messages import plan
from command.domain.roster_diff import applied, diff, parts
from command.domain.site import GuardianContact, GuardianMessages, Person
from tests.conftest import small_site

SITE = small_site()
ROOMS = [None, *(r.id for r in SITE.rooms)]
ADULTS = ["Ann", "Bob", "Cy", "Di", "Ed"]
SETTINGS = GuardianMessages(sms="json://sink/sms/{phone}", email="json://sink/mail/{email}",
                            batch=3)


def phone(name: str) -> str:
    return f"+1555{ADULTS.index(name):04d}"


@st.composite
def person(draw: st.DrawFn, pid: str) -> Person:
    guardians = draw(st.lists(st.sampled_from(ADULTS), max_size=3, unique=True))
    restricted = draw(st.lists(st.sampled_from(ADULTS), max_size=2, unique=True))
    contacts = [GuardianContact(name=n, phone=draw(st.sampled_from(["", phone(n)])),
                                email=draw(st.sampled_from(["", f"{n}@example.org"])))
                for n in draw(st.lists(st.sampled_from(ADULTS), max_size=4, unique=True))]
    return Person(id=pid, name=draw(st.sampled_from(["A B", "C D"])),
                  kind=draw(st.sampled_from(["student", "student", "staff"])),
                  room=draw(st.sampled_from(ROOMS)), grade=draw(st.sampled_from([None, "09"])),
                  guardians=guardians, restricted=restricted, contacts=contacts)


@st.composite
def roster(draw: st.DrawFn) -> list[Person]:
    ids = draw(st.lists(st.sampled_from([f"p-{i}" for i in range(12)]), unique=True,
                        max_size=12))
    return [draw(person(pid)) for pid in ids]


@settings(max_examples=300, deadline=None)
@given(roster(), roster(), st.integers(1, 5))
def test_the_parts_applied_give_exactly_the_imported_roster(
        current: list[Person], imported: list[Person], size: int) -> None:
    site = replace(SITE, people=current)
    chunks = parts(diff(current, imported), "oneroster", size)
    for n, chunk in enumerate(chunks, 1):
        assert (chunk.part, chunk.parts) == (n, len(chunks))
        assert 0 < len(chunk.added) + len(chunk.changed) + len(chunk.removed) <= size
        site = applied(site, chunk)
    assert {p.id: p for p in site.people} == {p.id: p for p in imported}
    assert len(site.people) == len(imported)
    assert not diff(site.people, imported)  # the same roster again writes nothing
    assert (chunks == []) == ({p.id: p for p in current} == {p.id: p for p in imported})


@settings(max_examples=300, deadline=None)
@given(roster())
def test_never_a_restricted_or_unlisted_adult_and_each_address_once(people: list[Person]) -> None:
    site = replace(SITE, people=people, guardian_messages=SETTINGS)
    urls = [u for batch in plan(site).batches for u in batch]
    barred = {n for p in people for n in p.restricted}
    allowed = {n for p in people if p.kind == "student" for n in p.guardians} - barred
    reached = {n for n in ADULTS if any(phone(n) in u or f"/{n}%40" in u for u in urls)}
    assert reached <= allowed
    assert len(urls) == len(set(urls))
    assert all(len(b) <= SETTINGS.batch for b in plan(site).batches)
