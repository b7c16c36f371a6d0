"""Constrained string and number aliases shared by events, commands and the site file."""

from typing import Annotated, Literal

from msgspec import Meta

# A pattern's `$` would also match before a final newline: `(?!\n)$` is the true end.
END = r"(?!\n)$"
# Identifiers appear in NATS subjects and URLs, so no dots, spaces or wildcards.
IDENT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_\-]*" + END
Ident = Annotated[str, Meta(min_length=1, max_length=64, pattern=IDENT_PATTERN)]
# Free text typed by a person under stress: bounded, and no control characters but newline/tab.
Text = Annotated[str, Meta(max_length=2000, pattern=r"^[^\x00-\x08\x0b-\x1f\x7f]*" + END)]
Name = Annotated[str, Meta(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]*" + END)]
Label = Annotated[str, Meta(max_length=200, pattern=r"^[^\x00-\x1f\x7f]*" + END)]  # may be empty
# Every number is finite and bounded (Meta's ge/le refuse nan and inf): each one feeds a
# timedelta, a datetime sum, an SQL interval or JSON, none of which may overflow downstream.
Count = Annotated[int, Meta(ge=0, le=100_000)]
Seconds = Annotated[float, Meta(ge=0, le=86_400)]  # a day: longer than any timer a school sets
CancelWindow = Annotated[float, Meta(ge=0, le=3_600)]  # a press is a false alarm within the hour
Floor = Annotated[int, Meta(ge=-20, le=200)]  # basements to the tallest school building
Attempt = Annotated[int, Meta(ge=0, le=2_147_483_647)]  # the outbox's int4 attempts column
Version = Annotated[int, Meta(ge=1, le=999)]
Latitude = Annotated[float, Meta(ge=-90, le=90)]  # WGS 84 degrees, as a phone's GPS gives them
Longitude = Annotated[float, Meta(ge=-180, le=180)]
TokenId = Annotated[int, Meta(ge=1, le=2**63 - 1)]  # the tokens table's bigserial
# An IANA zone key: bounded, so no hostile name makes ZoneInfo raise OSError (name too long).
Zone = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_+\-/]+" + END)]

SrpAction = Literal["hold", "secure", "lockdown", "evacuate", "shelter"]
Hazard = Literal[
    "medical", "fire", "weather", "hazmat", "bomb_threat", "armed_intruder",
    "police_activity", "fight", "upset_parent", "transportation", "other",
]
AlertKind = SrpAction | Hazard
RoomStatus = Literal["secured", "clear", "needs_help", "evacuated", "unreachable"]
PersonStatus = Literal["accounted", "missing", "injured", "absent", "reunified"]
# A tabletop is a discussion exercise on a board of its own: no channel ever hears it.
Mode = Literal["live", "drill", "replay", "tabletop"]
ChannelMode = Literal["live", "drill", "replay"]  # what a channel may ask to hear
# Where people are accounted for: a room of the building, a bus route, or an away event. Their
# ids share one namespace, so a report or an alert names any of them as its `room`.
UnitKind = Literal["room", "bus", "away_event"]
# SRM's exceptions track: these students leave the general queue for a counsellor's care.
ExceptionKind = Literal["injured", "hospital", "missing", "unlisted_adult"]
CaseRole = Literal["counsellor", "administrator"]
Role = Literal["device", "staff", "responder", "commander", "dispatch", "admin"]
ROLES: tuple[str, ...] = ("device", "staff", "responder", "commander", "dispatch", "admin")
