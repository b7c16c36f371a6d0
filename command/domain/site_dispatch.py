"""A site file's `[dispatch]` table: how a 911 CAD's EIDO finds this school, and what a
dispatch-opened incident does there (docs/site-file.md, "Dispatch")."""

from typing import Annotated

import msgspec

from command.domain.types import END, AlertKind, Ident, Label, Name

# A CAD premise id or an APCO type code: printable, bounded, compared case-insensitively.
PRINTABLE = r"^[^\x00-\x1f\x7f]+" + END
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=PRINTABLE)]
Lat = Annotated[float, msgspec.Meta(ge=-90, le=90)]
Lon = Annotated[float, msgspec.Meta(ge=-180, le=180)]
Metres = Annotated[float, msgspec.Meta(gt=0, le=50_000)]

# The APCO common incident types (STA-021's registry) a CAD sends most for a school, and the
# alert kind each opens; FIRE and MEDICAL are the plain words some CADs send instead.
DEFAULT_TYPES: dict[str, AlertKind] = {
    "ACTSHOOT": "armed_intruder", "SHOOT": "armed_intruder", "WEAPON": "armed_intruder",
    "BOMB": "bomb_threat", "FIRE": "fire", "FSTRU": "fire", "FSMOKE": "fire", "ALRF": "fire",
    "HAZMAT": "hazmat", "GASLEAK": "hazmat", "BIO": "hazmat", "FIGHT": "fight",
    "MEDICAL": "medical", "CARDIAC": "medical", "PERUNCON": "medical", "RESP": "medical",
}
UNKNOWN_TYPE: AlertKind = "police_activity"


class Address(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A civic address as a PIDF-LO civicAddress (RFC 5139) spells it, lower-cased keys."""

    hno: Label = ""  # house number
    rd: Label = ""  # road name
    sts: Label = ""  # street suffix: Avenue, St
    a3: Label = ""  # city
    a1: Label = ""  # state
    pc: Label = ""  # postal code
    country: Label = ""


class Dispatch(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    ids: list[Code] = []  # the CAD's premise ids for this school (EIDO localIdentifier)
    names: list[Name] = []  # names a CAD may give it (PIDF-LO NAM) besides the site's own
    address: Address | None = None
    lat: Lat | None = None
    lon: Lon | None = None
    geofence_m: Metres = 300.0
    area: Ident | None = None  # the dispatch area whose tokens may send for this site
    types: dict[Code, AlertKind] = msgspec.field(default_factory=lambda: dict(DEFAULT_TYPES))
    declare: bool = False  # a dispatch-opened incident declares its kind's protocol at once


def check(table: Dispatch) -> None:
    """Cross-field rules: a point needs both coordinates; raises ValueError naming the field."""
    if (table.lat is None) != (table.lon is None):
        missing = "lat" if table.lat is None else "lon"
        raise ValueError(f"dispatch.{missing}: a site's point needs both lat and lon")


def kind_for(table: "Dispatch | None", apco_type: str) -> AlertKind:
    """The alert kind a CAD's APCO incident type opens at a site; police activity if unknown."""
    types = table.types if table is not None else DEFAULT_TYPES
    wanted = apco_type.strip().upper()
    return next((k for t, k in types.items() if t.strip().upper() == wanted), UNKNOWN_TYPE)
