"""Guardian messages (`command/domain/guardian_messages.py`): the decision and its exact words,
DRILL-labelled in a drill, its refusals; who is messaged (listed guardians with an address,
each address once, never a restricted adult) and in what batches."""

from msgspec.structs import replace

from command.domain import commands as c
from command.domain.guardian_messages import plan
from command.domain.site import (
    Bus,
    EvacuationSite,
    GuardianContact,
    GuardianMessages,
    Person,
    Site,
)
from tests.command.domain.test_site_state import (
    COMMANDER,
    DRILL,
    LIVE,
    configured,
    ctx,
    given,
    press,
    rejects,
    site,
    then,
)

SMS, EMAIL = "json://sink/sms/{phone}", "json://sink/email/{email}"
SETTINGS = GuardianMessages(sms=SMS, email=EMAIL, modes=["live", "drill"], batch=2)
PLACES = [EvacuationSite(id="st-marks", name="St. Mark's Church", kind="reunification")]


def contacted(**changes: object) -> Site:
    """The small site, with contacts: Ada's restricted father is listed as a contact too."""
    people = list(site().people)
    people[0] = replace(people[0], contacts=[
        GuardianContact(name="Anne Byron", phone="+15550101", email="anne@example.org"),
        GuardianContact(name="Lord Byron", phone="+15550199", email="lord@example.org")])
    people[1] = replace(people[1], contacts=[GuardianContact(name="Sara Turing",
                                                             email="sara@example.org")])
    people[2] = replace(people[2], contacts=[GuardianContact(name="Mary Murray")])  # no address
    # Alan's sibling shares his mother's address: one message reaches her
    people.append(Person(id="s-7", name="John Turing", room="A-101", guardians=["Sara Turing"],
                         contacts=[GuardianContact(name="Sara Turing", email="sara@example.org")]))
    given_ = {"people": people, "guardian_messages": SETTINGS, "evacuation_sites": PLACES}
    return site(**{**given_, **changes})


def asked(s: Site, place: str | None = "st-marks", drill: bool = False) -> list:
    state = then(given(configured(s)), press("fire", drill=drill), ctx(COMMANDER, new=DRILL
                                                                        if drill else LIVE))[0]
    return then(state, c.MessageGuardians(place=place),
                ctx(COMMANDER, at=60, incident=DRILL if drill else LIVE))[1]


def test_the_words_are_exact_and_name_the_place() -> None:
    (event,) = asked(contacted())
    assert event.data.text == "Reunification for Test High is at St. Mark's Church; bring photo ID"
    assert event.data.place == "St. Mark's Church"


def test_a_drill_is_labelled() -> None:
    (event,) = asked(contacted(), drill=True)
    assert event.data.text == ("DRILL — Reunification for Test High is at St. Mark's Church; "
                               "bring photo ID")
    assert event.mode == "drill"


def test_the_reunification_point_is_the_default_place() -> None:
    state = then(given(configured(contacted())), press("fire"), ctx(COMMANDER))[0]
    state = then(state, c.SetReunificationPoint(place="st-marks"),
                 ctx(COMMANDER, at=30, incident=LIVE))[0]
    (event,) = then(state, c.MessageGuardians(), ctx(COMMANDER, at=60, incident=LIVE))[1]
    assert event.data.place == "St. Mark's Church"


def test_refused_without_settings_in_another_mode_or_with_no_place() -> None:
    def refusal(s: Site, drill: bool = False) -> str:
        iid = DRILL if drill else LIVE
        state = then(given(configured(s)), press("fire", drill=drill), ctx(COMMANDER, new=iid))[0]
        return rejects(state, c.MessageGuardians(), ctx(COMMANDER, at=60, incident=iid)).code
    assert refusal(contacted(guardian_messages=None, evacuation_sites=[])) == "conflict"
    assert refusal(contacted(guardian_messages=replace(SETTINGS, modes=["live"])),
                   drill=True) == "conflict"
    assert refusal(contacted(evacuation_sites=[])) == "conflict"  # no place known


def test_never_a_restricted_adult_each_address_once_in_batches() -> None:
    found = plan(contacted())
    urls = [u for batch in found.batches for u in batch]
    assert urls == ["json://sink/sms/+15550101", "json://sink/email/anne%40example.org",
                    "json://sink/email/sara%40example.org"]
    assert [len(b) for b in found.batches] == [2, 1]
    assert not any("lord" in u or "15550199" in u for u in urls)
    assert found.skipped == 2  # Lord Byron, and Mary Murray with no address


def test_a_restricted_adult_is_barred_even_where_listed_for_another_student() -> None:
    s = contacted()
    extra = Person(id="s-8", name="Half Sibling", guardians=["Lord Byron"],
                   contacts=[GuardianContact(name="Lord Byron", phone="+15550199")])
    urls = [u for b in plan(replace(s, people=[*s.people, extra])).batches for u in b]
    assert not any("15550199" in u for u in urls)


def test_a_bus_incident_messages_its_riders_guardians_only() -> None:
    s = contacted(buses=[Bus(id="bus-7", name="Route 7", riders=["s-2"])])
    assert plan(s, "bus", "bus-7").batches == [["json://sink/email/sara%40example.org"]]


def test_a_restricted_name_typed_another_way_is_never_messaged() -> None:
    """Restrictions and contacts are typed by different people: names compare folded."""
    s = contacted()
    extra = Person(id="s-8", name="Half Sibling", guardians=["LORD  byron"],
                   contacts=[GuardianContact(name="LORD  byron", phone="+15550177",
                                             email="george@example.org")])
    urls = [u for b in plan(replace(s, people=[*s.people, extra])).batches for u in b]
    assert not any("15550177" in u or "george" in u for u in urls)


def test_an_address_of_a_restricted_adult_is_never_messaged_under_another_name() -> None:
    """The restricted father's phone and e-mail, written otherwise under another name, are
    his: neither is messaged, for any student."""
    s = contacted()
    extra = Person(id="s-8", name="Half Sibling", guardians=["G. Byron", "Claire Clairmont"],
                   contacts=[GuardianContact(name="G. Byron", phone="+1 (555) 019-9"),
                             GuardianContact(name="Claire Clairmont", phone="+15550188",
                                             email="LORD@Example.org")])
    found = plan(replace(s, people=[*s.people, extra]))
    urls = [u for b in found.batches for u in b]
    assert not any("0199" in u or "019-9" in u or "15550188" in u or "lord" in u.lower()
                   for u in urls)
    assert found.skipped == 4  # and the other two of before
