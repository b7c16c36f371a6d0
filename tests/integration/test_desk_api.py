"""The reunification desk over HTTP on a running Muster (real NATS and PostgreSQL): the SRM steps
through the write routes, the desk document by role, refusals that write nothing, and the
district's progress per point."""

import aiohttp
from msgspec.structs import replace

from command.domain.site import EvacuationSite, GuardianContact, Site
from tests.conftest import App, small_site
from tests.integration.test_demo_lockdown import call

CHURCH = EvacuationSite(id="church", name="St Paul's Church", kind="reunification",
                        address="1 Church Rd")
PHONE = "+15550100"


def desk_site() -> Site:
    s = small_site()
    contact = GuardianContact(name="Anne Byron", relationship="mother", phone=PHONE)
    return replace(s, district="d-1", evacuation_sites=[CHURCH], people=[
        replace(p, contacts=[contact]) if p.id == "s-1" else p for p in s.people])


async def opened(http: aiohttp.ClientSession, app: App) -> tuple[str, str]:
    """A fire evacuated to the church, everyone accounted for, s-1 and s-2 checked in."""
    await app.muster.import_site(desk_site())
    staff, commander = await app.token("staff"), await app.token("commander")
    status, body = await call(http, app, "/v1/sites/test-high/alerts", staff,
                              {"kind": "fire", "room": "B-112"})
    assert status == 202, body
    inc = body["incident_id"]
    base = f"/v1/incidents/{inc}"
    steps = [(commander, "/protocol", {"action": "evacuate", "evacuate_to": "church"}),
             (staff, "/accountability", {"entries": [
                 {"person_id": p.id, "status": "accounted"} for p in desk_site().people]}),
             (staff, "/reunification/checkin", {"person_id": "s-1"}),
             (staff, "/reunification/checkin", {"person_id": "s-2"})]
    for token, path, payload in steps:
        status, body = await call(http, app, base + path, token, payload)
        assert status == 202, (path, body)
    return inc, base


async def refused(http: aiohttp.ClientSession, app: App, path: str, token: str, payload: object,
                  status: int, field: str | None) -> None:
    """The request is answered `status` naming `field`, and nothing reaches the stream."""
    before = await app.log.last_seq()
    got, body = await call(http, app, path, token, payload)
    assert got == status, body
    if field is not None:
        assert body["error"]["field"] == field, body
    assert await app.log.last_seq() == before


async def test_the_srm_steps_through_the_api_and_the_desk_by_role(app: App) -> None:
    async with aiohttp.ClientSession() as http:
        inc, base = await opened(http, app)
        staff, commander = await app.token("staff"), await app.token("commander")
        desk = base + "/reunification"
        for payload, field in [({"guardian": "A", "students": []}, "$.students"),
                               ({"guardian": "A", "students": ["s-1"], "cards": "1"}, None)]:
            await refused(http, app, desk + "/arrivals", staff, payload, 400, field)
        greet = {"guardian": "Anne Byron", "students": ["s-1"], "card": "7"}
        assert (await call(http, app, desk + "/arrivals", staff, greet))[0] == 202
        await refused(http, app, desk + "/arrivals", staff, greet, 409, "$.card")
        await refused(http, app, desk + "/fetch", staff,
                      {"person_id": "s-1", "guardian": "Anne Byron"}, 409, "$.guardian")
        for path, payload in [
            ("/guardians", {"guardian": "Anne Byron", "id_verified": True, "students": ["s-1"],
                            "card": "7"}),
            ("/fetch", {"person_id": "s-1", "guardian": "Anne Byron", "card": "7"}),
            ("/release", {"person_id": "s-1", "guardian": "Anne Byron",
                          "student_consents": True, "card": "7"})]:
            status, body = await call(http, app, desk + path, staff, payload)
            assert status == 202, (path, body)

        await refused(http, app, desk + "/exceptions", staff,
                      {"person_id": "s-2", "kind": "hospital", "assigned_to": "Ms Nurse"},
                      400, "$.hospital")
        status, body = await call(http, app, desk + "/exceptions", staff, {
            "person_id": "s-2", "kind": "hospital", "assigned_to": "Ms Nurse",
            "hospital": "St Mary's"})
        assert status == 202, body
        await refused(http, app, desk + "/release", staff, {
            "person_id": "s-2", "guardian": "Sara Turing", "student_consents": True}, 409,
            "$.person_id")
        await app.wait_projected(await app.log.last_seq())
        status, doc = await call(http, app, desk, commander)
        assert status == 200, doc
        [case] = doc["exceptions"]
        resolve = {"case_id": case["case_id"], "outcome": "home", "released_to": "Lord Byron"}
        await refused(http, app, desk + "/exceptions/resolve", staff, resolve, 403, None)
        await refused(http, app, desk + "/exceptions/resolve", commander, resolve, 409,
                      "$.released_to")
        await refused(http, app, desk + "/exceptions/resolve", commander,
                      {**resolve, "case_id": "x-nothing"}, 404, "$.case_id")

        assert (doc["incident_id"], doc["school"], doc["mode"]) == (inc, "Test High", "live")
        assert doc["point"] == {"place": "St Paul's Church", "place_id": "church",
                                "address": "1 Church Rd"}
        assert doc["accounting_complete"] and doc["releases_open"]
        states = {s["id"]: s["state"] for s in doc["students"]}
        assert (states["s-1"], states["s-2"], states["s-3"]) == (
            "released", "exception", "not_checked_in")
        assert doc["counts"] == {"students": 6, "checked_in": 2, "guardians_waiting": 0,
                                 "released": 1, "exceptions": 1}
        assert doc["times"]["first_release_at"] and doc["times"]["longest_wait_s"] >= 0
        assert (case["kind"], case["hospital"], case["resolved"]) == ("hospital", "St Mary's",
                                                                      False)
        staff_doc = (await call(http, app, desk, staff))[1]
        assert PHONE in str(staff_doc) and "Lord Byron" in str(staff_doc)
        for role in ("responder", "dispatch", "device", "admin"):
            status, body = await call(http, app, desk, await app.token(role))
            assert status == 403, (role, body)
            assert PHONE not in str(body)
        assert (await call(http, app, "/v1/incidents/nope/reunification", commander))[0] == 404
        other = await app.token("staff", "other-high")
        assert (await call(http, app, desk, other))[0] == 403

        status, timeline = await call(http, app, base + "/timeline", await app.token("responder"))
        assert status == 200 and "St Mary" not in str(timeline) and "Anne" not in str(timeline)
        # The report's reunification section: a responder reads how many cases, never their kind.
        status, report = await call(http, app, base + "/report", await app.token("responder"))
        assert status == 200, report
        assert (report["reunification"]["exceptions"], report["reunification"]["cases"],
                report["reunification"]["exception_cases"]) == ({}, [], 1)
        assert "hospital" not in str(report["reunification"])
        status, report = await call(http, app, base + "/report", commander)
        assert report["reunification"]["exceptions"] == {"hospital": 1}


async def test_the_district_reads_progress_per_point_with_an_all_sites_token(app: App) -> None:
    async with aiohttp.ClientSession() as http:
        inc, base = await opened(http, app)
        staff = await app.token("staff")
        status, body = await call(http, app, base + "/reunification/arrivals", staff,
                                  {"guardian": "Sara Turing", "students": ["s-2"]})
        assert status == 202, body
        await app.wait_projected(await app.log.last_seq())
        path = "/v1/districts/d-1/reunification"
        for role in ("commander", "admin"):
            status, doc = await call(http, app, path, await app.token(role, "*"))
            assert status == 200, doc
            [point] = doc["points"]
            assert (doc["district"], point["place_id"], point["sites"], point["incidents"]) == (
                "d-1", "church", ["test-high"], [inc])
            assert (point["students_waiting"], point["guardians_waiting"], point["released"],
                    point["exceptions"]) == (2, 1, 0, 0)
            assert "Sara" not in str(doc)
        assert (await call(http, app, path, await app.token("commander")))[0] == 403
        assert (await call(http, app, path, await app.token("staff", "*")))[0] == 403
        status, _ = await call(http, app, "/v1/districts/nowhere/reunification",
                               await app.token("commander", "*"))
        assert status == 404
