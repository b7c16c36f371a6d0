"""The school as a PIDF-LO location (RFC 4119, civic address per RFC 5139, point per RFC 5491):
the `locationByValue` an EIDO's CurrentIncident location carries.

Built from the site file alone: its name as NAM, the `[dispatch]` address and point when the
site declares them, and the room the alert came from as LOC.
"""

from xml.sax.saxutils import escape, quoteattr

from command.domain.site import Site

# RFC 5139's civicAddress is a sequence: its elements must come in this order.
CIVIC_ORDER = ("country", "A1", "A3", "RD", "STS", "HNO", "LOC", "NAM", "PC")
NS = ('xmlns="urn:ietf:params:xml:ns:pidf" xmlns:gp="urn:ietf:params:xml:ns:pidf:geopriv10" '
      'xmlns:ca="urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr" '
      'xmlns:gml="http://www.opengis.net/gml" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model"')
WGS84 = "urn:ogc:def:crs:EPSG::4326"


def civic(site: Site | None, site_id: str, room: str | None = None) -> dict[str, str]:
    """The civic address fields, keyed as RFC 5139 names them, empty ones left out."""
    fields = {"NAM": site.name if site is not None else site_id, "LOC": room or ""}
    table = site.dispatch if site is not None else None
    if table is not None and table.address is not None:
        a = table.address
        fields |= {"country": a.country, "A1": a.a1, "A3": a.a3, "RD": a.rd, "STS": a.sts,
                   "HNO": a.hno, "PC": a.pc}
    return {k: fields[k] for k in CIVIC_ORDER if fields.get(k)}


def point(site: Site | None) -> tuple[float, float] | None:
    """The site's latitude and longitude from its `[dispatch]` table, if it gives them."""
    table = site.dispatch if site is not None else None
    if table is None or table.lat is None or table.lon is None:
        return None
    return table.lat, table.lon


def location(site: Site | None, site_id: str, domain: str, room: str | None = None,
             away: tuple[float | None, float | None] | None = None) -> str:
    """The PIDF-LO document: a civic address, and a WGS 84 point when the site has one. A bus
    or away event (`away`) is not at the school: its description and its own point, if told."""
    fields = civic(site, site_id, room)
    if away is not None:  # the school's street address would send help to the wrong place
        fields = {k: v for k, v in fields.items() if k in ("LOC", "NAM")}
    address = "".join(f"<ca:{k}>{escape(v)}</ca:{k}>" for k, v in fields.items())
    where = point(site) if away is None else (
        (away[0], away[1]) if away[0] is not None and away[1] is not None else None)
    geo = (f'<gml:Point srsName="{WGS84}"><gml:pos>{where[0]:.6f} {where[1]:.6f}</gml:pos>'
           "</gml:Point>") if where else ""
    entity = quoteattr(f"pres:{site_id}@{domain}")
    return ('<?xml version="1.0" encoding="UTF-8"?>'
            f"<presence {NS} entity={entity}><dm:device id=\"school\"><gp:geopriv>"
            f"<gp:location-info><ca:civicAddress>{address}</ca:civicAddress>{geo}"
            "</gp:location-info><gp:usage-rules/><gp:method>Manual</gp:method></gp:geopriv>"
            "</dm:device></presence>")
