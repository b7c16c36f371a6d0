"""A Handle With Care notice leaves no trace for anyone who reads Muster (issue 14 item 5): not
its notification records on any role's WebSocket board, timeline or report, and not a count or
a time in /metrics. Real Apprise sends it to a local sink; NATS and PostgreSQL are real."""

import asyncio
import contextlib
import json

import aiohttp
import msgspec
import websockets
from prometheus_client import REGISTRY, generate_latest

from command.domain import events as e
from command.domain.site import Channel
from tests.conftest import App, Sink, small_site

READERS = ("staff", "responder", "commander", "dispatch")
# Every count a Handle With Care request or its send could move.
COUNTS = (("muster_events_appended_total", {}), ("muster_intake_latency_seconds_count", {}),
          ("muster_notifications_total", {"outcome": "sent"}),
          ("muster_notification_send_seconds_count", {}))


async def call(http: aiohttp.ClientSession, app: App, method: str, path: str, role: str,
               body: object = None) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {await app.token(role)}"}
    async with http.request(method, app.url + path, json=body, headers=headers) as resp:
        return resp.status, await resp.text()


async def watch(app: App, role: str, seen: list[str]) -> None:
    url = (app.url.replace("http", "ws") + "/v1/sites/test-high/board/ws?token="
           + await app.token(role))
    async with websockets.connect(url) as ws:
        async for message in ws:
            seen.append(str(message))


async def records_of(app: App, event_id: str) -> list[tuple[int, e.Event]]:
    return [(seq, ev) async for seq, ev in app.log.read(1)
            if isinstance(ev, e.NotificationSent) and ev.data.event_id == event_id]


async def settled(app: App, event_id: str) -> int:
    """The stream sequence of the send's record, once the boards have applied it."""
    gateway = app.muster.gateway
    assert gateway is not None
    for _ in range(200):
        found = await records_of(app, event_id)
        if found and gateway.applied >= found[-1][0]:
            return found[-1][0]
        await asyncio.sleep(0.05)
    raise AssertionError(f"no record of the send of {event_id} reached the boards")


def without_roster(text: str) -> str:
    """A board (or a WebSocket frame of one) without its roster, once the subject is checked to
    stand there exactly as every other person does: the roster lists everyone alike, so being
    in it tells nothing of a notice; anywhere else, the name would."""
    doc = json.loads(text)
    board = doc.get("board", doc)
    roster = board.pop("roster", None) or {}
    for people in roster.values():
        for person in people:
            assert set(person) == {"id", "name", "kind"}, person  # no mark on anyone
    return json.dumps(doc)


def counts() -> list[float | None]:
    return [REGISTRY.get_sample_value(name, labels) for name, labels in COUNTS]


async def test_a_notice_and_its_records_show_nowhere(app: App, sink: Sink) -> None:
    site = msgspec.structs.replace(small_site(), channels=[
        Channel(name="sro", url=sink.url("sro")),
        Channel(name="counselor", url=sink.url("counselor"), handle_with_care=True,
                events=["HandleWithCareIssued"], roles=["staff"])])
    await app.muster.import_site(site)
    seen: dict[str, list[str]] = {role: [] for role in READERS}
    boards = [asyncio.create_task(watch(app, role, seen[role])) for role in READERS]
    try:
        async with aiohttp.ClientSession() as http:
            status, body = await call(http, app, "POST", "/v1/sites/test-high/alerts",
                                      "device", {"kind": "lockdown", "room": "B-112"})
            assert status == 202, body
            press = json.loads(body)
            await sink.wait_for(1, "sro")
            await settled(app, press["event_id"])  # the alert's own counts are in
            before = counts()
            status, body = await call(http, app, "POST", "/v1/sites/test-high/handle-with-care",
                                      "responder", {"person_id": "s-3"})
            assert status == 202, body
            notice = json.loads(body)["event_id"]
            await sink.wait_for(1, "counselor")
            assert sink.to("counselor")[0]["message"] == "Grace Hopper"
            await settled(app, notice)
            await asyncio.sleep(0.5)  # an update about it would be on its way to the boards
            traces = (notice, "counselor", "HandleWithCare", "Grace Hopper")
            for role in READERS:
                board = "\n".join(without_roster(frame) for frame in seen[role])
                assert '"type":"snapshot"' in board.replace(" ", ""), role  # it was watching
                for path in (f"/v1/incidents/{press['incident_id']}/timeline",
                             f"/v1/incidents/{press['incident_id']}/report",
                             "/v1/sites/test-high/board"):
                    status, text = await call(http, app, "GET", path, role)
                    assert status == 200, (path, role, text)
                    if path.endswith("/board"):
                        text = without_roster(text)
                    for trace in traces:
                        assert trace not in text, (path, role, trace)
                for trace in traces:
                    assert trace not in board, (role, trace, board[-2000:])
    finally:
        for task in boards:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
    assert counts() == before, "a count moved with the notice"
    async with aiohttp.ClientSession() as http, http.get(app.muster.metrics_url) as resp:
        served = await resp.text()
    for metrics in (served, generate_latest(REGISTRY).decode()):
        assert "muster_intake_requests_total" in metrics  # the press was counted
        assert "handle-with-care" not in metrics and "handle_with_care" not in metrics
