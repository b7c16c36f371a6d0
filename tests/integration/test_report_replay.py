"""The after-action report over HTTP and the CLI, and a replay onto a board of its own, against
real NATS, PostgreSQL and a real Apprise sink."""

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from msgspec.structs import replace

from command.domain import alert_rules, board
from command.domain import events as e
from command.domain.site import Channel
from command.infra.web import make_app
from consumers.positions import position
from consumers.replay import replay, replay_incident, rewrite
from consumers.report_api import report_routes
from tests.conftest import App, Sink, small_site

MUSTER = str(Path(sys.executable).parent / "muster")
ROSTER = {"GYM": 0, "A-101": 3, "A-102": 2, "B-112": 3}  # the last room reported fills it
EVERY_MODE = ["live", "drill", "replay"]


async def call(http: aiohttp.ClientSession, url: str, token: str | None = None,
               body: object | None = None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    method = http.get if body is None else http.post
    async with method(url, headers=headers, **({} if body is None else {"json": body})) as resp:
        if resp.content_type == "application/json":
            return resp.status, await resp.json()
        return resp.status, (await resp.text(), resp.headers)


@pytest.fixture
async def reports(app: App) -> AsyncIterator[str]:
    """The report route on an app of its own: it is not yet wired into Muster's."""
    assert app.muster.pool is not None and app.muster.tokens is not None
    runner = web.AppRunner(make_app(report_routes(app.muster.pool, app.muster.tokens)))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def lockdown(app: App) -> tuple[str, int]:
    """Press, every room, an ack, a note, all clear, one student home, close: over HTTP."""
    device, staff = await app.token("device"), await app.token("staff")
    responder, boss = await app.token("responder"), await app.token("commander")
    async with aiohttp.ClientSession() as http:
        status, press = await call(http, f"{app.url}/v1/sites/test-high/alerts", device,
                                   {"kind": "armed_intruder", "room": "B-112"})
        assert status == 202, press
        base = f"{app.url}/v1/incidents/{press['incident_id']}"
        steps: list[tuple[str, str, dict]] = [
            (f"{base}/rooms/{room}/status", staff, {"status": "secured", "present": n})
            for room, n in ROSTER.items()]
        steps += [(f"{base}/acks", responder, {"responder": "Unit 12"}),
                  (f"{base}/notes", responder, {"text": "side door <script>x</script>"}),
                  (f"{base}/all-clear", boss, {}),
                  (f"{base}/reunification/checkin", staff, {"person_id": "s-1"}),
                  (f"{base}/reunification/guardians", staff,
                   {"guardian": "Anne Byron", "id_verified": True, "students": ["s-1"]}),
                  (f"{base}/reunification/release", staff,
                   {"person_id": "s-1", "guardian": "Anne Byron", "student_consents": True}),
                  (f"{base}/close", boss, {"summary": "drill of the real thing"})]
        for url, token, body in steps:
            status, last = await call(http, url, token, body)
            assert status == 202, (url, last)
    await app.wait_projected(last["seq"])
    return press["incident_id"], last["seq"]


async def test_report_over_http_as_json_and_html(app: App, reports: str) -> None:
    inc, _ = await lockdown(app)
    boss, responder = await app.token("commander"), await app.token("responder")
    async with aiohttp.ClientSession() as http:
        status, doc = await call(http, f"{reports}/v1/incidents/{inc}/report", boss)
        assert status == 200, doc
        status, seen = await call(http, f"{reports}/v1/incidents/{inc}/report?format=json",
                                  responder)
        assert status == 200
        status, (page, headers) = await call(
            http, f"{reports}/v1/incidents/{inc}/report?format=html", responder)
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert (doc["incident_id"], doc["school"], doc["status"]) == (inc, "Test High", "closed")
    offsets = {m["key"]: m["offset_s"] for m in doc["milestones"]}
    assert offsets["protocol"] == 0.0  # the press declares at once
    order = ("protocol", "rooms_reported", "first_ack", "all_clear", "last_reunified", "end")
    assert all(isinstance(offsets[k], float) for k in order)
    assert [offsets[k] for k in order] == sorted(offsets[k] for k in order)
    assert offsets["rooms_reported"] < offsets["end"]
    assert offsets["all_accounted"] == offsets["rooms_reported"]  # the last head count did it
    assert doc["counts"]["people"]["reunified"] == 1 and doc["counts"]["rooms"] == {"secured": 4}
    texts = [x["text"] for x in doc["timeline"]]
    assert "s-1 released to Anne Byron" in texts
    assert "Anne Byron" not in str(seen) and "Anne Byron" not in page  # a responder's copy
    assert "<svg" in page and "<script>" not in page and "&lt;script&gt;x" in page


async def test_report_refuses_strangers_and_bad_requests(app: App, reports: str) -> None:
    inc, _ = await lockdown(app)
    url = f"{reports}/v1/incidents/{inc}/report"
    async with aiohttp.ClientSession() as http:
        assert (await call(http, url))[0] == 401
        assert (await call(http, url, "not-a-token"))[0] == 401
        assert (await call(http, url, await app.token("device")))[0] == 403
        assert (await call(http, url, await app.token("staff", "other-high")))[0] == 403
        status, body = await call(http, f"{reports}/v1/incidents/nope/report",
                                  await app.token("staff"))
        assert (status, body["error"]["field"]) == (404, "id")
        status, body = await call(http, url + "?format=pdf", await app.token("staff"))
    assert (status, body["error"]["field"]) == (400, "format")
    assert "json, html" in body["error"]["message"]


async def test_replay_writes_new_replay_events_and_drives_a_board(app: App, sink: Sink) -> None:
    channel = Channel(name="sro", url=sink.url("sro"), events=["AlertRaised", "ProtocolLifted",
                      "IncidentClosed", "NoteAdded"], modes=EVERY_MODE)  # type: ignore[arg-type]
    await app.muster.import_site(replace(small_site(), channels=[channel]))
    inc, _ = await lockdown(app)
    await sink.wait_for(4, "sro")  # the alert, the note, the all clear, the close
    for _ in range(500):  # and the notifier's record of each send, which the replay carries
        recorded = [(ev.occurred_at, seq, ev) async for seq, ev in app.log.read(1)
                    if ev.incident_id == inc]
        if sum(isinstance(ev, e.NotificationSent) for *_, ev in recorded) == 4:
            break
        await asyncio.sleep(0.02)
    originals = [ev for *_, ev in sorted(recorded, key=lambda x: x[:2])]
    gateway = app.muster.gateway
    assert gateway is not None
    modes: list[str] = []

    async def watch(seconds: float) -> None:
        """Between replayed events: the replay board as the gateway shows it now."""
        assert seconds <= 0.05  # speed 1000 on a scripted incident of a few seconds
        last = await app.log.last_seq()
        for _ in range(200):
            if gateway.states.get(site, board.empty(site)).seq >= last:
                break
            await asyncio.sleep(0.01)
        if gateway.rendered[site]["incident"] is not None:  # an idle board has no mode of its own
            modes.append(gateway.rendered[site]["mode"])

    site = f"replay-{inc}"
    assert await replay(app.log, inc, speed=1000, sleep=watch, run="t1") == site
    copies = [ev async for _, ev in app.log.read(1) if ev.site == site]
    assert [e.type_of(ev) for ev in copies] == ["SiteConfigured"] + [
        e.type_of(ev) for ev in originals]
    assert {ev.mode for ev in copies} == {"replay"}
    assert {ev.incident_id for ev in copies[1:]} == {replay_incident(inc, "t1")}
    assert not {ev.id for ev in copies} & {ev.id for ev in originals}
    assert copies[0].data.channels == [] and copies[0].data.id == site  # type: ignore[union-attr]
    # The original's clock (occurred_at) kept; the replay's own time is when it was recorded.
    assert [ev.occurred_at for ev in copies[1:]] == [ev.occurred_at for ev in originals]
    assert min(ev.recorded_at for ev in copies) > max(ev.recorded_at for ev in originals)
    assert len(modes) > 5 and set(modes) == {"replay"}
    last = await app.log.last_seq()
    state = gateway.states[site]
    assert state.ended is not None and state.ended.incident.mode == "replay"
    assert state.ended.incident.id == replay_incident(inc, "t1")
    # The same run again writes nothing twice.
    assert await replay(app.log, inc, speed=1000, sleep=watch, run="t1") == site
    assert await app.log.last_seq() == last
    # The notifier read past the replay and sent none of it, though the channel takes "replay".
    assert app.muster.pool is not None
    for _ in range(500):
        if await position(app.muster.pool, "notifier") >= last:
            break
        await asyncio.sleep(0.02)
    assert await position(app.muster.pool, "notifier") >= last
    assert await app.muster.pool.fetchval(
        "SELECT count(*) FROM notifications WHERE site=$1", site) == 0
    assert len(sink.to("sro")) == 4
    # Even with the channel left in, the rules alone keep a replayed event quiet.
    with_channel = replace(board.fold(site, [(1, copies[0])]), config=small_site())
    with_channel = replace(with_channel, config=replace(with_channel.config, channels=[channel]))
    raised = next(ev for ev in originals if isinstance(ev, e.AlertRaised))
    assert alert_rules.deliveries(with_channel, raised)  # the live one is heard
    quiet = rewrite(raised, site, replay_incident(inc, "t1"), "t1", e.now())
    assert alert_rules.deliveries(with_channel, quiet) == []  # type: ignore[arg-type]


async def run_cli(app: App, cwd: Path, *args: str) -> tuple[int, str, str]:
    settings = app.muster.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("MUSTER_")}
    env.update(MUSTER_NATS_URL=settings.nats_url or "",
               MUSTER_DATABASE_URL=settings.database_url or "")
    proc = await asyncio.create_subprocess_exec(
        MUSTER, *args, cwd=cwd, env=env, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_cli_report_and_replay(app: App, tmp_path: Path) -> None:
    inc, _ = await lockdown(app)
    code, out, err = await run_cli(app, tmp_path, "report", inc, "--format", "md")
    assert code == 0, err
    assert out.startswith("# After-action report: armed_intruder at Test High\n")
    assert f"- **Incident:** {inc} — armed_intruder, live" in out
    for label in ("Protocol declared", "Every room reported", "All accounted for", "All clear",
                  "Last student reunified", "Incident ended"):
        line = next(x for x in out.splitlines() if x.startswith(f"| {label} |"))
        assert "not reached" not in line
    assert "| ProtocolDeclared |" in out and "s-1 released to Anne Byron" in out
    code, out, err = await run_cli(app, tmp_path, "report", inc, "-o", "aar.html")
    assert code == 0, err
    assert "<svg" in (tmp_path / "aar.html").read_text()
    code, _, err = await run_cli(app, tmp_path, "report", "no-such-incident")
    assert code == 1 and "unknown incident" in err
    code, out, err = await run_cli(app, tmp_path, "replay", inc, "--speed", "1000")
    assert code == 0, err
    assert f"/board/replay-{inc}" in out
    replayed = [ev async for _, ev in app.log.read(1) if ev.site == f"replay-{inc}"]
    assert replayed and {ev.mode for ev in replayed} == {"replay"}
