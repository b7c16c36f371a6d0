"""OneRoster 1.1 and 1.2 CSV bundles read into people (`command/domain/oneroster.py`): students,
their guardians with contacts and custody restrictions, staff, homerooms mapped to the site's
rooms; and every kind of bad row reported with its file, line and field, nothing imported."""

from command.domain.oneroster import parse
from command.domain.oneroster_csv import RowError
from command.domain.site import GuardianContact, Person, Room

ROOMS = [Room(id="A-101", name="English"), Room(id="B-112", name="Biology")]
USERS_11 = (
    "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,"
    "givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,"
    "password,metadata.muster.restricted\n"
    "s1,,,true,org1,student,ada,,Ada,Lovelace,,,,,,\"p1,p2\",09,,p2\n"
    "s2,active,,true,org1,student,alan,,Alan,Turing,,,,,,p3,10,,\n"
    "p1,,,true,org1,parent,anne,,Anne,Byron,,,anne@example.org,+15550101,+15550100,,,,\n"
    "p2,,,true,org1,parent,byron,,Lord,Byron,,,lord@example.org,,+15550199,,,,\n"
    "p3,,,true,org1,guardian,sara,,Sara,Turing,,,,,+15550102,,,,\n"
    "t1,,,true,org1,teacher,cb,,Charles,Babbage,,,,,,,,,\n"
    "x1,tobedeleted,,true,org1,student,gone,,Gone,Away,,,,,,,11,,\n"
)
CLASSES = ("sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,"
           "location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods\n"
           "hr1,,,Homeroom 1,09,c1,B-112,homeroom,,org1,t1,,,\n"
           "hr2,,,Homeroom 2,10,c1,HR2,homeroom,English,org1,t1,,,\n"
           "m1,,,Maths,09,c2,MATH,scheduled,Room 9,org1,t1,,,\n")
ENROLLMENTS = ("sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,"
               "role,primary,beginDate,endDate\n"
               "e1,,,hr1,org1,s1,student,false,,\n"
               "e2,,,hr2,org1,s2,student,false,,\n"
               "e3,,,hr1,org1,t1,teacher,true,,\n"
               "e4,,,m1,org1,s1,student,false,,\n")
DEMOGRAPHICS = ("sourcedId,status,dateLastModified,birthDate,sex\n"
                "s1,,,2010-12-10,female\n")


def bundle(**files: str) -> dict[str, str]:
    base = {"users.csv": USERS_11, "classes.csv": CLASSES, "enrollments.csv": ENROLLMENTS,
            "demographics.csv": DEMOGRAPHICS}
    return {**base, **{k.replace("_csv", ".csv"): v for k, v in files.items()}}


def errors_of(**files: str) -> list[tuple[str, int, str]]:
    roster = parse(bundle(**files), ROOMS)
    assert roster.people == []  # any error: nothing is imported
    return [(r.file, r.line, r.field) for r in roster.errors]


def test_a_1_1_bundle_gives_students_guardians_restrictions_and_staff() -> None:
    roster = parse(bundle(), ROOMS)
    assert roster.errors == [] and roster.version == "1.1"
    by_id = {p.id: p for p in roster.people}
    assert sorted(by_id) == ["s1", "s2", "t1"]  # adults ride on rows; tobedeleted is gone
    assert by_id["s1"] == Person(
        id="s1", name="Ada Lovelace", room="B-112", grade="09", guardians=["Anne Byron"],
        restricted=["Lord Byron"],
        contacts=[GuardianContact(name="Anne Byron", relationship="parent", phone="+15550101",
                                  email="anne@example.org")])
    # homeroom by location (a room's name) when classCode is no room id
    assert by_id["s2"].room == "A-101"
    assert by_id["s2"].contacts[0].phone == "+15550102"
    assert (by_id["t1"].kind, by_id["t1"].room) == ("staff", "B-112")


def test_a_1_2_bundle_with_its_extra_columns_and_manifest() -> None:
    users = USERS_11.replace("password,metadata", "password,userMasterIdentifier,"
                             "preferredGivenName,metadata")
    lines = users.splitlines()
    rows = [lines[0], *(",".join([*line.split(",")[:18], "", "", *line.split(",")[18:]])
                         for line in lines[1:])]
    # Ada's quoted agents hold a comma: rebuild her row by hand
    rows[1] = "s1,,,true,org1,student,ada,,Ada,Lovelace,,,,,,\"p1,p2\",09,,,Addie,p2"
    manifest = "propertyName,value\nmanifest.version,1.0\noneroster.version,1.2\nfile.users,bulk\n"
    roster = parse(bundle(users_csv="\n".join(rows) + "\n", manifest_csv=manifest), ROOMS)
    assert roster.errors == [] and roster.version == "1.2"
    ada = next(p for p in roster.people if p.id == "s1")
    assert (ada.name, ada.guardians, ada.restricted) == ("Addie Lovelace", ["Anne Byron"],
                                                         ["Lord Byron"])


def test_the_1_1_rest_style_agents_column_is_read_too() -> None:
    users = USERS_11.replace("agentSourcedIds", "agents")
    ada = next(p for p in parse(bundle(users_csv=users), ROOMS).people if p.id == "s1")
    assert ada.guardians == ["Anne Byron"]


def test_a_missing_column_is_an_error_on_the_header_line() -> None:
    users = USERS_11.replace("familyName", "surname")
    assert errors_of(users_csv=users) == [("users.csv", 1, "familyName")]


def test_a_missing_value_names_its_line_and_field() -> None:
    users = USERS_11 + "s9,,,true,org1,,nobody,,No,Role,,,,,,,09,,\n"
    assert errors_of(users_csv=users) == [("users.csv", 9, "role")]


def test_an_unknown_reference_in_each_place() -> None:
    users = USERS_11.replace("p3,10", "p404,10")
    enrol = ENROLLMENTS + "e5,,,hr9,org1,s1,student,false,,\ne6,,,hr1,org1,s99,student,,,\n"
    demo = DEMOGRAPHICS + "s77,,,2011-01-01,male\n"
    assert sorted(errors_of(users_csv=users, enrollments_csv=enrol, demographics_csv=demo)) == [
        ("demographics.csv", 3, "sourcedId"),
        ("enrollments.csv", 6, "classSourcedId"),
        ("enrollments.csv", 7, "userSourcedId"),
        ("users.csv", 3, "agentSourcedIds"),
    ]


def test_a_restriction_naming_no_user_is_an_error() -> None:
    users = USERS_11.replace(",p2\n", ",p404\n", 1)
    assert errors_of(users_csv=users) == [("users.csv", 2, "metadata.muster.restricted")]


def test_a_bad_grade() -> None:
    users = USERS_11.replace(",10,,", ",tenth,,")
    assert errors_of(users_csv=users) == [("users.csv", 3, "grades")]


def test_a_duplicate_sourced_id_names_both_lines() -> None:
    users = USERS_11 + "s2,,,true,org1,student,alan2,,Alan,Again,,,,,,,10,,\n"
    roster = parse(bundle(users_csv=users), ROOMS)
    assert roster.errors == [RowError("users.csv", 9, "sourcedId",
                                      "duplicate sourcedId 's2' (first on line 3)")]


def test_a_homeroom_in_no_room_of_the_site_file() -> None:
    classes = CLASSES.replace("HR2,homeroom,English", "HR2,homeroom,Room 404")
    assert errors_of(classes_csv=classes) == [("classes.csv", 3, "location")]


def test_an_unknown_role_and_a_bad_id() -> None:
    users = USERS_11 + ("s8,,,true,org1,janitor,j,,Jan,Itor,,,,,,,,,\n"
                        "s.9,,,true,org1,student,dot,,Dot,Ted,,,,,,,09,,\n")
    assert errors_of(users_csv=users) == [("users.csv", 9, "role"), ("users.csv", 10,
                                                                       "sourcedId")]


def test_a_row_of_the_wrong_width_and_a_quoted_line_break_keep_lines_right() -> None:
    users = USERS_11.replace("Alan,Turing", "\"Alan\nMathison\",Turing") + "s5,student\n"
    # the name with a line break is no name (line 3); the short row starts on line 10, not 9
    assert sorted(errors_of(users_csv=users)) == [("users.csv", 3, "givenName"),
                                                  ("users.csv", 10, "")]


def test_a_delta_bundle_is_refused() -> None:
    manifest = "propertyName,value\noneroster.version,1.1\nfile.users,delta\n"
    assert errors_of(manifest_csv=manifest) == [("manifest.csv", 3, "value")]


def test_no_users_file_and_an_unknown_file() -> None:
    files = {"classes.csv": CLASSES, "grades.csv": "x\n"}
    roster = parse(files, ROOMS)
    assert [(r.file, r.field) for r in roster.errors] == [("grades.csv", ""), ("users.csv", "")]


def test_a_byte_order_mark_and_blank_lines_are_fine() -> None:
    roster = parse(bundle(users_csv="\ufeff" + USERS_11 + "\n\n"), ROOMS)
    assert roster.errors == [] and len(roster.people) == 3


def test_a_district_export_gives_one_schools_people() -> None:
    users = (USERS_11.replace(",org1,", ",\"org1,district\",")
             + "s3,,,true,org2,student,other,,Other,School,,,,,,p1,09,,\n"
             + "t2,,,true,org2,teacher,ot,,Other,Teacher,,,,,,,,,\n")
    classes = CLASSES + "hr9,,,Homeroom 9,09,c1,R9,homeroom,Room 9,org2,t1,,,\n"
    enrol = ENROLLMENTS + "e9,,,hr9,org2,s3,student,false,,\n"
    files = bundle(users_csv=users, classes_csv=classes, enrollments_csv=enrol)
    assert [(r.file, r.field) for r in parse(files, ROOMS).errors] == [("classes.csv",
                                                                         "location")]
    roster = parse(files, ROOMS, school="org1")
    assert roster.errors == [] and sorted(p.id for p in roster.people) == ["s1", "s2", "t1"]
    # the other school's student shares Ada's mother, listed once in the export
    assert [p.id for p in parse(bundle(users_csv=users), ROOMS, school="org2").people] == [
        "s3", "t2"]


def test_a_school_with_nobody_in_the_bundle_is_an_error_not_an_empty_roster() -> None:
    roster = parse(bundle(), ROOMS, school="org-typo")
    assert [(r.file, r.field) for r in roster.errors] == [("users.csv", "orgSourcedIds")]


# OneRoster 1.2 CSV binding: users.csv has no role (nor orgSourcedIds); roles.csv holds each
# user's roles, one row per role at an org, roleType primary or secondary.
USERS_12 = (
    "sourcedId,status,dateLastModified,enabledUser,username,userIds,givenName,familyName,"
    "middleName,identifier,email,sms,phone,agentSourcedIds,grades,password,userMasterIdentifier,"
    "resourceSourcedIds,preferredGivenName,preferredMiddleName,preferredFamilyName,"
    "primaryOrgSourcedId,pronouns\n"
    "s1,,,true,ada,,Ada,Lovelace,,,,,,\"p1,p2\",09,,,,,,,org1,\n"
    "s3,,,true,oth,,Other,School,,,,,,p1,09,,,,,,,org2,\n"
    "p1,,,true,anne,,Anne,Byron,,,anne@example.org,+15550101,,,,,,,,,,org1,\n"
    "p2,,,true,byron,,Lord,Byron,,,lord@example.org,,,,,,,,,,,org1,\n"
    "t1,,,true,cb,,Charles,Babbage,,,,,,,,,,,,,,org1,\n"
)
ROLES_12 = (
    "sourcedId,status,dateLastModified,userSourcedId,roleType,role,beginDate,endDate,"
    "orgSourcedId,userProfileSourcedId\n"
    "r1,active,,s1,primary,student,,,org1,\n"
    "r2,active,,s3,primary,student,,,org2,\n"
    "r3,active,,p1,primary,parent,,,org1,\n"
    "r4,active,,p2,primary,parent,,,org1,\n"
    "r5,active,,t1,primary,teacher,,,org2,\n"
    "r6,active,,t1,secondary,administrator,,,org1,\n"
)
MANIFEST_12 = "propertyName,value\nmanifest.version,1.0\noneroster.version,1.2\n"


def bundle_12(users: str = USERS_12, roles: str | None = ROLES_12) -> dict[str, str]:
    files = {"users.csv": users, "manifest.csv": MANIFEST_12, "classes.csv": CLASSES,
             "enrollments.csv": ENROLLMENTS.replace("e2,,,hr2,org1,s2,", "e2,,,hr2,org2,s3,")}
    return files | ({"roles.csv": roles} if roles is not None else {})


def test_a_1_2_bundle_gives_roles_from_roles_csv() -> None:
    roster = parse(bundle_12(), ROOMS)
    assert roster.errors == [] and roster.version == "1.2"
    by_id = {p.id: p for p in roster.people}
    assert sorted(by_id) == ["s1", "s3", "t1"]  # the parents ride on their students' rows
    assert (by_id["s1"].kind, by_id["s1"].room, by_id["s1"].guardians) == (
        "student", "B-112", ["Anne Byron", "Lord Byron"])
    assert by_id["s1"].contacts[0] == GuardianContact(
        name="Anne Byron", relationship="parent", phone="+15550101", email="anne@example.org")
    assert by_id["t1"].kind == "staff"  # the primary role: teacher
    assert roster.restrictions is False  # no metadata.muster.restricted column


def test_a_1_2_district_export_takes_each_users_role_at_the_school() -> None:
    roster = parse(bundle_12(), ROOMS, school="org1")
    assert roster.errors == [] and sorted(p.id for p in roster.people) == ["s1", "t1"]
    assert parse(bundle_12(), ROOMS, school="org2").people[0].id == "s3"  # Ada's at org1
    # a student of one school only: their role elsewhere does not make them the other's
    assert "s3" not in {p.id for p in roster.people}


def test_a_1_2_bundle_with_bad_roles_names_each_row() -> None:
    roles = ROLES_12.replace("r5,active,,t1,primary", "r5,active,,t1,main") + \
        "r7,active,,nobody,primary,student,,,org1,\n"
    roster = parse(bundle_12(roles=roles.replace("r2,active,,s3,primary,student,,,org2,\n",
                                                  "")), ROOMS)
    assert sorted((r.file, r.line, r.field) for r in roster.errors) == [
        ("roles.csv", 5, "roleType"), ("roles.csv", 7, "userSourcedId"),
        ("users.csv", 3, "role")]  # s3 has no role at all
    assert roster.people == []
    missing = parse(bundle_12(roles=None), ROOMS)
    assert [(r.file, r.line, r.field) for r in missing.errors] == [("users.csv", 1, "role")]
    assert "roles.csv" in missing.errors[0].message


def test_whether_the_bundle_says_who_is_restricted() -> None:
    assert parse(bundle(), ROOMS).restrictions is True
    users = "\n".join(line.rsplit(",", 1)[0] for line in USERS_11.splitlines()) + "\n"
    roster = parse(bundle(users_csv=users), ROOMS)
    assert roster.errors == [] and roster.restrictions is False
    ada = next(p for p in roster.people if p.id == "s1")
    assert ada.restricted == [] and ada.guardians == ["Anne Byron", "Lord Byron"]
