"""Where the demo's people can be besides their rooms: the places an evacuation names, two bus
routes, the varsity's away game; and the contacts of a few students' guardians."""

from datetime import UTC, datetime

import msgspec

from command.domain.site import (
    AwayEvent,
    Bus,
    Chaperone,
    EvacuationSite,
    GuardianContact,
    Location,
    Person,
)

# The places an evacuation can name (DISPATCH's coordinates are the school's own).
PLACES = [
    EvacuationSite(id="north-field", name="the north field", kind="assembly",
                   address="1200 Lincoln Avenue, north field", lat=41.8812, lon=-87.6301,
                   capacity=1200, hazards=["evacuate", "fire", "bomb_threat"]),
    EvacuationSite(id="stadium", name="the stadium bleachers", kind="assembly",
                   address="1200 Lincoln Avenue, stadium", lat=41.8791, lon=-87.6312,
                   capacity=1500, hazards=["evacuate", "fire"]),
    EvacuationSite(id="st-marks", name="St. Mark's Church, 400 Elm Street",
                   kind="reunification", off_site=True, address="400 Elm Street, Anytown, IL",
                   lat=41.8861, lon=-87.6235, capacity=900),
    # Where a second relocation goes when the church is unsafe: far side of the river.
    EvacuationSite(id="lincoln-ms", name="Lincoln Middle School gym, 2100 Oak Road",
                   kind="reunification", off_site=True, address="2100 Oak Road, Anytown, IL",
                   lat=41.8702, lon=-87.6458, capacity=1000, hazards=["evacuate", "bomb_threat",
                                                                       "hazmat", "armed_intruder"]),
]
GAME_PLACE = Location(text="Central High stadium, 55 Park Road, Springfield", lat=41.9104,
                      lon=-87.6772)


def with_contacts(students: list[Person]) -> list[Person]:
    """Phone and e-mail for the first few students' guardians (fake: 555-01xx, example.org),
    and the restricted adult's too, so a message run shows he is never sent one."""
    out, n = [], 110
    for p in students:
        listed = p.guardians + p.restricted if p.id == "s-1001" or n < 130 else []
        contacts = []
        for who in listed:
            relationship = "restricted: custody order" if who in p.restricted else "guardian"
            mail = who.lower().replace(" ", ".")
            contacts.append(GuardianContact(name=who, relationship=relationship,
                                            phone=f"+1-303-555-0{n}", email=f"{mail}@example.org"))
            n += 1
        out.append(msgspec.structs.replace(p, contacts=contacts) if contacts else p)
    return out


def buses(students: list[Person]) -> list[Bus]:
    """Two routes of 40 riders each, taken by a fixed stride so every grade rides."""
    return [
        Bus(id="bus-7", name="Bus 7 (north route)", driver="Gary Holt",
            riders=[p.id for p in students[3::20]]),
        Bus(id="bus-12", name="Bus 12 (river route)", driver="Lena Marsh",
            riders=[p.id for p in students[11::20]]),
    ]


def away_game(students: list[Person], staff: list[Person]) -> AwayEvent:
    """The varsity's away game: its players, two coaches and two parent chaperones."""
    riders = {r for b in buses(students) for r in b.riders}
    players = [p.id for p in students if p.id not in riders][7::25][:30]
    return AwayEvent(
        id="away-game", name="Varsity football at Central High", kind="game", place=GAME_PLACE,
        starts_at=datetime(2027, 9, 17, 23, 0, tzinfo=UTC),  # Friday 17:00 in Denver
        ends_at=datetime(2027, 9, 18, 4, 0, tzinfo=UTC),
        people=[*players, staff[-2].id, staff[-1].id],
        chaperones=[Chaperone(id="ch-01", name="Rosa Delgado", phone="+1-303-555-0150"),
                    Chaperone(id="ch-02", name="Frank Osei", phone="+1-303-555-0151")],
    )
