"""A OneRoster 1.1 or 1.2 CSV bundle, as student information systems export it, read into a
site's people (pure: the files' text and the site's rooms in, people or every bad row out).

- users.csv: students (role student) with their grade (a 1.2 bundle may give roles in
  roles.csv instead, see oneroster_roles); their adults (parent, guardian,
  relative), linked by the student's `agentSourcedIds` (1.1 and 1.2; `agents` is read too),
  become `guardians` with a `GuardianContact` (sms, else phone, and email); staff (teacher,
  administrator, aide and the 1.2 administrator roles) become kind "staff".
- classes.csv + enrollments.csv: a person's room is their homeroom class's (`classType`
  homeroom): its `location` if that is a room id (or a room's name) of the site file, else its
  `classCode` likewise; any other homeroom is an unknown room.
- custody: the student's extension column `metadata.muster.restricted` lists the sourcedIds of
  adults never to release to; they go to `restricted`, never to `guardians` or contacts.
- demographics.csv is checked (every row names a known user) and otherwise not kept.
Any error refuses the whole bundle: a roster is never half-imported.
"""

from collections.abc import Sequence

import msgspec
from msgspec.structs import replace

from command.domain.oneroster_csv import MAX_ERRORS, Row, RowError, Table, header, listed, read
from command.domain.oneroster_roles import with_roles
from command.domain.site import Person, Room

FILES = ("users.csv", "roles.csv", "enrollments.csv", "classes.csv", "demographics.csv",
         "manifest.csv")
RESTRICTED = "metadata.muster.restricted"
AGENT_ROLES = frozenset({"parent", "guardian", "relative"})
STAFF_ROLES = frozenset({"teacher", "administrator", "aide", "proctor", "counselor", "principal",
                         "districtAdministrator", "siteAdministrator", "systemAdministrator"})
# CEDS grade levels, as OneRoster 1.1 and 1.2 name them.
GRADES = frozenset({"IT", "PR", "PK", "TK", "KG", *(f"{n:02d}" for n in range(1, 14)), "PS",
                    "UG", "Other"})


class Roster(msgspec.Struct, frozen=True):
    people: list[Person]
    errors: list[RowError]
    version: str  # "1.1" or "1.2", from the manifest or the users file's columns
    # users.csv has the metadata.muster.restricted column: the bundle says who is restricted
    restrictions: bool = False


def parse(files: dict[str, str], rooms: Sequence[Room], school: str | None = None) -> Roster:
    """Every person of the bundle, or (people empty) every bad row found. With `school` (an
    org's sourcedId), a district's export gives that school's people alone: its classes and
    enrollments (`schoolSourcedId`), and the students and staff whose `orgSourcedIds` name it;
    their adults are found wherever the export lists them."""
    errors: list[RowError] = []
    unknown = sorted(set(files) - set(FILES))
    errors += [RowError(n, 0, "", "not a OneRoster file Muster reads") for n in unknown]
    version = _manifest(files.get("manifest.csv"), errors)
    if "users.csv" not in files:
        errors.append(RowError("users.csv", 0, "", "the bundle has no users.csv"))
        return Roster([], errors, version)
    # OneRoster 1.2 may leave `role` out of users.csv and say it in roles.csv
    columns = header(files["users.csv"])
    in_roles = bool(columns) and "role" not in columns
    users = read("users.csv", files["users.csv"], ("sourcedId", "givenName", "familyName")
                 + (() if in_roles else ("role",)),
                 ("sourcedId",) + (() if in_roles else ("role",)), errors)
    if in_roles and ("roles.csv" not in files or not any(
            r.file == "users.csv" and r.line == 1 for r in errors)):
        users = with_roles(users, files.get("roles.csv"), school, errors)
        version = "1.2" if "roles.csv" in files else version
    if any(r.file == "users.csv" and r.line == 1 for r in errors):
        return Roster([], errors, version)  # with no users, every reference would be unknown
    if "agents" not in users.columns and "userMasterIdentifier" in users.columns \
            and version == "1.1":
        version = "1.2"
    classes = read("classes.csv", files.get("classes.csv", "sourcedId,classType\n"),
                   ("sourcedId", "classType"), ("sourcedId", "classType"), errors)
    enrolled = read("enrollments.csv", files.get("enrollments.csv",
                                                 "classSourcedId,userSourcedId,role\n"),
                    ("classSourcedId", "userSourcedId", "role"),
                    ("classSourcedId", "userSourcedId", "role"), errors)
    if school:
        classes = _of(classes, school, "schoolSourcedId")
        enrolled = _of(enrolled, school, "schoolSourcedId")
    by_id = {r.get("sourcedId"): r for r in users.rows}
    if "demographics.csv" in files:
        demo = read("demographics.csv", files["demographics.csv"], ("sourcedId",),
                    ("sourcedId",), errors)
        errors += [RowError("demographics.csv", r.line, "sourcedId", f"unknown user "
                            f"{r.get('sourcedId')!r}") for r in demo.rows
                   if r.get("sourcedId") not in users.named]
    homerooms = _homerooms(classes, rooms, errors)
    room_of = _rooms_of(enrolled, homerooms, classes.named, users.named, errors)
    people = [p for r in _of(users, school, "orgSourcedIds").rows
              if (p := _person(r, by_id, users.named, room_of, errors)) is not None]
    if school and not people:  # a mistyped school would otherwise remove everyone
        errors.append(RowError("users.csv", 0, "orgSourcedIds", f"no student or staff of "
                               f"school {school!r} in the bundle"))
    if errors:
        return Roster([], errors[:MAX_ERRORS], version)
    return Roster(people, [], version, RESTRICTED in users.columns)


def _of(table: Table, school: str | None, column: str) -> Table:
    """The rows of `school` (all without one); an adult's row is kept wherever it is listed,
    and a row that leaves the column empty is kept (a single school's export)."""
    if not school or column not in table.columns:
        return table
    return replace(table, rows=[r for r in table.rows if not r.get(column)
                                or r.get("role") in AGENT_ROLES
                                or school in listed(r.get(column))])


def _manifest(text: str | None, errors: list[RowError]) -> str:
    if text is None:
        return "1.1"
    table = read("manifest.csv", text, ("propertyName", "value"), ("propertyName",), errors)
    props = {r.get("propertyName"): (r.get("value"), r.line) for r in table.rows}
    for name, (value, line) in props.items():
        if name.startswith("file.") and value == "delta":
            errors.append(RowError("manifest.csv", line, "value", f"{name} is a delta: Muster "
                                   "imports a bulk export, where a person left out is removed"))
    return "1.2" if props.get("oneroster.version", ("1.1", 0))[0].startswith("1.2") else "1.1"


def _room_id(row: Row, rooms: Sequence[Room]) -> str | None:
    """The site room a homeroom class is in: its location, else its classCode, as a room's id
    or (exactly) a room's name."""
    ids = {r.name: r.id for r in rooms} | {r.id: r.id for r in rooms}  # an id outranks a name
    for column in ("location", "classCode"):
        value = row.get(column)
        if value in ids:
            return ids[value]
    return None


def _homerooms(classes: Table, rooms: Sequence[Room], errors: list[RowError]) -> dict[str, str]:
    """Homeroom class sourcedId -> the site's room id."""
    found = {}
    for row in classes.rows:
        if row.get("classType").lower() != "homeroom":
            continue
        room = _room_id(row, rooms)
        if room is None:
            said = row.get("location") or row.get("classCode") or "(none given)"
            errors.append(RowError("classes.csv", row.line, "location", f"unknown room "
                                   f"{said!r}: neither location nor classCode is a room of "
                                   "the site file"))
            continue
        found[row.get("sourcedId")] = room
    return found


def _rooms_of(enrolled: Table, homerooms: dict[str, str], classes: frozenset[str],
              users: frozenset[str], errors: list[RowError]) -> dict[str, str]:
    """User sourcedId -> room: their first (or `primary`) homeroom enrollment."""
    room_of: dict[str, str] = {}
    for row in enrolled.rows:
        cls, user = row.get("classSourcedId"), row.get("userSourcedId")
        if cls not in classes:
            errors.append(RowError("enrollments.csv", row.line, "classSourcedId",
                                   f"unknown class {cls!r}"))
        if user not in users:
            errors.append(RowError("enrollments.csv", row.line, "userSourcedId",
                                   f"unknown user {user!r}"))
        if cls in homerooms and (user not in room_of or row.get("primary").lower() == "true"):
            room_of[user] = homerooms[cls]
    return room_of


def _name(row: Row) -> str:
    given = row.get("preferredGivenName") or row.get("givenName")
    family = row.get("preferredFamilyName") or row.get("familyName")
    return f"{given} {family}".strip()


def _person(row: Row, users: dict[str, Row], named: frozenset[str], room_of: dict[str, str],
            errors: list[RowError]) -> Person | None:
    role, sid = row.get("role"), row.get("sourcedId")
    if role in AGENT_ROLES:
        return None  # an adult is kept on their students' rows
    if role not in STAFF_ROLES and role != "student":
        errors.append(RowError("users.csv", row.line, "role", f"unknown role {role!r}"))
        return None
    if not _name(row):
        errors.append(RowError("users.csv", row.line, "givenName", "the person has no name"))
        return None
    doc: dict[str, object] = {"id": sid, "name": _name(row), "room": room_of.get(sid),
                              "kind": "student" if role == "student" else "staff"}
    if role == "student":
        grades = listed(row.get("grades"))
        bad = [g for g in grades if g not in GRADES]
        if bad or len(grades) > 1:
            errors.append(RowError("users.csv", row.line, "grades", f"bad grade "
                                   f"{row.get('grades')!r}: one of {', '.join(sorted(GRADES))}"))
            return None
        doc["grade"] = grades[0] if grades else None
        doc.update(_adults(row, users, named, errors))
    try:
        return msgspec.convert(doc, Person)
    except msgspec.ValidationError as exc:
        path = str(exc).rsplit("`$.", 1)[-1].rstrip("`") if "`$." in str(exc) else ""
        field = {"id": "sourcedId", "name": "givenName"}.get(path, path)
        errors.append(RowError("users.csv", row.line, field, str(exc)))
        return None


def _adults(row: Row, users: dict[str, Row], named: frozenset[str], errors: list[RowError],
            ) -> dict[str, object]:
    """A student's guardians with their contacts, and the adults never to release to."""
    column = "agentSourcedIds" if "agentSourcedIds" in row.cells else "agents"
    agents, barred = listed(row.get(column)), listed(row.get(RESTRICTED))
    for field, ids in ((column, agents), (RESTRICTED, barred)):
        for aid in ids:
            if aid not in named:
                errors.append(RowError("users.csv", row.line, field, f"unknown user {aid!r}"))
            elif field == column and aid in users and users[aid].get("role") not in AGENT_ROLES:
                errors.append(RowError("users.csv", row.line, field, f"{aid!r} is a "
                                       f"{users[aid].get('role')}, not a parent, guardian or "
                                       "relative"))
    guardians = [users[a] for a in agents if a in users and a not in barred]
    return {
        "guardians": [_name(g) for g in guardians],
        "restricted": [_name(users[a]) for a in barred if a in users],
        "contacts": [{"name": _name(g), "relationship": g.get("role"),
                      "phone": g.get("sms") or g.get("phone"), "email": g.get("email")}
                     for g in guardians],
    }
