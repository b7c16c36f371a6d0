"""A roster import's diff (`command/domain/roster_diff.py`): added, changed and removed people,
nothing for the same roster, parts of a bounded size, and a diff applied to a site file."""

from msgspec.structs import replace

from command.domain.roster_diff import (
    Diff,
    applied,
    counts,
    diff,
    dropped,
    kept,
    kept_for,
    moves,
    parts,
    restrictions,
)
from command.domain.site import AwayEvent, Bus, GuardianContact, Person
from tests.conftest import small_site

PEOPLE = small_site().people


def test_the_same_roster_in_any_order_is_no_change() -> None:
    assert not diff(PEOPLE, list(reversed(PEOPLE)))
    assert diff(PEOPLE, PEOPLE) == Diff()


def test_each_kind_of_change_is_a_changed_person() -> None:
    moved = replace(PEOPLE[0], room="A-101")
    guarded = replace(PEOPLE[1], guardians=["Sara Turing", "Ethel Turing"])
    barred = replace(PEOPLE[2], restricted=["Someone Else"])
    reached = replace(PEOPLE[3], contacts=[GuardianContact(name="Brechtje Kluijver",
                                                           phone="+15550104")])
    renamed, regraded = replace(PEOPLE[4], name="Barbara H. Liskov"), replace(PEOPLE[5], grade="12")
    now = [moved, guarded, barred, reached, renamed, regraded, *PEOPLE[6:]]
    found = diff(PEOPLE, now)
    assert found.changed == now[:6] and found.added == [] and found.removed == []


def test_added_and_removed() -> None:
    new = Person(id="s-7", name="Frances Allen", room="GYM")
    found = diff(PEOPLE, [*PEOPLE[1:], new])
    assert (found.added, found.changed, found.removed) == ([new], [], ["s-1"])


def test_parts_split_at_the_size_and_number_themselves() -> None:
    many = [Person(id=f"n-{i}", name=f"N {i}") for i in range(4)]
    chunks = parts(Diff(added=many[:3], changed=many[3:], removed=["s-1", "s-2"]), "oneroster",
                   size=2)
    assert [(p.part, p.parts, p.source) for p in chunks] == [
        (1, 3, "oneroster"), (2, 3, "oneroster"), (3, 3, "oneroster")]
    assert [(c["added"], c["changed"], c["removed"]) for c in map(counts, chunks)] == [
        (2, 0, 0), (1, 1, 0), (0, 0, 2)]
    assert chunks[2].removed == ["s-1", "s-2"] and parts(Diff(), "oneroster") == []


def test_applied_keeps_order_replaces_in_place_and_appends() -> None:
    site = small_site()
    new = Person(id="s-7", name="Frances Allen")
    moved = replace(PEOPLE[1], room="GYM")
    now = [moved if p.id == "s-2" else p for p in [*PEOPLE, new] if p.id != "s-3"]
    (change,) = parts(diff(PEOPLE, now), "oneroster")
    after = applied(site, change)
    assert [p.id for p in after.people] == ["s-1", "s-2", "s-4", "s-5", "s-6", "t-1", "t-2",
                                            "s-7"]
    assert after.people[1].room == "GYM" and after.rooms == site.rooms
    assert site.people == PEOPLE  # a new Site object; the old one is untouched


def test_a_removed_person_leaves_buses_and_away_events_and_says_so() -> None:
    site = replace(small_site(), buses=[Bus(id="bus-7", name="Route 7", riders=["s-5", "s-1"]),
                                        Bus(id="bus-9", name="Route 9", riders=["s-2"])],
                   away_events=[AwayEvent(id="trip", name="Trip", people=["s-6", "s-5"])])
    (change,) = parts(diff(PEOPLE, [p for p in PEOPLE if p.id not in ("s-5", "s-6")]),
                      "oneroster")
    after = applied(site, change)
    assert [b.riders for b in after.buses] == [["s-1"], ["s-2"]]
    assert after.away_events[0].people == []
    assert after.buses[1] is site.buses[1]  # untouched units stay the same objects
    assert dropped(site, change.removed) == ["bus-7: riders s-5 removed",
                                             "trip: people s-6, s-5 removed"]


def test_kept_restrictions_bar_the_adult_from_guardians_and_contacts() -> None:
    ada = PEOPLE[0]  # restricted: Lord Byron
    synced = replace(ada, restricted=[], guardians=["Anne Byron", "lord byron"], contacts=[
        GuardianContact(name="Anne Byron"), GuardianContact(name="LORD BYRON", phone="+1555")])
    new = Person(id="s-9", name="New Pupil", restricted=["Someone"])
    out = kept(PEOPLE, [synced, new])
    assert (out[0].restricted, out[0].guardians, [c.name for c in out[0].contacts]) == (
        ["Lord Byron"], ["Anne Byron"], ["Anne Byron"])
    assert out[1] == new


def test_restriction_counts_and_what_moves_people() -> None:
    barred = replace(PEOPLE[1], restricted=["Someone"])
    lifted = replace(PEOPLE[0], restricted=["LORD  BYRON", "Other"])  # folded: one kept
    found = diff(PEOPLE, [lifted, barred, *PEOPLE[2:]])
    assert restrictions(PEOPLE, found) == (2, 0)
    assert restrictions(PEOPLE, diff(PEOPLE, [replace(PEOPLE[0], restricted=[]),
                                              *PEOPLE[1:]])) == (0, 1)
    assert not moves(PEOPLE, found)  # restrictions move nobody
    assert moves(PEOPLE, diff(PEOPLE, [replace(PEOPLE[0], room="GYM"), *PEOPLE[1:]]))
    assert moves(PEOPLE, diff(PEOPLE, [replace(PEOPLE[6], kind="student"), *PEOPLE[:6],
                                       PEOPLE[7]]))
    assert moves(PEOPLE, diff(PEOPLE, PEOPLE[1:]))


def test_a_removed_persons_restrictions_are_kept_by_id_and_come_back_with_them() -> None:
    """One night's export without Ada (and without the restriction column) must not lift her
    custody order: the site keeps it by her id, and the night she is back she has it again."""
    site = small_site()
    assert kept_for(site, ["s-1", "s-2"]) == (1, ["s-1"])  # what the import answer reports
    gone = applied(site, parts(diff(PEOPLE, PEOPLE[1:]), "oneroster")[0])
    assert gone.custody == {"s-1": ["Lord Byron"]} and "s-1" not in {p.id for p in gone.people}
    sis = replace(PEOPLE[0], restricted=[], guardians=["Anne Byron", "Lord Byron"])
    back = kept(gone.people, [sis, *PEOPLE[1:]], gone.custody)
    assert (back[0].restricted, back[0].guardians) == (["Lord Byron"], ["Anne Byron"])
    found = diff(gone.people, back)
    assert restrictions(gone.people, found, gone.custody) == (0, 0)  # neither new nor lifted
    again = applied(gone, parts(found, "oneroster")[0])
    assert again.custody == {} and again.people[-1].restricted == ["Lord Byron"]
    # with the column, the export's cell is what counts: an empty cell lifts it, and says so
    lifted = diff(gone.people, [replace(PEOPLE[0], restricted=[]), *PEOPLE[1:]])
    assert restrictions(gone.people, lifted, gone.custody) == (0, 1)
    assert applied(gone, parts(lifted, "oneroster")[0]).custody == {}
