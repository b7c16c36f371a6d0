"""Deterministic generator for the bundled demo site `demo-high` (CONTRACT §6).

`python -m command.bootstrap.demo > command/bootstrap/sites/demo-high.toml` regenerates the
shipped file; the tests check that the file and `build()` stay equal, so edit this module
rather than the TOML.
"""

import itertools
import random
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec

from command.bootstrap.demo_places import PLACES, away_game, buses, with_contacts
from command.domain.site import (
    Channel,
    Contact,
    Directive,
    Person,
    ResponderPacket,
    Room,
    Site,
    validate,
)
from command.domain.site_dispatch import Address, Dispatch
from command.domain.site_drills import Drills
from command.domain.types import Mode

DEMO_PATH = Path(__file__).parent / "sites" / "demo-high.toml"  # the file `build()` writes
SEED = 20240917
STUDENTS = 800
BASE = "demo-high.example"

# (id, name, building, floor, zone)
ROOMS: list[tuple[str, str, str, int, str]] = [
    ("OFFICE", "Main Office", "A", 1, "south"),
    ("NURSE", "Nurse", "A", 1, "south"),
    ("COUNSEL", "Counseling Office", "A", 1, "south"),
    ("LIB", "Library", "A", 1, "north"),
    ("AUD", "Auditorium", "A", 1, "north"),
    ("CAF", "Cafeteria", "A", 1, "west"),
    ("GYM", "Gymnasium", "A", 1, "west"),
    ("A-101", "English 9", "A", 1, "south"),
    ("A-102", "English 10", "A", 1, "south"),
    ("A-103", "World History", "A", 1, "north"),
    ("A-104", "Algebra I", "A", 1, "north"),
    ("A-105", "Geometry", "A", 1, "west"),
    ("A-106", "Spanish I", "A", 1, "west"),
    ("A-107", "French I", "A", 1, "north"),
    ("A-108", "Health", "A", 1, "west"),
    ("A-201", "English 11", "A", 2, "south"),
    ("A-202", "English 12", "A", 2, "south"),
    ("A-203", "US History", "A", 2, "north"),
    ("A-204", "Government", "A", 2, "north"),
    ("A-205", "Algebra II", "A", 2, "west"),
    ("A-206", "Precalculus", "A", 2, "west"),
    ("A-207", "AP Calculus", "A", 2, "north"),
    ("A-208", "Spanish II", "A", 2, "south"),
    ("A-209", "Economics", "A", 2, "west"),
    ("A-210", "Computer Science", "A", 2, "north"),
    ("B-101", "Art Studio", "B", 1, "east"),
    ("B-103", "Ceramics", "B", 1, "east"),
    ("B-105", "Band Room", "B", 1, "east"),
    ("B-107", "Choir Room", "B", 1, "east"),
    ("B-109", "Drama", "B", 1, "east"),
    ("B-110", "Earth Science", "B", 1, "east"),
    ("B-112", "Biology", "B", 1, "east"),
    ("B-114", "Chemistry Lab", "B", 1, "east"),
    ("B-201", "Physics Lab", "B", 2, "east"),
    ("B-203", "Anatomy and Physiology", "B", 2, "east"),
    ("B-205", "Environmental Science", "B", 2, "east"),
    ("B-207", "Photography", "B", 2, "east"),
    ("B-209", "Engineering", "B", 2, "east"),
    ("B-211", "Robotics Lab", "B", 2, "east"),
    ("B-213", "Digital Media", "B", 2, "east"),
]

# The floor plans, in metres: each floor has an east-west corridor at y 20-24, rooms hung north
# of it (bottom at y 20) or south of it (top at y 24), west to east, by zone; "" is a gap.
# Building A: the gym and cafeteria at the west end, the auditorium and library to the north.
CORRIDOR = (20.0, 24.0)
PLAN: dict[tuple[str, int, str], list[tuple[str, float, float]]] = {
    ("A", 1, "north"): [("GYM", 30, 20), ("A-105", 10, 12), ("A-108", 10, 12), ("LIB", 16, 16),
                        ("AUD", 24, 20), ("A-103", 10, 12), ("A-104", 10, 12),
                        ("A-107", 10, 12)],
    ("A", 1, "south"): [("CAF", 30, 18), ("A-106", 10, 12), ("", 10, 0), ("OFFICE", 12, 12),
                        ("NURSE", 8, 12), ("COUNSEL", 10, 12), ("A-101", 10, 12),
                        ("A-102", 10, 12)],
    ("A", 2, "north"): [("", 30, 0), ("A-205", 10, 12), ("A-206", 10, 12), ("A-203", 10, 12),
                        ("A-204", 10, 12), ("A-207", 10, 12), ("A-210", 12, 12)],
    ("A", 2, "south"): [("", 30, 0), ("A-209", 10, 12), ("", 10, 0), ("A-201", 10, 12),
                        ("A-202", 10, 12), ("A-208", 10, 12)],
    ("B", 1, "north"): [("B-101", 12, 12), ("B-103", 10, 12), ("B-105", 14, 16),
                        ("B-107", 14, 16)],
    ("B", 1, "south"): [("B-109", 14, 14), ("B-110", 10, 12), ("B-112", 10, 12),
                        ("B-114", 12, 12)],
    ("B", 2, "north"): [("B-201", 12, 12), ("B-203", 10, 12), ("B-205", 10, 12),
                        ("B-207", 10, 12)],
    ("B", 2, "south"): [("B-209", 12, 12), ("B-211", 14, 12), ("B-213", 10, 12)],
}


def _shapes() -> dict[str, tuple[float, float, float, float]]:
    """Each room's rectangle (x, y, w, h) on its floor, laid along the corridor."""
    shapes = {}
    for (_, _, side), row in PLAN.items():
        x = 0.0
        for room_id, w, h in row:
            if room_id:
                y = CORRIDOR[0] - h if side == "north" else CORRIDOR[1]
                shapes[room_id] = (x, y, float(w), float(h))
            x += w
    return shapes


FIRST = (
    "Aiden Amara Ava Benjamin Camila Carlos Chloe Daniel Diego Elijah Emily Emma Ethan Fatima "
    "Gabriel Grace Hannah Isaac Isabella Jackson Jasmine Kai Layla Leo Liam Lucas Maya Mia "
    "Noah Nora Olivia Omar Priya Riley Samuel Sofia Tyler Valeria William Zoe"
).split()
LAST = (
    "Adams Baker Brooks Chavez Chen Clark Davis Diaz Evans Flores Garcia Gonzalez Hall Harris "
    "Hernandez Jackson Johnson Kim Lee Lopez Martin Martinez Miller Morgan Nguyen Patel Perez "
    "Ramirez Reed Rivera Robinson Sanchez Scott Smith Taylor Thompson Torres Walker White Young"
).split()
# Staff whose rooms are fixed (the rest teach in a classroom or help in a shared space).
NAMED_STAFF = [
    ("Elena Ruiz", "OFFICE"), ("Marcus Bell", "OFFICE"), ("Dana Whitfield", "OFFICE"),
    ("Priya Natarajan", "NURSE"), ("Helen Okafor", "COUNSEL"), ("Tom Alvarez", "COUNSEL"),
    ("Ruth Lindqvist", "LIB"),
]
SHARED = ["CAF", "CAF", "CAF", "GYM", "GYM", "AUD", "LIB", "COUNSEL", "OFFICE"]
EXTRA_AIDES = 10


def _name(rng: random.Random, last: str | None = None) -> str:
    return f"{rng.choice(FIRST)} {last or rng.choice(LAST)}"


def _staff(rng: random.Random, classrooms: list[str]) -> list[Person]:
    placed = NAMED_STAFF + [(_name(rng), room) for room in classrooms + SHARED]
    placed += [(_name(rng), rng.choice(classrooms)) for _ in range(EXTRA_AIDES)]
    return [
        Person(id=f"t-{i:03d}", name=name, kind="staff", room=room)
        for i, (name, room) in enumerate(placed, start=1)
    ]


def _students(rng: random.Random, classrooms: list[str]) -> list[Person]:
    people = [
        Person(id="s-1001", name="Ada Lovelace", kind="student", room="B-112", grade="10",
               guardians=["Anne Byron"], restricted=["Lord Byron"])
    ]
    # Each grade has its own homerooms, filled in turn so no room is crowded.
    homerooms = {g: itertools.cycle(classrooms[g - 9 :: 4]) for g in (9, 10, 11, 12)}
    for n in range(1002, 1001 + STUDENTS):
        grade = rng.randint(9, 12)
        last = rng.choice(LAST)
        name = _name(rng, last)
        guardians: list[str] = []
        wanted = 2 if rng.random() < 0.6 else 1
        while len(guardians) < wanted:
            guardian = _name(rng, last if not guardians or rng.random() < 0.7 else None)
            if guardian not in guardians and guardian != name:
                guardians.append(guardian)
        restricted: list[str] = []
        if rng.random() < 0.02:  # a custody order: never release to this person
            other = _name(rng, last)
            while other in guardians or other == name:
                other = _name(rng, last)
            restricted.append(other)
        people.append(Person(id=f"s-{n}", name=name, kind="student", room=next(homerooms[grade]),
                             grade=str(grade), guardians=guardians, restricted=restricted))
    return people


# How the county's CAD knows the school (the premise id and address its EIDOs carry).
DISPATCH = Dispatch(
    ids=["CADPREMISE-88231"], names=["Demo High"], area="anytown-pd",
    address=Address(hno="1200", rd="Lincoln", sts="Avenue", a3="Anytown", a1="IL", pc="60000",
                    country="US"),
    lat=41.88, lon=-87.63, geofence_m=300.0,
)


def build() -> Site:
    """The demo site, identical on every call."""
    rng = random.Random(SEED)
    shapes = _shapes()
    rooms = [Room(id=i, name=n, building=b, floor=f, zone=z, x=shapes[i][0], y=shapes[i][1],
                  w=shapes[i][2], h=shapes[i][3]) for i, n, b, f, z in ROOMS]
    classrooms = [r.id for r in rooms if r.id[:2] in ("A-", "B-")]
    staff = _staff(rng, classrooms)
    students = with_contacts(_students(rng, classrooms))
    packet = ResponderPacket(
        knox_box="Main entrance (Building A), left of the doors",
        door_codes="Front 1234#, Gym 5678#",
        maps=[f"https://{BASE}/maps/building-{b}-floor-{f}.pdf" for b in "ab" for f in (1, 2)],
        cameras=[f"rtsp://{BASE}/cameras/{c}" for c in
                 ("front-entrance", "main-office", "cafeteria", "gym", "b-wing-hall")],
        aeds=["Gym lobby", "Nurse office", "Cafeteria entrance", "B wing, floor 1 by B-112"],
        contacts=[
            Contact(role="principal", name="Elena Ruiz", phone="+1-303-555-0101"),
            Contact(role="sro", name="Officer Sam Whitaker", phone="+1-303-555-0102"),
            Contact(role="nurse", name="Priya Natarajan", phone="+1-303-555-0103"),
        ],
    )
    live_drill: list[Mode] = ["live", "drill"]
    channels = [
        Channel(name="sro", url="json://127.0.0.1:9000/sro", modes=live_drill,
                audience="responders", roles=["responder"],
                escalate_after_s=30.0, escalate_to=["district-office"]),
        Channel(name="district-office", url="json://127.0.0.1:9000/district", modes=live_drill,
                audience="responders", roles=["commander"]),
        Channel(name="staff-all", url="json://127.0.0.1:9000/staff", modes=live_drill),
        # The principal's and administrators' own: alone to hear a 911 call's first alert.
        Channel(name="principal", url="json://127.0.0.1:9000/principal", modes=live_drill,
                audience="command", roles=["commander"]),
        Channel(name="counselor", url="json://127.0.0.1:9000/counselor", handle_with_care=True,
                events=["HandleWithCareIssued"], modes=["live"], roles=["staff"]),
    ]
    directives = {
        "evacuate": Directive(evacuate_to="north-field"),
        "fire": Directive(evacuate_to="north-field"),
        "bomb_threat": Directive(evacuate_to="st-marks"),  # away from the building and its lot
        "shelter": Directive(hazard="a tornado", strategy="drop, cover and hold"),
        "weather": Directive(hazard="a tornado", strategy="drop, cover and hold"),
        "hazmat": Directive(hazard="a chemical release", strategy="a sealed room"),
    }
    return validate(Site(
        id="demo-high", name="Demo High School", timezone="America/Denver",
        policy={"upset_parent": "hold"}, rooms=rooms, people=staff + students,
        responder_packet=packet, channels=channels, evacuation_sites=PLACES,
        directives=directives,  # type: ignore[arg-type]
        dispatch=DISPATCH, district="demo-district",
        drills=Drills(state="MI"),  # Michigan's drill requirements: docs/drills.md
        buses=buses(students), away_events=[away_game(students, staff)],
    ))


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value


def to_toml(site: Site) -> str:
    """The site as a TOML file (TOML has no null, so unset optional fields are left out)."""
    import tomli_w  # noqa: F401  (msgspec.toml.encode needs it; fail here with a clear error)

    doc = _drop_none(msgspec.to_builtins(site, builtin_types=(datetime,)))  # TOML datetimes
    if not doc.get("custody"):  # kept by roster imports only: a written file has none
        doc.pop("custody", None)
    body = msgspec.toml.encode(doc).decode()
    return "# Generated by `python -m command.bootstrap.demo`; do not edit by hand.\n" + body


def main() -> None:
    sys.stdout.write(to_toml(build()))


if __name__ == "__main__":
    main()
