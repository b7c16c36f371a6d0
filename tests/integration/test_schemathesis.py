"""Schemathesis drives every route of `GET /openapi.json` against a live Muster: no 5xx, every
answer conforms to the document, and the stream holds no event from a rejected case.

The live server runs in this test's event loop, so the generated cases (sent with `requests`)
run in a worker thread while the loop serves them; the stream is read back through the loop.
"""

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiohttp
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.errors import FailureGroup

from command.domain import events as e
from tests.conftest import App
from tests.integration.fuzztally import examples, record

SITE = "test-high"
ROOMS = ("A-101", "A-102", "B-112", "GYM")
STUDENTS = ("s-1", "s-2", "s-3", "s-4", "s-5", "s-6")
PEOPLE = (*STUDENTS, "t-1", "t-2")
GUARDIANS = ("Anne Byron", "Lord Byron", "Sara Turing", "Mary Murray", "Jane Huberman")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance, negative_data_rejection,
          ignored_auth]
# Cases per operation: the write routes carry the risk; reads and probes need fewer.
WRITE_EXAMPLES = examples(130)  # MUSTER_FUZZ_EXAMPLES scales both, for a long run by hand
OTHER_EXAMPLES = examples(40)
T = TypeVar("T")


@dataclass
class Write:
    """A case during which the stream moved on (or should not have)."""

    label: str
    status: int
    before: int
    after: int
    answer: dict[str, Any] | None


@dataclass
class Outcome:
    """What the run saw, for the assertions and for the report when one fails."""

    cases: int = 0
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    failures: dict[tuple[str, str], str] = field(default_factory=dict)
    writes: list[Write] = field(default_factory=list)
    cursor: int = 0  # the stream's last seq once the previous case and its checks were done

    def fail(self, label: str, title: str, detail: str) -> None:
        self.failures.setdefault((label, title), f"{label}: {title}\n{detail}")


def role_for(operation: Any) -> str | None:
    """The role the description names: commander where allowed, else the first listed."""
    description = operation.definition.raw.get("description", "")
    if not description.startswith("Roles: "):
        return None
    roles = [r.strip() for r in description[7:].split(".")[0].split(",")]
    return "commander" if "commander" in roles else roles[0]


def real_ids(body: Any, draw: st.DrawFn) -> None:
    """Point a schema-valid body at rooms, people and guardians the site has, so cases reach the
    rules behind the lookups instead of stopping at their 404."""
    if not isinstance(body, dict):
        return
    for key, value in body.items():
        if key == "room" and isinstance(value, str):
            body[key] = draw(st.sampled_from(ROOMS))
        elif key == "person_id" and isinstance(value, str):
            body[key] = draw(st.sampled_from(PEOPLE))
        elif key == "guardian" and isinstance(value, str):
            body[key] = draw(st.sampled_from(GUARDIANS))
        elif key in ("students", "missing", "injured", "extra") and isinstance(value, list):
            body[key] = draw(st.lists(st.sampled_from(STUDENTS), max_size=3,
                                      min_size=1 if key == "students" else 0))
        elif key == "entries" and isinstance(value, list):
            for entry in value:
                real_ids(entry, draw)


def site_file(body: Any, draw: st.DrawFn) -> None:
    """A PUT mostly names the URL's site."""
    if isinstance(body, dict) and draw(st.integers(0, 3)):
        body["id"] = SITE


def no_channels(body: Any) -> None:
    """A generated Apprise URL must not make this test post alerts to some host, and the
    notifier's own events would blur which case wrote what."""
    if isinstance(body, dict) and "channels" in body:
        body["channels"] = []


def cases(operation: Any, fixed: dict[str, dict[str, str]], incident: str,
          ) -> st.SearchStrategy[Any]:
    """Positive and negative cases, mostly at the real site, incident and rooms."""
    names = {p["name"] for p in operation.definition.raw.get("parameters", [])
             if p["in"] == "path"}
    has_body = "requestBody" in operation.definition.raw
    real: list[dict[str, str]] = [{}]
    if "site" in names:
        real = [{"site": SITE}]
    if "id" in names:
        real = [{"id": incident}]
    if "room" in names:
        real = [{**r, "room": room} for r in real for room in ROOMS]
    if "name" in names:
        real = [{"name": "board.js"}, {"name": "board.css"}]
    choices: list[tuple[GenerationMode, dict[str, str]]] = [
        (GenerationMode.POSITIVE, path) for path in real * 4]
    if has_body:
        choices += [(GenerationMode.NEGATIVE, path) for path in real * 3]
    if names:
        choices += [(GenerationMode.POSITIVE, {}), (GenerationMode.NEGATIVE, {})]
    strategies = [st.tuples(st.just(mode), operation.as_strategy(
        generation_mode=mode, path_parameters=path or None, **fixed)) for mode, path in choices]
    fix = site_file if operation.method.upper() == "PUT" else real_ids

    @st.composite
    def patched(draw: st.DrawFn) -> Any:
        mode, case = draw(st.sampled_from(strategies).flatmap(lambda s: s))
        if mode is GenerationMode.POSITIVE and draw(st.integers(0, 3)):
            fix(case.body, draw)
        no_channels(case.body)
        return case

    return patched()


def run_operation(operation: Any, strategy: st.SearchStrategy[Any], examples: int,
                  base_url: str, last_seq: Callable[[], int], out: Outcome) -> None:
    session = requests.Session()
    session.trust_env = False  # the server is on loopback; ignore any proxy the env names
    label = f"{operation.method.upper()} {operation.path}"

    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def run(case: Any) -> None:
        before = last_seq()
        if before != out.cursor:
            out.fail(label, "the stream moved between cases",
                     f"{out.cursor} -> {before}, before {case.as_curl_command()}")
        response = case.call(base_url=base_url, session=session, timeout=10)
        after = last_seq()
        out.cases += 1
        out.statuses[(label, response.status_code)] += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=dict(case.headers or {}),
                                   transport_kwargs={"base_url": base_url, "session": session})
        except (FailureGroup, AssertionError) as exc:
            out.fail(label, str(exc).splitlines()[0] + " " + str(response.status_code),
                     str(exc))
        out.cursor = last_seq()
        if out.cursor != after:
            out.fail(label, "a check's unauthenticated probe wrote to the stream",
                     f"{after} -> {out.cursor} after {case.as_curl_command()}")
        if after != before or response.status_code == 202:
            answer = response.json() if response.status_code == 202 else None
            out.writes.append(Write(label, response.status_code, before, after, answer))
            if response.status_code != 202:
                out.writes[-1].answer = {"curl": case.as_curl_command(), "body": response.text}

    run()


def in_loop(loop: asyncio.AbstractEventLoop, make: Callable[[], Coroutine[Any, Any, T]],
            ) -> Callable[[], T]:
    """A blocking call, for the worker thread, of a coroutine run on the server's loop."""
    return lambda: asyncio.run_coroutine_threadsafe(make(), loop).result(10)


async def post(app: App, path: str, body: dict[str, Any], role: str) -> int:
    async with aiohttp.ClientSession() as session, session.post(
            app.url + path, json=body,
            headers={"Authorization": f"Bearer {await app.token(role)}"}) as resp:
        return resp.status


async def press(app: App) -> str:
    async with aiohttp.ClientSession() as session, session.post(
            f"{app.url}/v1/sites/{SITE}/alerts", json={"kind": "lockdown", "room": "B-112"},
            headers={"Authorization": f"Bearer {await app.token('device')}"}) as resp:
        assert resp.status == 202, await resp.text()
        return (await resp.json())["incident_id"]


async def settle(app: App, incident: str) -> None:
    """Lift and close the open incident, so a drill may start."""
    assert await post(app, f"/v1/incidents/{incident}/all-clear", {}, "commander") in (202, 409)
    assert await post(app, f"/v1/incidents/{incident}/close", {}, "commander") in (202, 409)


def check_stream(out: Outcome, setup: list[tuple[int, int]], start: int, end: int,
                 events: dict[int, e.Event]) -> list[str]:
    """Every event after `start` belongs to a setup step, a 202, or the one documented 409 that
    writes (a flagged guardian check); each 202 names an event its own case wrote."""
    problems: list[str] = []
    owned: set[int] = {seq for a, b in setup for seq in range(a + 1, b + 1)}
    for w in out.writes:
        written = [events[seq] for seq in range(w.before + 1, w.after + 1)]
        owned.update(range(w.before + 1, w.after + 1))
        if w.status == 202 and w.answer is not None and w.answer["duplicate"]:
            if written:
                problems.append(f"{w.label}: a duplicate 202 wrote {written}")
        elif w.status == 202 and w.answer is not None:
            if w.answer["seq"] != w.after or w.answer["event_id"] not in {
                    ev.id for ev in written}:
                problems.append(f"{w.label}: 202 {w.answer} but the case wrote {written}")
        elif w.label.endswith("/reunification/guardians") and w.status == 409:
            if not written or not all(isinstance(ev, e.GuardianCheckedIn) and ev.data.flags
                                      for ev in written):
                problems.append(f"{w.label}: flagged 409 wrote {written}")
        else:
            problems.append(f"{w.label}: {w.status} wrote seqs {w.before + 1}..{w.after}: "
                            f"{written} ({w.answer})")
    stray = sorted(set(range(start + 1, end + 1)) - owned)
    if stray:
        problems.append(f"events no case or setup step accounts for: {stray}")
    return problems


async def test_schemathesis_every_route(app: App) -> None:
    async with aiohttp.ClientSession() as session, session.get(
            app.url + "/openapi.json") as resp:
        assert resp.status == 200
        schema = schemathesis.openapi.from_dict(await resp.json())
    operations = [result.ok() for result in schema.get_all_operations()]
    # The PUT may replace the site's rooms and roster, so it runs after everything that uses them.
    operations.sort(key=lambda op: op.method.upper() == "PUT")
    loop = asyncio.get_running_loop()
    last_seq = in_loop(loop, app.log.last_seq)
    out = Outcome()
    setup: list[tuple[int, int]] = []
    start = await app.log.last_seq()
    started = time.monotonic()
    for operation in operations:
        before = await app.log.last_seq()
        incident = await press(app)  # each operation starts with an open incident
        if operation.path.endswith("/drills"):
            await settle(app, incident)
        out.cursor = await app.log.last_seq()
        setup.append((before, out.cursor))
        fixed: dict[str, dict[str, str]] = {}
        role = role_for(operation)
        if role is not None and operation.path.endswith("/ws"):
            fixed["query"] = {"token": await app.token(role)}
        elif role is not None:
            fixed["headers"] = {"Authorization": f"Bearer {await app.token(role)}"}
        examples = WRITE_EXAMPLES if operation.method.upper() != "GET" else OTHER_EXAMPLES
        await asyncio.to_thread(run_operation, operation, cases(operation, fixed, incident),
                                examples, app.url, last_seq, out)
    elapsed = time.monotonic() - started
    end = await app.log.last_seq()
    events = {seq: event async for seq, event in app.log.read(start + 1, end)}
    accepted = sum(n for (_, status), n in out.statuses.items() if status == 202)
    print(f"\nschemathesis: {out.cases} cases over {len(operations)} operations in "
          f"{elapsed:.1f} s; {accepted} accepted, {end - start} events written; statuses "
          f"{sorted(out.statuses.items())}")
    problems = check_stream(out, setup, start, end, events)
    record("schemathesis", out.cases, out.statuses, len(problems), elapsed)
    assert not out.failures, "\n\n".join(out.failures.values())
    assert not problems, "\n".join(problems)
    assert accepted > 100  # the run reached the rules, not only the validators


async def test_openapi_documents_every_route_the_app_serves(app: App) -> None:
    """A route added without its place in the document would escape the run above."""
    async with aiohttp.ClientSession() as session, session.get(
            app.url + "/openapi.json") as resp:
        documented = {(method.upper(), path) for path, item in (await resp.json())[
            "paths"].items() for method in item}
    assert app.muster.runner is not None
    served = {(route.method, route.resource.canonical)
              for route in app.muster.runner.app.router.routes()
              if route.method != "HEAD" and route.resource is not None}
    assert served == documented


def test_the_stream_check_catches_a_rejected_case_that_wrote() -> None:
    """The stream check is the claim 'nothing from a rejected case': it must be able to fail."""
    opened = e.IncidentOpened(id="ev-1", site=SITE, incident_id="i-1", occurred_at=e.now(),
                              recorded_at=e.now(), data=e.IncidentOpenedData(kind="hold"))
    out = Outcome(writes=[Write("POST /v1/incidents/{id}/notes", 400, 10, 11, None)])
    assert check_stream(out, [], 10, 11, {11: opened})
    out = Outcome(writes=[Write("POST /v1/sites/{site}/alerts", 202, 10, 11, {
        "incident_id": "i-1", "event_id": "ev-1", "seq": 11, "duplicate": False})])
    assert not check_stream(out, [], 10, 11, {11: opened})
    assert check_stream(out, [], 10, 12, {11: opened, 12: opened})  # seq 12: nobody's
