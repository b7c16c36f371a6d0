"""Which school a 911 CAD's EIDO is about: by premise id or name, then by civic address, then
by a geofence around each site's point (the site file's `[dispatch]` table)."""

import math
import re
from collections.abc import Iterable
from typing import Literal

import msgspec

from command.domain.eido_in import Civic, Location, Point
from command.domain.site import Site

By = Literal["id", "name", "address", "geofence"]
EARTH_M = 6_371_008.8  # the mean Earth radius, metres
# Street suffixes as CADs and site files spell them, each read as USPS's abbreviation.
SUFFIX = {"avenue": "ave", "av": "ave", "street": "st", "road": "rd", "drive": "dr",
          "boulevard": "blvd", "lane": "ln", "court": "ct", "place": "pl", "parkway": "pkwy",
          "highway": "hwy", "terrace": "ter", "circle": "cir", "way": "way"}


class Match(msgspec.Struct, frozen=True, kw_only=True):
    site: Site
    by: By
    distance_m: float | None = None  # for a geofence match: how far the point is from the site


class NoMatch(msgspec.Struct, frozen=True, kw_only=True):
    reason: str  # what was tried, in words a dispatcher can act on


def match(location: Location | None, sites: Iterable[Site]) -> Match | NoMatch:
    """The site `location` names, or why none does; an ambiguous stage matches nothing."""
    sites = list(sites)
    if location is None:
        return NoMatch(reason="the EIDO gives no incident location")
    tried: list[str] = []
    for found in (_by_id(location, sites, tried), _by_name(location, sites, tried),
                  _by_address(location.civic, sites, tried),
                  _by_geofence(location.point, sites, tried)):
        if found is not None:
            return found
    return NoMatch(reason="; ".join(tried))


def norm(text: str) -> str:
    """Case, punctuation and spacing ignored: "Middle-School " is "middle school"."""
    return " ".join(re.sub(r"[^\w]+", " ", text.casefold()).split())


def _one(candidates: list[Site], by: By, what: str, tried: list[str]) -> Match | None:
    ids = sorted({s.id for s in candidates})
    if len(ids) == 1:
        return Match(site=candidates[0], by=by)
    if ids:
        tried.append(f"{what} is claimed by several sites ({', '.join(ids)})")
    return None


def _by_id(loc: Location, sites: list[Site], tried: list[str]) -> Match | None:
    given = {norm(i) for i in loc.ids} - {""}
    if not given:
        tried.append("the EIDO gives no premise id")
        return None
    found = [s for s in sites if s.dispatch and given & {norm(i) for i in s.dispatch.ids}]
    what = f"premise id {', '.join(sorted(loc.ids))}"
    if not found:
        tried.append(f"no site declares {what}")
    return _one(found, "id", what, tried)


def _by_name(loc: Location, sites: list[Site], tried: list[str]) -> Match | None:
    name = loc.civic.nam if loc.civic else ""
    if not norm(name):
        tried.append("the EIDO gives no site name (NAM)")
        return None
    found = [s for s in sites if norm(name) in {norm(n) for n in _names(s)}]
    if not found:
        tried.append(f"no site is named {name}")
    return _one(found, "name", f"name {name}", tried)


def _names(site: Site) -> list[str]:
    return [site.name, *(site.dispatch.names if site.dispatch else [])]


def street(hno: str, rd: str, sts: str) -> str:
    """A house number and street, normalised: "1200 Lincoln Avenue" is "1200 lincoln ave"."""
    words = norm(f"{hno} {rd} {sts}").split()
    return " ".join(SUFFIX.get(w, w) for w in words)


def _by_address(civic: Civic | None, sites: list[Site], tried: list[str]) -> Match | None:
    if civic is None or not (civic.hno.strip() and civic.rd.strip()):
        tried.append("the EIDO gives no civic address with a house number and road")
        return None
    wanted = street(civic.hno, civic.rd, civic.sts)
    found = []
    for site in sites:
        addr = site.dispatch.address if site.dispatch else None
        if addr is None or not (addr.hno and addr.rd):
            continue
        same_city = not (addr.a3 and civic.a3) or norm(addr.a3) == norm(civic.a3)
        if street(addr.hno, addr.rd, addr.sts) == wanted and same_city:
            found.append(site)
    shown = " ".join(filter(None, (civic.hno, civic.rd, civic.sts))) + \
        (f", {civic.a3}" if civic.a3 else "")
    if not found:
        tried.append(f"no address matches {shown}")
    return _one(found, "address", f"address {shown}", tried)


def distance_m(a: Point, b: Point) -> float:
    """The great-circle (haversine) distance between two points, in metres."""
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    dp, dl = p2 - p1, math.radians(b.lon - a.lon)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_M * math.asin(min(1.0, math.sqrt(h)))


def _by_geofence(point: Point | None, sites: list[Site], tried: list[str]) -> Match | None:
    if point is None:
        tried.append("the EIDO gives no point")
        return None
    near = []
    for site in sites:
        d = site.dispatch
        if d is not None and d.lat is not None and d.lon is not None:
            far = distance_m(point, Point(d.lat, d.lon))
            if far <= d.geofence_m:
                near.append((far, site.id, site))
    if not near:
        tried.append(f"no site's geofence holds {point.lat:g},{point.lon:g}")
        return None
    far, _, site = min(near, key=lambda n: (n[0], n[1]))
    return Match(site=site, by="geofence", distance_m=far)
