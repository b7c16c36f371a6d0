"""The bundled demo site: the shipped TOML is exactly what the generator builds."""

from command.bootstrap import demo
from command.bootstrap.demo import DEMO_PATH
from command.domain import site


def test_shipped_file_equals_generator() -> None:
    assert site.load(DEMO_PATH) == demo.build()


def test_shipped_file_is_byte_identical_to_to_toml() -> None:
    assert DEMO_PATH.read_text(encoding="utf-8") == demo.to_toml(demo.build())
    assert DEMO_PATH.stat().st_size < 200_000


def test_build_is_deterministic() -> None:
    assert demo.build() == demo.build()


def test_counts_and_references() -> None:
    s = demo.build()
    assert (s.id, s.name, s.timezone) == ("demo-high", "Demo High School", "America/Denver")
    assert s.policy == {"upset_parent": "hold"}
    assert 35 <= len(s.rooms) <= 45
    assert {r.building for r in s.rooms} == {"A", "B"}
    students = [p for p in s.people if p.kind == "student"]
    staff = [p for p in s.people if p.kind == "staff"]
    assert 750 <= len(students) <= 850
    assert 50 <= len(staff) <= 70
    assert all(p.grade in {"9", "10", "11", "12"} for p in students)
    room_ids = {r.id for r in s.rooms}
    assert {"GYM", "CAF", "LIB", "OFFICE", "NURSE"} <= room_ids
    assert all(p.room in room_ids for p in s.people)
    assert site.validate(s) is s


def test_fixed_room_and_student() -> None:
    s = demo.build()
    assert site.Room(id="B-112", name="Biology", building="B", floor=1, zone="east", x=24.0,
                     y=24.0, w=10.0, h=12.0) in s.rooms
    students = [p for p in s.people if p.kind == "student"]
    assert students[0] == site.Person(
        id="s-1001", name="Ada Lovelace", kind="student", room="B-112", grade="10",
        guardians=["Anne Byron"], restricted=["Lord Byron"],
        contacts=[
            site.GuardianContact(name="Anne Byron", relationship="guardian",
                                 phone="+1-303-555-0110", email="anne.byron@example.org"),
            site.GuardianContact(name="Lord Byron", relationship="restricted: custody order",
                                 phone="+1-303-555-0111", email="lord.byron@example.org"),
        ],
    )


def test_some_students_have_restricted_guardians() -> None:
    students = [p for p in demo.build().people if p.kind == "student"]
    restricted = [p for p in students if p.restricted]
    assert len(restricted) >= 2  # Ada plus at least one generated custody order
    assert all(not set(p.restricted) & set(p.guardians) for p in restricted)


def test_channels() -> None:
    channels = {c.name: c for c in demo.build().channels}
    assert {"sro", "district-office", "staff-all", "counselor"} <= set(channels)
    sro = channels["sro"]
    assert sro.url == "json://127.0.0.1:9000/sro"
    assert sro.escalate_after_s == 30 and sro.escalate_to == ["district-office"]
    assert channels["counselor"].handle_with_care
    assert channels["counselor"].modes == ["live"]


def test_every_room_is_drawn_on_its_floor_without_overlap() -> None:
    """The demo's floor plan: each room a rectangle, none overlapping another on its floor,
    the gym, cafeteria and auditorium each bigger than any classroom."""
    rooms = demo.build().rooms
    assert all(None not in (r.x, r.y, r.w, r.h) for r in rooms)

    def overlap(a: site.Room, b: site.Room) -> bool:
        return (a.x < b.x + b.w and b.x < a.x + a.w  # type: ignore[operator]
                and a.y < b.y + b.h and b.y < a.y + a.h)  # type: ignore[operator]

    same_floor = [(a, b) for i, a in enumerate(rooms) for b in rooms[i + 1:]
                  if (a.building, a.floor) == (b.building, b.floor)]
    assert same_floor and not [(a.id, b.id) for a, b in same_floor if overlap(a, b)]
    area = {r.id: r.w * r.h for r in rooms}  # type: ignore[operator]
    biggest_class = max(a for i, a in area.items() if i[:2] in ("A-", "B-"))
    assert min(area["GYM"], area["CAF"], area["AUD"]) > biggest_class
