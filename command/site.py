"""The site file (CONTRACT §6): a school's rooms, roster, responder packet and alert channels.

It is decoded from TOML by msgspec and travels, whole, as the data of a `SiteConfigured` event,
so every fold knows the site exactly as it was imported.
"""

from pathlib import Path

import msgspec

from command.types import (
    AlertKind,
    CancelWindow,
    Floor,
    Ident,
    Label,
    Mode,
    Name,
    Seconds,
    SrpAction,
    Text,
    Zone,
)


class Base(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Site-file tables: frozen, and a misspelt key is an error rather than silently ignored."""


class Room(Base):
    id: Ident
    name: Name
    building: Label = ""
    floor: Floor = 1
    zone: Label = ""


class Person(Base):
    id: Ident
    name: Name
    kind: str = "student"
    room: Ident | None = None
    grade: str | None = None
    guardians: list[Name] = []
    restricted: list[Name] = []


class Contact(Base):
    role: Name
    name: Name
    phone: Label = ""


class ResponderPacket(Base):
    knox_box: Text = ""
    door_codes: Text = ""
    maps: list[str] = []
    cameras: list[str] = []
    aeds: list[Text] = []
    contacts: list[Contact] = []


class Channel(Base):
    name: Ident
    url: str
    events: list[str] = msgspec.field(
        default_factory=lambda: ["AlertRaised", "ProtocolDeclared", "ProtocolLifted"]
    )
    modes: list[Mode] = msgspec.field(default_factory=lambda: ["live"])
    escalate_after_s: Seconds | None = None
    escalate_to: list[Ident] = []
    roles: list[str] = []
    handle_with_care: bool = False


class Site(Base):
    id: Ident
    name: Name
    timezone: Zone = "UTC"
    cancel_window_s: CancelWindow = 10.0
    policy: dict[AlertKind, SrpAction] = {}
    rooms: list[Room] = []
    people: list[Person] = []
    responder_packet: ResponderPacket = ResponderPacket()
    channels: list[Channel] = []


class SiteError(ValueError):
    """A site file that cannot be imported, with the reason a person can act on."""


def validate(site: Site) -> Site:
    """Cross-field rules msgspec cannot express: unique ids and references that resolve."""
    room_ids = [r.id for r in site.rooms]
    if len(set(room_ids)) != len(room_ids):
        raise SiteError("rooms: duplicate room id")
    people_ids = [p.id for p in site.people]
    if len(set(people_ids)) != len(people_ids):
        raise SiteError("people: duplicate person id")
    known = set(room_ids)
    for i, person in enumerate(site.people):
        if person.room is not None and person.room not in known:
            raise SiteError(f"people[{i}].room: unknown room {person.room!r}")
    names = {c.name for c in site.channels}
    for i, channel in enumerate(site.channels):
        for target in channel.escalate_to:
            if target not in names:
                raise SiteError(f"channels[{i}].escalate_to: unknown channel {target!r}")
    return site


def loads(text: str | bytes) -> Site:
    """Decode a TOML site file; msgspec's errors already name the offending key path."""
    try:
        return validate(msgspec.toml.decode(text, type=Site))
    except msgspec.ValidationError as exc:
        raise SiteError(str(exc)) from exc
    except msgspec.DecodeError as exc:
        raise SiteError(f"not valid TOML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise SiteError("the site file is not valid UTF-8") from exc


def load(path: str | Path) -> Site:
    return loads(Path(path).read_bytes())


DEMO_PATH = Path(__file__).parent / "sites" / "demo-high.toml"
