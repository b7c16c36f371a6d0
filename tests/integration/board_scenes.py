"""Scenes for the board page's browser tests, driven over the HTTP API as any client would:
the bundled demo school, presses, room reports, flags, an evacuation with reunification."""

import asyncio
import uuid
from typing import Any

import aiohttp
from playwright.async_api import Page

from command.bootstrap.demo import DEMO_PATH
from command.domain import site as site_file
from tests.conftest import App

DEMO = "demo-high"
INJURED = ("s-1001", "Ada Lovelace")  # demo-high's student in B-112, with a custody order
RESTRICTED = "Lord Byron"  # kept from Ada by that order: his name is a custody flag
GUARDIAN = "Anne Byron"
KNOX = "Main entrance (Building A), left of the doors"
DOOR_CODE = "1234#"


class School:
    """A running Muster with one site, and the commands a script sends it."""

    def __init__(self, app: App, site: str) -> None:
        self.app = app
        self.site = site

    async def token(self, role: str) -> str:
        return await self.app.token(role, self.site)

    async def call(self, method: str, path: str, role: str, body: object = None,
                   status: int = 202) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {await self.token(role)}"}
        async with aiohttp.ClientSession() as http, \
                http.request(method, self.app.url + path, json=body, headers=headers) as resp:
            assert resp.status == status, (method, path, resp.status, await resp.text())
            return await resp.json()

    async def send(self, path: str, body: dict[str, Any], role: str = "commander",
                   status: int = 202) -> dict[str, Any]:
        """A command with a client_event_id of its own; it waits until the boards show it."""
        answer = await self.call("POST", path, role, {**body, "client_event_id": str(uuid.uuid4())},
                                 status)
        await self.settled()
        return answer

    async def press(self, kind: str, room: str, role: str = "staff", **more: Any) -> str:
        """A press; the incident it opened or joined."""
        answer = await self.send(f"/v1/sites/{self.site}/alerts", {"kind": kind, "room": room,
                                                                   **more}, role)
        return answer["incident_id"]

    async def report(self, incident: str, room: str, status: str, role: str = "staff",
                     **more: Any) -> dict[str, Any]:
        return await self.send(f"/v1/incidents/{incident}/rooms/{room}/status",
                               {"status": status, **more}, role)

    async def timeline(self, incident: str) -> list[dict[str, Any]]:
        return (await self.call("GET", f"/v1/incidents/{incident}/timeline", "commander",
                                status=200))["events"]

    async def board(self, role: str = "commander") -> dict[str, Any]:
        return await self.call("GET", f"/v1/sites/{self.site}/board", role, status=200)

    async def settled(self, timeout: float = 10.0) -> int:
        """Wait until the live boards and the read models have folded the whole stream."""
        last = await self.app.log.last_seq()
        gateway = self.app.muster.gateway
        assert gateway is not None
        await self.app.wait_projected(last, timeout)
        deadline = asyncio.get_running_loop().time() + timeout
        while gateway.applied < last:
            assert asyncio.get_running_loop().time() < deadline, "the boards fell behind"
            await asyncio.sleep(0.02)
        return last


async def demo_school(app: App) -> School:
    """demo-high imported into `app` (40 rooms, 860 people, the responder packet)."""
    await app.muster.import_site(site_file.load(DEMO_PATH))
    school = School(app, DEMO)
    await school.settled()
    return school


async def lockdown_with_injured(school: School) -> str:
    """A staff press in B-112, Biology reporting Ada Lovelace injured, three rooms secured."""
    incident = await school.press("armed_intruder", "B-112")
    await school.report(incident, "B-112", "needs_help", present=18, injured=[INJURED[0]])
    for room in ("A-101", "A-102", "LIB"):
        await school.report(incident, room, "secured", present=20)
    return incident


async def drill(school: School) -> str:
    """A lockdown drill with a note, four rooms secured."""
    answer = await school.send(f"/v1/sites/{school.site}/drills",
                               {"scenario": "lockdown", "note": "Spring lockdown drill"})
    for room in ("A-101", "A-102", "B-112", "GYM"):
        await school.report(answer["incident_id"], room, "secured", present=20)
    return answer["incident_id"]


async def lockdown_acknowledged(school: School) -> str:
    """The lockdown with an injured student, acknowledged by the SRO, with a note."""
    incident = await lockdown_with_injured(school)
    await school.send(f"/v1/incidents/{incident}/acks", {"responder": "Officer Whitaker (SRO)"},
                      "responder")
    await school.send(f"/v1/incidents/{incident}/notes",
                      {"text": "Suspect last seen in the B wing stairwell"}, "responder")
    return incident


async def custody_flag(school: School, incident: str) -> None:
    """A guardian barred by a custody order asks for Ada: written as a flag, answered 409."""
    await school.send(f"/v1/incidents/{incident}/reunification/guardians",
                      {"guardian": RESTRICTED, "id_verified": True, "students": [INJURED[0]]},
                      "staff", status=409)


async def evacuation_with_reunification(school: School) -> str:
    """Police activity, then the commander evacuates to the north field; reunification opened,
    four students checked in and one released to a listed guardian."""
    incident = await school.press("police_activity", "CAF")
    await school.send(f"/v1/incidents/{incident}/protocol",
                      {"action": "evacuate", "evacuate_to": "north-field"})
    for room in ("CAF", "A-101", "B-112"):
        await school.report(incident, room, "evacuated", present=20)
    await school.send(f"/v1/incidents/{incident}/reunification/open",
                      {"reason": "the building cannot be re-entered"})
    demo = site_file.load(DEMO_PATH)
    students = [p for p in demo.people if p.kind == "student" and not p.restricted][:4]
    for student in students:
        await school.send(f"/v1/incidents/{incident}/reunification/checkin",
                          {"person_id": student.id, "area": "north field, gate 2"}, "staff")
    first = students[0]
    await school.send(f"/v1/incidents/{incident}/reunification/guardians",
                      {"guardian": first.guardians[0], "id_verified": True,
                       "students": [first.id]}, "staff")
    await school.send(f"/v1/incidents/{incident}/reunification/release",
                      {"person_id": first.id, "guardian": first.guardians[0],
                       "student_consents": True}, "staff")
    return incident


async def shown_seq(page: Page, seq: int, timeout: float = 10_000) -> None:
    """Wait until the page's board (window.muster.board) is current to `seq`."""
    await page.wait_for_function(
        "(s) => !!(window.muster && window.muster.board && window.muster.board.seq >= s)",
        arg=seq, timeout=timeout)
