"""A scripted 911 call at the demo school, sent by a small CAD simulator over HTTP: call received,
units dispatched, en route (with ETA), on scene, structure cleared, closed. At every step the
answer, the board (responder whole, staff the summary), the timeline, the report, the EIDO out and
a subscribed STA-024 client are checked. Every request and answer goes to
test-artefacts/dispatch-sequence.md."""

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp

from command.bootstrap.demo import DEMO_PATH
from command.domain import site as site_file
from tests.conftest import App
from tests.eido_docs import AGENCY, body, eido, unit
from tests.eido_schema import SCHEMAS, errors
from tests.integration.cad_ws import Cad, cad_socket, conveyance_errors

SITE = "demo-high"
AREA = "area:anytown-pd"  # the [dispatch] area demo-high names
CAD_ID = "CAD-2026-007734"
TRACKING = f"urn:emergency:uid:incidentid:5e0c11d2a9f4:psap.{AGENCY}"
ARTEFACT = Path(__file__).resolve().parents[2] / "test-artefacts" / "dispatch-sequence.md"
TRIM = 600
WORDS = {"dispatched": "dispatched", "en_route": "en route", "on_scene": "on scene",
         "cleared": "cleared"}  # how Muster's EIDO note tells a unit's status


@dataclass
class Step:
    """What one snapshot should leave: the CAD's status, each unit's (status, ETA), the staff
    summary, and the registry statuses Muster's own EIDO then says."""

    name: str
    doc: dict[str, Any]
    status: str
    units: dict[str, tuple[str, str | None]]
    notes: list[str]
    summary: str
    eido_statuses: list[str]


class CadSimulator:
    """One 911 call at the demo school as a CAD tells it: each step the incident's whole state
    (STA-021 is a snapshot, never a delta), a minute or so later than the one before."""

    def __init__(self) -> None:
        self.minute = 0
        self.units: dict[str, tuple[tuple[str, ...], str | None]] = {}
        self.notes: list[str] = []

    def _at(self) -> str:
        self.minute += 1
        return f"2026-03-12T10:{10 + self.minute:02d}:00.000-05:00"

    def _eta(self, minutes: int) -> str:
        return f"2026-03-12T10:{10 + self.minute + minutes:02d}:00.000-05:00"

    def _step(self, name: str, status: str, shown: dict[str, tuple[str, str | None]],
              summary: str, eido_statuses: list[str]) -> Step:
        doc = eido(self._at(), tracking=TRACKING, premise="CADPREMISE-88231", kind="WEAPON",
                   status=(status,), cad_id=CAD_ID, notes=tuple(self.notes),
                   units=tuple(unit(n, *s, eta=eta) for n, (s, eta) in self.units.items()))
        # What STA-021 requires and eido_docs leaves out: the agency's role, each unit's crew
        # and attributes.
        doc["agencyComponent"][0]["agencyRoleDescriptionRegistryText"] = ["Dispatching"]
        for part in doc["emergencyResourceComponent"]:
            crew = part["emergencyResourceName"].lower()
            part["agentReference"] = [{"$ref": f"officer.{crew}@{AGENCY}"}]
            part["resourceAttributeRegistryText"] = ["TaserTrained"]
        return Step(name, doc, status, shown, list(self.notes), summary, eido_statuses)

    def call_received(self) -> Step:
        self.notes.append("Caller reports a man with a handgun near the gym")
        return self._step("call received", "Active", {}, "911 has the call", ["Active"])

    def units_dispatched(self) -> Step:
        self.units = {"A12": (("Dispatched",), None), "A14": (("Dispatched",), None)}
        return self._step("units dispatched", "ResourcesAssigned",
                          {"A12": ("dispatched", None), "A14": ("dispatched", None)},
                          "911 has the call", ["Active", "ResourcesAssigned"])

    def en_route(self) -> Step:
        eta12, eta14 = self._eta(4), self._eta(7)
        self.units = {"A12": (("Dispatched", "EnRoute"), eta12),
                      "A14": (("Dispatched", "EnRoute"), eta14)}
        return self._step("en route", "ResourcesEnroute",
                          {"A12": ("en_route", eta12), "A14": ("en_route", eta14)},
                          "Police en route", ["Active", "ResourcesEnroute"])

    def on_scene(self) -> Step:
        eta14 = self.units["A14"][1]
        self.units = {"A12": (("OnScene",), None), "A14": (("Dispatched", "EnRoute"), eta14)}
        self.notes.append("A12 on scene, entering through the east doors")
        return self._step("on scene", "ResourcesOnscene",
                          {"A12": ("on_scene", None), "A14": ("en_route", eta14)},
                          "Police on scene", ["Active", "ResourcesEnroute", "ResourcesOnscene"])

    def structure_cleared(self) -> Step:
        self.units = {"A12": (("OnScene",), None), "A14": (("OnScene",), None)}
        self.notes.append("Building searched, structure cleared, suspect in custody")
        return self._step("structure cleared", "StructureCleared",
                          {"A12": ("on_scene", None), "A14": ("on_scene", None)},
                          "Police on scene", ["Active", "ResourcesOnscene", "StructureCleared"])

    def closed(self) -> Step:
        self.units = {"A12": (("Cleared",), None), "A14": (("Cleared",), None)}
        return self._step("closed", "Closed",
                          {"A12": ("cleared", None), "A14": ("cleared", None)},
                          "911 call closed", ["Active"])

    def script(self) -> list[Step]:
        return [self.call_received(), self.units_dispatched(), self.en_route(), self.on_scene(),
                self.structure_cleared(), self.closed()]


@dataclass
class Recorder:
    """Every HTTP request of the sequence and its answer, for the closing note."""

    http: aiohttp.ClientSession
    base: str
    lines: list[str] = field(default_factory=list)

    async def call(self, method: str, path: str, token: str,
                   payload: bytes | None = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"}
        if payload is not None:
            headers["Content-Type"] = "application/json"
        async with self.http.request(method, self.base + path, data=payload,
                                     headers=headers) as resp:
            raw = await resp.read()
            status = resp.status
        self.lines += [f"`{method} {path}`", ""]
        if payload is not None:
            self.lines += ["```json", _trim(payload.decode()), "```", ""]
        self.lines += [f"→ **{status}**", "", "```json", _trim(raw.decode()), "```", ""]
        return status, json.loads(raw) if raw else None

    def heading(self, text: str) -> None:
        self.lines += [f"## {text}", ""]

    def write(self) -> None:
        ARTEFACT.parent.mkdir(parents=True, exist_ok=True)
        ARTEFACT.write_text("# A scripted 911 call at demo-high (POST /v1/dispatch/eido)\n\n"
                            "Bodies trimmed to 600 characters.\n\n" + "\n".join(self.lines))


def _trim(text: str) -> str:
    return text if len(text) <= TRIM else text[:TRIM] + " …"


def same_time(a: str | None, b: str | None) -> bool:
    if a is None or b is None:
        return a is b
    return datetime.fromisoformat(a) == datetime.fromisoformat(b)


async def until(fetch: Callable[[], Awaitable[Any]], ready: Callable[[Any], bool],
                tries: int = 200) -> Any:
    """Read until the read models have caught up with the step (they are eventually
    consistent); the last read when they never do, for the assertion to show."""
    got = None
    for _ in range(tries):
        got = await fetch()
        if ready(got):
            return got
        await asyncio.sleep(0.05)
    return got


def units_of(dispatch: dict[str, Any]) -> dict[str, tuple[str, str | None]]:
    return {u["name"]: (u["status"], u.get("eta")) for u in dispatch.get("units") or []}


def units_match(got: dict[str, tuple[str, str | None]],
                want: dict[str, tuple[str, str | None]]) -> bool:
    return got.keys() == want.keys() and all(
        got[k][0] == want[k][0] and same_time(got[k][1], want[k][1]) for k in want)


def dispatch_note(doc: dict[str, Any]) -> str:
    """The note of Muster's EIDO that tells 911's units."""
    return next((n["notesActionComments"] for n in doc.get("notesComponent", [])
                 if "911 incident" in n["notesActionComments"]), "")


def reflects(doc: dict[str, Any], step: Step) -> bool:
    """Whether Muster's EIDO tells this step: the registry statuses, the CAD number and each
    unit with its status in the dispatch note."""
    inc = doc.get("incidentComponent", {})
    note = dispatch_note(doc)
    return (inc.get("incidentStatusCommonRegistryText") == step.eido_statuses
            and CAD_ID in note and all(f"{name} {WORDS[status]}" in note
                                       for name, (status, _) in step.units.items()))


async def start(app: App) -> dict[str, str]:
    await app.muster.import_site(site_file.load(DEMO_PATH))
    return {role: await app.token(role, SITE) for role in ("responder", "staff", "commander")} | {
        "dispatch": await app.token("dispatch", AREA)}


async def test_a_911_call_told_step_by_step_reaches_every_reader(app: App) -> None:
    tokens = await start(app)
    steps = CadSimulator().script()
    async with aiohttp.ClientSession() as http, cad_socket(app.url, tokens["dispatch"]) as ws:
        rec = Recorder(http, app.url)
        cad = Cad(ws)
        subscribed = await cad.subscribe(requestSubType="new")
        assert subscribed["statusCode"] == 200
        incident = None
        try:
            for n, step in enumerate(steps, 1):
                rec.heading(f"{n}. {step.name}")
                incident = await check_step(app, rec, cad, tokens, step, n, incident)
        finally:
            rec.write()


async def check_step(app: App, rec: Recorder, cad: Cad, tokens: dict[str, str], step: Step,
                     n: int, incident: str | None) -> str:
    """Send one snapshot, resend it, and check every reader: the incident's id."""
    before = await app.log.last_seq()
    status, answer = await rec.call("POST", "/v1/dispatch/eido", tokens["dispatch"],
                                    body(step.doc))
    assert (status, answer["duplicate"]) == (202, False), answer
    assert answer["incident_id"] and answer["seq"] > before
    assert incident in (None, answer["incident_id"]), "every step lands on one incident"
    incident = answer["incident_id"]
    written = await app.log.last_seq()
    status, again = await rec.call("POST", "/v1/dispatch/eido", tokens["dispatch"],
                                   body(step.doc))
    assert (status, again["duplicate"], again["incident_id"]) == (202, True, incident), again
    assert await app.log.last_seq() == written, "a resent snapshot writes nothing"

    board_path = f"/v1/sites/{SITE}/board"

    async def responder_board() -> Any:
        return (await rec.call("GET", board_path, tokens["responder"]))[1]

    board = await until(responder_board, lambda b: (b.get("dispatch") or {}).get("status")
                        == step.status)
    got = board["dispatch"]
    assert board["incident"]["id"] == incident
    assert (got["cad_id"], got["status"], got["type"]) == (CAD_ID, step.status, "WEAPON")
    assert units_match(units_of(got), step.units), got["units"]
    assert got["notes"] == step.notes
    status, staff_board = await rec.call("GET", board_path, tokens["staff"])
    assert status == 200 and staff_board["dispatch"] == {"summary": step.summary}

    timeline_path = f"/v1/incidents/{incident}/timeline"
    status, timeline = await rec.call("GET", timeline_path, tokens["responder"])
    told = [ev for ev in timeline["events"] if ev["type"] == "DispatchUpdated"]
    assert status == 200 and len(told) == n, "one DispatchUpdated per step, none per resend"
    assert told[-1]["data"]["status"] == step.status and told[-1]["data"]["cad_id"] == CAD_ID
    assert units_match(units_of(told[-1]["data"]), step.units)
    status, staff_timeline = await rec.call("GET", timeline_path, tokens["staff"])
    assert [ev["data"] for ev in staff_timeline["events"] if ev["type"] == "DispatchUpdated"][
        -1] == {"summary": step.summary}

    status, report = await rec.call("GET", f"/v1/incidents/{incident}/report?format=json",
                                    tokens["commander"])
    lines = [entry["text"] for entry in report["timeline"] if entry["type"] == "DispatchUpdated"]
    assert status == 200 and len(lines) == n
    assert lines[-1].startswith(f"dispatch {CAD_ID} WEAPON {step.status}"), lines[-1]
    assert all(name in lines[-1] for name in step.units)
    if step.notes:
        assert "dispatcher note" in lines[-1]

    status, out = await rec.call("GET", f"/v1/incidents/{incident}/eido", tokens["dispatch"])
    assert status == 200 and reflects(out, step), json.dumps(out)[:2000]
    inc = out["incidentComponent"]
    assert inc["incidentTypeCommonRegistryText"] == "WEAPON"
    assert inc["incidentCommonPriorityNumber"] == 9

    notified = await notify_for(cad, step)
    rec.lines += [f"WebSocket notify `{notified['event']['transactionId']}` acknowledged; "
                  f"its EIDO's statuses: {step.eido_statuses}", ""]
    return incident


async def notify_for(cad: Cad, step: Step) -> dict[str, Any]:
    """Each notify until one carries this step's EIDO, each acknowledged with its
    transactionId; the one that does."""
    for _ in range(20):
        event = await cad.receive("event")
        await cad.ack(event)
        docs = event["event"]["notification"]
        if any(reflects(doc, step) for doc in docs):
            return event
    raise AssertionError(f"no notify told {step.name}")


async def test_every_document_of_the_call_meets_nenas_schemas(app: App, eido_dir: Path) -> None:
    """The sequence's EIDOs (the CAD's in, Muster's out) against both STA-021 schemas, and the
    subscriber's messages against the STA-024 conveyance schema."""
    tokens = await start(app)
    steps = CadSimulator().script()
    async with aiohttp.ClientSession() as http, cad_socket(app.url, tokens["dispatch"]) as ws:
        rec, cad = Recorder(http, app.url), Cad(ws)
        await cad.subscribe(requestSubType="new")
        for step in steps:
            for name in SCHEMAS:
                assert errors(eido_dir, name, step.doc) == [], (step.name, name)
            status, answer = await rec.call("POST", "/v1/dispatch/eido", tokens["dispatch"],
                                            body(step.doc))
            assert status == 202
            await notify_for(cad, step)
            path = f"/v1/incidents/{answer['incident_id']}/eido"

            async def read(path: str = path) -> Any:
                return await rec.call("GET", path, tokens["dispatch"])

            status, out = await until(read, lambda got, step=step: got[0] == 200
                                      and reflects(got[1], step))
            assert status == 200 and reflects(out, step)
            for name in SCHEMAS:
                assert errors(eido_dir, name, out) == [], (step.name, name)
    assert cad.received and cad.sent
    for message in (*cad.sent, *cad.received):
        assert conveyance_errors(eido_dir, message) == [], message

