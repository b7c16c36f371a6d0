"""A generated OneRoster 1.1 bulk export for the small site's rooms: `students` students with
two adults each, a teacher per homeroom, classes, enrollments and demographics."""

import csv
import io

ROOMS = ("A-101", "A-102", "B-112", "GYM")
USERS = ("sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,"
         "givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,"
         "password,metadata.muster.restricted").split(",")


def _csv(header: list[str], rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def user(sid: str, role: str, given: str, family: str, *, email: str = "", sms: str = "",
         agents: str = "", grade: str = "", restricted: str = "") -> list[str]:
    return [sid, "active", "2026-08-01", "true", "org-1", role, sid, "", given, family, "", "",
            email, sms, "", agents, grade, "", restricted]


def bundle(students: int = 5000) -> dict[str, list[list[str]]]:
    """Rows by file (header first): edited by a test, then written with `files`."""
    users, enrol = [USERS], [["sourcedId", "status", "dateLastModified", "classSourcedId",
                              "schoolSourcedId", "userSourcedId", "role", "primary",
                              "beginDate", "endDate"]]
    classes = [["sourcedId", "status", "dateLastModified", "title", "grades", "courseSourcedId",
                "classCode", "classType", "location", "schoolSourcedId", "termSourcedIds",
                "subjects", "subjectCodes", "periods"]]
    for room in ROOMS:
        classes.append([f"hr-{room}", "active", "", f"Homeroom {room}", "09", "c-hr", room,
                        "homeroom", "", "org-1", "term-1", "", "", ""])
        users.append(user(f"t-{room}", "teacher", "Teacher", room))
        enrol.append([f"e-t-{room}", "active", "", f"hr-{room}", "org-1", f"t-{room}",
                      "teacher", "true", "", ""])
    classes.append(["maths-1", "active", "", "Maths", "09", "c-m", "M1", "scheduled", "Room 9",
                    "org-1", "term-1", "", "", ""])
    demo = [["sourcedId", "status", "dateLastModified", "birthDate", "sex"]]
    for i in range(students):
        sid, mum, dad = f"stu-{i}", f"par-{i}a", f"par-{i}b"
        room = ROOMS[i % len(ROOMS)]
        users.append(user(sid, "student", f"Student{i}", "Pupil", agents=f"{mum},{dad}",
                          grade=f"{9 + i % 4:02d}"))
        users.append(user(mum, "parent", f"Mum{i}", "Pupil", email=f"mum{i}@example.org",
                          sms=f"+1555{i:07d}"))
        users.append(user(dad, "guardian", f"Dad{i}", "Pupil", sms=f"+1666{i:07d}"))
        enrol.append([f"e-{i}", "active", "", f"hr-{room}", "org-1", sid, "student", "false",
                      "", ""])
        if i % 10 == 0:
            enrol.append([f"e-m-{i}", "active", "", "maths-1", "org-1", sid, "student", "false",
                          "", ""])
        demo.append([sid, "active", "", "2011-01-01", "female" if i % 2 else "male"])
    return {"users.csv": users, "enrollments.csv": enrol, "classes.csv": classes,
            "demographics.csv": demo}


def files(rows: dict[str, list[list[str]]]) -> dict[str, str]:
    return {name: _csv(table[0], table[1:]) for name, table in rows.items()}
