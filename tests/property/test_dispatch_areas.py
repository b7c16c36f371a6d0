"""Dispatch areas, as a property: whatever schools a county has and however a CAD names the
school (premise id, civic address or point), an agency's token is allowed a snapshot only for
the sites of its own area; for any other the intake's check refuses it before anything is
written. The path is the route's own: eido_in.parse, dispatch_match.match, auth.authorize."""

from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from command.domain import dispatch_match, eido_in
from command.domain.errors import Forbidden
from command.domain.site import Site
from command.domain.site_dispatch import Address, Dispatch
from command.infra.auth import AREA, Token, authorize
from command.write.dispatch_intake import ROLES
from tests.eido_docs import body, eido, pidf

AREAS = ("north-pd", "south-pd", "east-so", "river-fd")
ROADS = ("Lincoln", "Grant", "Oak", "Maple", "Cedar", "Elm")


@dataclass(frozen=True)
class County:
    """Schools each with a premise id, an address on its own road and a point 5 km apart."""

    sites: list[Site]

    def site(self, n: int) -> Site:
        return self.sites[n % len(self.sites)]


@st.composite
def counties(draw: st.DrawFn) -> County:
    areas = draw(st.lists(st.sampled_from((*AREAS, None)), min_size=1, max_size=len(ROADS)))
    return County([Site(id=f"school-{n}", name=f"School {n}", dispatch=Dispatch(
        ids=[f"PREMISE-{n}"], area=area, lat=40.0 + n * 0.05, lon=-88.0,
        address=Address(hno="100", rd=ROADS[n], sts="Street", a3="County Seat")))
        for n, area in enumerate(areas)])


def snapshot(site: Site, by: str) -> bytes:
    """A CAD's EIDO naming `site` by one means only; the others point nowhere."""
    assert site.dispatch is not None and site.dispatch.address is not None
    lat, lon = site.dispatch.lat, site.dispatch.lon
    assert lat is not None and lon is not None
    nowhere = pidf(hno="9", rd="Nowhere", sts="Road", a3="Elsewhere", point=(10.0, 10.0))
    if by == "premise":
        return body(eido(premise=site.dispatch.ids[0], location=nowhere))
    if by == "address":
        return body(eido(premise=None, location=pidf(
            hno="100", rd=site.dispatch.address.rd, sts="St", a3="County Seat",
            point=(10.0, 10.0))))
    return body(eido(premise=None, location=pidf(
        hno="9", rd="Nowhere", sts="Road", a3="Elsewhere", point=(lat + 0.001, lon))))


def token(bound: str) -> Token:
    return Token(id=1, name="cad", role="dispatch", site=bound, hash=b"\0" * 32)


def allowed(bound: str, raw: bytes, sites: list[Site]) -> tuple[Site, bool]:
    """What POST /v1/dispatch/eido decides before it writes: the site, and whether it may."""
    found = dispatch_match.match(eido_in.parse(raw).location, sites)
    assert isinstance(found, dispatch_match.Match), found
    site = found.site
    try:
        authorize(token(bound), ROLES, site.id,
                  area=site.dispatch.area if site.dispatch else None)
    except Forbidden:
        return site, False
    return site, True


@settings(max_examples=150, deadline=None)
@given(counties(), st.integers(0, 50), st.sampled_from(("premise", "address", "point")),
       st.sampled_from(AREAS))
def test_an_area_token_is_refused_every_site_outside_its_area(
        county: County, pick: int, by: str, area: str) -> None:
    target = county.site(pick)
    site, ok = allowed(AREA + area, snapshot(target, by), county.sites)
    assert site.id == target.id, "the snapshot is matched to the school it names"
    assert target.dispatch is not None
    assert ok == (target.dispatch.area == area)
    assert token(AREA + area).allows_site(site.id, target.dispatch.area) == ok


@settings(max_examples=100, deadline=None)
@given(counties(), st.integers(0, 50), st.integers(0, 50),
       st.sampled_from(("premise", "address", "point")))
def test_a_site_token_is_refused_every_other_site_whatever_its_area(
        county: County, pick: int, bound: int, by: str) -> None:
    target, own = county.site(pick), county.site(bound)
    site, ok = allowed(own.id, snapshot(target, by), county.sites)
    assert site.id == target.id and ok == (own.id == target.id)


def test_an_area_named_like_a_site_or_a_bare_area_name_allows_nothing_else() -> None:
    """`area:` is a prefix, not a wildcard: a token for area X is not one for a site called X,
    and a site without an area is reached by no area token."""
    assert not token(AREA + "north-pd").allows_site("north-pd", None)
    assert not token("north-pd").allows_site("school-1", "north-pd")
    with pytest.raises(Forbidden):
        authorize(token(AREA + "north-pd"), ROLES, "school-1", area=None)
