"""Which school an EIDO is about: premise id or name, then civic address, then geofence; none
matched says what was tried, and a tie matches nothing."""

import re
from pathlib import Path

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from command.bootstrap.demo import DEMO_PATH
from command.domain import site as site_file
from command.domain.dispatch_match import Match, NoMatch, distance_m, match, street
from command.domain.eido_in import Civic, Location, Point, parse
from command.domain.site import Site
from command.domain.site_dispatch import Address, Dispatch

LINCOLN = Site(id="lincoln", name="Lincoln Middle School", dispatch=Dispatch(
    ids=["CADPREMISE-88231"], names=["Lincoln MS"],
    address=Address(hno="1200", rd="Lincoln", sts="Avenue", a3="Anytown", a1="IL"),
    lat=41.88, lon=-87.63, geofence_m=300))
GRANT = Site(id="grant", name="Grant High School", dispatch=Dispatch(
    ids=["CADPREMISE-1"], address=Address(hno="5", rd="Grant", sts="St", a3="Anytown"),
    lat=41.90, lon=-87.63))
PLAIN = Site(id="plain", name="Plain Elementary")  # no [dispatch] table: found by name alone
SITES = [GRANT, LINCOLN, PLAIN]


def at(ids: tuple[str, ...] = (), civic: Civic | None = None,
       point: Point | None = None) -> Location:
    return Location(ids=list(ids), civic=civic, point=point)


def found(location: Location, sites: list[Site] = SITES) -> tuple[str, str]:
    got = match(location, sites)
    assert isinstance(got, Match), got
    return got.site.id, got.by


def test_by_premise_id_whatever_the_case_and_spacing() -> None:
    assert found(at(("  cadpremise-88231",))) == ("lincoln", "id")


def test_a_premise_id_wins_over_a_name_naming_another_school() -> None:
    assert found(at(("CADPREMISE-1",), Civic(nam="Lincoln Middle School"))) == ("grant", "id")


def test_by_the_sites_own_name_or_a_declared_one() -> None:
    assert found(at(("unknown",), Civic(nam="lincoln  middle-school"))) == ("lincoln", "name")
    assert found(at(civic=Civic(nam="LINCOLN MS"))) == ("lincoln", "name")
    assert found(at(civic=Civic(nam="Plain Elementary"))) == ("plain", "name")


def test_by_civic_address_with_the_suffix_spelt_either_way() -> None:
    civic = Civic(hno="1200", rd="LINCOLN", sts="Ave", a3="anytown")
    assert found(at(civic=civic)) == ("lincoln", "address")
    assert found(at(civic=Civic(hno="1200", rd="Lincoln Avenue"))) == ("lincoln", "address")
    assert isinstance(match(at(civic=Civic(hno="1200", rd="Lincoln", a3="Othertown")), SITES),
                      NoMatch)


def test_by_geofence_the_nearest_site_within_its_own_radius() -> None:
    near = Point(41.881, -87.631)  # about 140 m from Lincoln
    got = match(at(point=near), SITES)
    assert isinstance(got, Match) and got.by == "geofence" and got.site.id == "lincoln"
    assert got.distance_m is not None and 100 < got.distance_m < 200
    assert isinstance(match(at(point=Point(41.885, -87.63)), SITES), NoMatch)  # 556 m


def test_no_match_names_what_was_tried() -> None:
    got = match(at(("P-9",), Civic(hno="1", rd="Elm", sts="St", a3="X", nam="Elm School"),
                   Point(40.0, -80.0)), SITES)
    assert isinstance(got, NoMatch)
    assert got.reason == ("no site declares premise id P-9; no site is named Elm School; "
                          "no address matches 1 Elm St, X; no site's geofence holds 40,-80")
    bare = match(at(), SITES)
    assert isinstance(bare, NoMatch)
    assert "no premise id" in bare.reason and "no point" in bare.reason
    assert match(None, SITES) == NoMatch(reason="the EIDO gives no incident location")


def test_two_sites_claiming_one_premise_id_match_neither() -> None:
    twin = msgspec.structs.replace(GRANT, id="twin", dispatch=msgspec.structs.replace(
        GRANT.dispatch, ids=["CADPREMISE-88231"]))
    got = match(at(("CADPREMISE-88231",)), [LINCOLN, twin])
    assert isinstance(got, NoMatch) and "several sites (lincoln, twin)" in got.reason


def test_haversine_distance() -> None:
    assert abs(distance_m(Point(0, 0), Point(0, 1)) - 111_195) < 5
    assert distance_m(Point(41.88, -87.63), Point(41.88, -87.63)) == 0
    assert street("1200", " lincoln ", "AVENUE") == "1200 lincoln ave"


def test_a_site_file_point_needs_both_coordinates() -> None:
    text = 'id = "a"\nname = "A"\n[dispatch]\nlat = 41.0\n'
    try:
        site_file.loads(text)
    except site_file.SiteError as exc:
        assert "dispatch.lon" in str(exc)
    else:
        raise AssertionError("a lat without a lon was accepted")


@settings(max_examples=100, deadline=None, database=None)
@given(st.floats(-89, 89), st.floats(-179, 179), st.floats(0, 299))
def test_any_point_inside_a_lone_sites_geofence_matches_it(lat: float, lon: float,
                                                            metres: float) -> None:
    site = Site(id="s", name="S", dispatch=Dispatch(lat=lat, lon=lon, geofence_m=300))
    north = Point(min(90.0, lat + metres / 111_195), lon)  # due north, `metres` away
    got = match(at(point=north), [site])
    assert isinstance(got, Match) and got.site.id == "s"
    far = Point(lat, lon + 180 if lon < 0 else lon - 180)
    assert isinstance(match(at(point=far), [site]), NoMatch)


DEMO = site_file.load(DEMO_PATH)


def test_the_demo_school_is_found_by_each_stage() -> None:
    civic = Civic(hno="1200", rd="Lincoln", sts="Ave", a3="Anytown")
    assert found(at(("CADPREMISE-88231",)), [DEMO, GRANT]) == ("demo-high", "id")
    assert found(at(civic=Civic(nam="Demo High School")), [DEMO, GRANT]) == ("demo-high", "name")
    assert found(at(civic=civic), [DEMO, GRANT]) == ("demo-high", "address")
    assert found(at(point=Point(41.8801, -87.6301)), [DEMO, GRANT]) == ("demo-high", "geofence")
    assert DEMO.dispatch is not None and DEMO.dispatch.area == "anytown-pd"


def test_the_site_file_reference_names_every_dispatch_key() -> None:
    text = (Path(__file__).parents[3] / "docs" / "site-file.md").read_text(encoding="utf-8")
    missing = [f"{cls.__name__}.{name}" for cls in (Dispatch, Address)
               for name in cls.__struct_fields__ if f"`{name}`" not in text]
    assert missing == []
    snippet = re.search(r"^## dispatch$.*?^```toml\n(.*?)^```", text, re.S | re.M)
    assert snippet is not None
    table = site_file.loads('id = "x"\nname = "X"\n' + snippet[1]).dispatch
    assert table is not None and table.ids and table.address and table.area


def test_the_reference_synthetic_incident_finds_the_demo_school(eido_dir: Path) -> None:
    """The reference school weapon call carries the demo school's premise id; NENA's call
    transfer sample (Wilmington, DE) finds no school and says what it tried."""
    synthetic = parse((eido_dir / "synthetic-school-incident.json").read_bytes())
    assert found(synthetic.location, [GRANT, DEMO]) == ("demo-high", "id")  # type: ignore[arg-type]
    sample = parse((eido_dir / "sample-call-transfer.json").read_bytes())
    got = match(sample.location, [GRANT, DEMO])
    assert isinstance(got, NoMatch) and "42 Cellular Street, Wilmington" in got.reason


NAMES = st.sampled_from(["CADPREMISE-88231", "CADPREMISE-1", "other", "Lincoln MS",
                         "Grant High School", "Plain Elementary", ""])


@settings(max_examples=150, deadline=None, database=None)
@given(NAMES, NAMES, st.sampled_from([None, Civic(hno="5", rd="Grant", sts="Street"),
                                      Civic(hno="1200", rd="Lincoln")]),
       st.sampled_from([None, Point(41.88, -87.63), Point(41.9, -87.63), Point(0, 0)]),
       st.permutations(SITES))
def test_the_match_does_not_depend_on_the_order_of_sites(
        premise: str, nam: str, civic: Civic | None, point: Point | None,
        order: list[Site]) -> None:
    civic = msgspec.structs.replace(civic or Civic(), nam=nam)
    location = at((premise,), civic, point)
    first, again = match(location, SITES), match(location, order)
    assert type(first) is type(again)
    if isinstance(first, Match) and isinstance(again, Match):
        assert (first.site.id, first.by) == (again.site.id, again.by)
