"""Which school an EIDO is about: premise id or name, then civic address, then geofence; none
matched says what was tried, and a tie matches nothing."""

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from command.domain import site as site_file
from command.domain.dispatch_match import Match, NoMatch, distance_m, match, street
from command.domain.eido_in import Civic, Location, Point
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
