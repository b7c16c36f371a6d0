"""Every write route over HTTP: its 202, and its 400, 403, 404 and 409 answers, writing nothing."""

import uuid
from typing import NamedTuple

import aiohttp
import msgspec
import pytest

from command.domain.exception_rules import case_id
from command.domain.site import GuardianMessages
from command.write.routes import WRITE_ROUTES
from tests.conftest import App, small_site


class Case(NamedTuple):
    path: str
    role: str
    ok: dict
    bad: tuple[dict, str]  # an invalid body and the field its 400 names
    wrong_role: str
    conflict: dict | None = None  # a body that breaks a rule in the state the route is tried


SITE = "/v1/sites/test-high"
CASE = "x-CASE"  # an exception case's id, made by the decision: filled in per incident
INC = "/v1/incidents/{inc}"
CASES = [
    Case(SITE + "/alerts", "device", {"kind": "hold", "room": "GYM"},
         ({"kind": "hold", "room": "GYM", "silent": "yes"}, "$.silent"), "responder"),
    Case(SITE + "/drills", "commander", {"scenario": "fire"},
         ({"scenario": 3}, "$.scenario"), "staff", conflict={"scenario": "fire"}),
    Case(INC + "/protocol", "commander", {"action": "lockdown"},
         ({"action": "panic"}, "$.action"), "staff", conflict={"action": "hold"}),
    Case(INC + "/rooms/A-101/status", "staff", {"status": "secured", "present": 2},
         ({"status": "secured", "present": -3}, "$.present"), "responder"),
    Case(INC + "/accountability", "staff", {"entries": [{"person_id": "s-3",
                                                         "status": "accounted"}]},
         ({"entries": [{"person_id": "s-3", "status": "lost"}]}, "$.entries[0].status"),
         "device", conflict={"entries": [{"person_id": "s-3", "status": "reunified"}]}),
    Case(INC + "/reunification/checkin", "staff", {"person_id": "s-1"},
         ({"person_id": ""}, "$.person_id"), "responder", conflict={"person_id": "s-1"}),
    Case(INC + "/reunification/guardians", "staff",
         {"guardian": "Anne Byron", "id_verified": True, "students": ["s-1"]},
         ({"guardian": "Anne Byron", "id_verified": "y", "students": ["s-1"]},
          "$.id_verified"), "responder",
         conflict={"guardian": "Lord Byron", "id_verified": True, "students": ["s-1"]}),
    Case(INC + "/reunification/open", "commander", {"reason": "families at the gate"},
         ({"reason": 5}, "$.reason"), "staff", conflict={"reason": "again"}),
    Case(INC + "/reunification/release", "staff",
         {"person_id": "s-1", "guardian": "Anne Byron", "student_consents": True},
         ({"person_id": "s-1", "guardian": "Anne Byron"}, "$.student_consents"), "responder",
         conflict={"person_id": "s-1", "guardian": "Anne Byron", "student_consents": True}),
    Case(INC + "/reunification/arrivals", "staff",
         {"guardian": "Anne Byron", "students": ["s-1"], "card": "7"},
         ({"guardian": "Anne Byron", "students": "s-1"}, "$.students"), "responder",
         conflict={"guardian": "Sara Turing", "students": ["s-2"], "card": "7"}),
    Case(INC + "/reunification/fetch", "staff", {"person_id": "s-1", "guardian": "Anne Byron"},
         ({"person_id": "s-1"}, "$.guardian"), "responder",
         conflict={"person_id": "s-1", "guardian": "Anne Byron"}),
    Case(INC + "/reunification/exceptions", "staff",
         {"person_id": "s-1", "kind": "injured", "assigned_to": "Ms Nurse"},
         ({"person_id": "s-1", "kind": "burnt", "assigned_to": "Ms Nurse"}, "$.kind"),
         "responder", conflict={"person_id": "s-1", "kind": "missing", "assigned_to": "Mr A"}),
    Case(INC + "/reunification/exceptions/resolve", "commander",
         {"case_id": CASE, "outcome": "home", "released_to": "Anne Byron"},
         ({"case_id": CASE}, "$.outcome"), "staff",
         conflict={"case_id": CASE, "outcome": "again"}),
    Case(INC + "/reunification/point", "commander", {"place": "the town hall"},
         ({"place": ""}, "$.place"), "staff"),
    Case(INC + "/reunification/guardian-messages", "commander", {"place": "the town hall"},
         ({"place": 7}, "$.place"), "staff"),
    Case(INC + "/relocate", "commander", {"to": "the town hall", "reason": "smoke on the field"},
         ({"to": "the town hall"}, "$.reason"), "staff",
         conflict={"to": "the town hall", "reason": "again"}),
    Case(SITE + "/away-events", "staff", {"id": "trip-1", "name": "Museum trip",
                                          "people": ["s-1"]},
         ({"id": "trip 1", "name": "Museum trip"}, "$.id"), "responder",
         conflict={"id": "A-101", "name": "A room's id"}),
    Case(INC + "/acks", "responder", {"responder": "Unit 7"},
         ({"responder": "Unit\x07"}, "$.responder"), "staff"),
    Case(INC + "/notes", "staff", {"text": "door 3 propped open"},
         ({"text": "x" * 3000}, "$.text"), "device"),
    Case(INC + "/command", "commander", {"commander": "Lt. Diaz", "agency": "PD"},
         ({"commander": "Lt. Diaz"}, "$.agency"), "responder"),
    Case(SITE + "/handle-with-care", "responder", {"person_id": "s-2"},
         ({"person_id": 7}, "$.person_id"), "staff"),
    Case(INC + "/all-clear", "commander", {}, ({"force": True}, "$.force"), "staff",
         conflict={}),
    Case(INC + "/cancel", "commander", {"reason": "pressed by accident"},
         ({"reason": None}, "$.reason"), "responder"),
    Case(INC + "/close", "commander", {"summary": "done"}, ({"summary": 1}, "$.summary"),
         "staff"),
    Case(SITE + "/tabletops", "commander", {"scenario": "armed-intruder-dismissal"},
         ({"scenario": "no-such-scenario"}, "$.scenario"), "staff",
         conflict={"scenario": "chemical-spill-offsite"}),
    Case(INC + "/injects", "commander", {"index": 0, "text": "A man with a gun by the buses.",
                                         "at_s": 120, "clock": "15:02"},
         ({"index": 0, "text": "x", "clock": "25:99"}, "$.clock"), "staff"),
    Case(INC + "/sign-off", "commander", {"signed_by": "Dr. Reyes", "title": "Principal"},
         ({"signed_by": ""}, "$.signed_by"), "responder",
         conflict={"signed_by": "Someone Else"}),
]
OPENERS = ("/drills", "/tabletops")  # routes that open their own incident


def test_every_write_route_has_a_case() -> None:
    """A route added without a case here fails, so no route goes untested."""
    tested = {c.path.replace("{inc}", "{id}").replace("A-101", "{room}") for c in CASES}
    assert tested == {r.path.replace("/v1/sites/{site}", SITE) for r in WRITE_ROUTES}


async def post(app: App, path: str, body: object, role: str,
               site: str = "test-high") -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {await app.token(role, site)}"}
    async with aiohttp.ClientSession() as http, http.post(
            app.url + path, json=body, headers=headers) as resp:
        return resp.status, await resp.json()


async def open_incident(app: App, tabletop: bool = False) -> str:
    status, body = (await post(app, SITE + "/tabletops", {"scenario": "armed-intruder-dismissal"},
                               "commander") if tabletop else
                    await post(app, SITE + "/alerts", {"kind": "lockdown", "room": "B-112"},
                               "device"))
    assert status == 202
    return body["incident_id"]


async def prepare(app: App, case: Case, inc: str) -> None:
    """Bring the incident to the state the route's happy path needs."""
    if "release" in case.path or "guardians" in case.path or "fetch" in case.path:
        assert (await post(app, f"/v1/incidents/{inc}/reunification/checkin",
                           {"person_id": "s-1"}, "staff"))[0] == 202
    if "release" in case.path or "resolve" in case.path:  # a release: accounting, ID checked
        everyone = [{"person_id": p.id, "status": "accounted"} for p in small_site("x").people]
        assert (await post(app, f"/v1/incidents/{inc}/accountability", {"entries": everyone},
                           "staff"))[0] == 202
        assert (await post(app, f"/v1/incidents/{inc}/reunification/guardians",
                           {"guardian": "Anne Byron", "id_verified": True, "students": ["s-1"]},
                           "staff"))[0] == 202
    if "fetch" in case.path:
        assert (await post(app, f"/v1/incidents/{inc}/reunification/guardians",
                           {"guardian": "Anne Byron", "id_verified": True, "students": ["s-1"]},
                           "staff"))[0] == 202
    if "resolve" in case.path:
        assert (await post(app, f"/v1/incidents/{inc}/reunification/exceptions",
                           {"person_id": "s-1", "kind": "missing", "assigned_to": "Mr A"},
                           "staff"))[0] == 202
    if "close" in case.path:
        assert (await post(app, f"/v1/incidents/{inc}/all-clear", {}, "commander"))[0] == 202
    if "relocate" in case.path:  # a relocation moves an evacuation in force
        assert (await post(app, f"/v1/incidents/{inc}/protocol",
                           {"action": "evacuate", "evacuate_to": "the north field"},
                           "commander"))[0] == 202
    if "guardian-messages" in case.path:  # only a site that says how guardians are reached
        await app.muster.import_site(msgspec.structs.replace(small_site(), guardian_messages=(
            GuardianMessages(email="json://127.0.0.1:9/guardians?to={email}"))))


def filled(body: dict | None, inc: str) -> dict | None:
    """`body` with the incident's first exception case's id where it says CASE."""
    return None if body is None else {k: case_id(inc, 1) if v == CASE else v
                                      for k, v in body.items()}


@pytest.mark.parametrize("case", CASES, ids=[c.path.split("/")[-1] for c in CASES])
async def test_route(app: App, case: Case) -> None:
    opener = case.path.endswith(OPENERS)
    inc = "" if opener else await open_incident(app, tabletop=case.path.endswith("/injects"))
    if not opener:
        await prepare(app, case, inc)
    path = case.path.format(inc=inc)
    case = case._replace(ok=filled(case.ok, inc), conflict=filled(case.conflict, inc))
    before = await app.log.last_seq()

    bad, field = case.bad
    status, body = await post(app, path, bad, case.role)
    assert (status, body["error"]["field"]) == (400, field), body
    status, body = await post(app, path, case.ok, case.wrong_role)
    assert status == 403, body
    status, body = await post(app, path, case.ok, case.role, site="other-school")
    assert status == 403, body
    missing = (path.replace(inc, str(uuid.uuid4())) if path.startswith("/v1/incidents/")
               else path.replace("test-high", "nowhere"))
    status, body = await post(app, missing, case.ok, case.role, site="*")
    assert status == 404, body
    assert await app.log.last_seq() == before, "a rejected command wrote something"

    status, body = await post(app, path, case.ok, case.role)
    assert status == 202, body
    assert body["seq"] > before and body["duplicate"] is False
    if case.conflict is not None:
        after = await app.log.last_seq()
        status, body = await post(app, path, case.conflict, case.role)
        assert status == 409, body
        if "guardians" not in path:  # a flagged guardian check is written, for the board
            assert await app.log.last_seq() == after


async def test_nothing_is_written_to_a_closed_incident(app: App) -> None:
    inc = await open_incident(app)
    assert (await post(app, f"/v1/incidents/{inc}/all-clear", {}, "commander"))[0] == 202
    assert (await post(app, f"/v1/incidents/{inc}/close", {}, "commander"))[0] == 202
    before = await app.log.last_seq()
    for case in CASES:  # a record is signed off after the end; injects need a tabletop
        if case.path.startswith(INC) and not case.path.endswith(("/sign-off", "/injects")):
            status, body = await post(app, case.path.format(inc=inc), case.ok, case.role)
            assert status == 409, (case.path, body)
    assert await app.log.last_seq() == before
