"""A tabletop end to end on a running Muster: the facilitator's player delivers a shipped
scenario's injects at high speed (paused once), the table answers through the ordinary routes,
the record is signed off once, and a channel that takes live and drill traffic hears nothing of
it (a live press afterwards shows the channel works). The real `muster tabletop` command plays
the other scenario against the same kind of server."""

import asyncio
import io
import os
import signal
import subprocess
import sys
from typing import Any

import aiohttp
from msgspec.structs import replace

from command.bootstrap import admin, cli_tabletop
from command.domain import events as e
from command.domain.site import Channel
from command.write.scenario_library import shipped
from tests.conftest import App, Sink, small_site
from tests.integration.test_demo_lockdown import call

SITE = "test-high"
EVERY_EVENT = ["AlertRaised", "ProtocolDeclared", "ProtocolLifted", "IncidentCancelled",
               "RoomStatusReported", "NoteAdded", "ResponderAcknowledged", "IncidentClosed",
               "InjectDelivered", "DrillSignedOff", "IncidentOpened", "PersonsAccounted"]


async def injects_of(http: aiohttp.ClientSession, app: App, incident: str,
                     token: str) -> list[dict[str, Any]]:
    await app.wait_projected(await app.log.last_seq())  # the timeline is the read model's
    status, timeline = await call(http, app, f"/v1/incidents/{incident}/timeline", token)
    assert status == 200, timeline
    return [ev for ev in timeline["events"] if ev["type"] == "InjectDelivered"]


async def test_a_tabletop_is_played_answered_and_signed_and_nothing_is_sent(
        app: App, sink: Sink) -> None:
    channels = [Channel(name="all", url=sink.url("all"), events=EVERY_EVENT,
                        modes=["live", "drill"], escalate_after_s=0.5, escalate_to=["boss"]),
                Channel(name="boss", url=sink.url("boss"), events=EVERY_EVENT,
                        modes=["live", "drill"], audience="command")]
    await app.muster.import_site(replace(small_site(), channels=channels))
    commander, staff = await app.token("commander"), await app.token("staff")
    spill = shipped()["chemical-spill-offsite"]
    controls: asyncio.Queue[str] = asyncio.Queue()
    progress = cli_tabletop.Progress()
    out = io.StringIO()
    async with aiohttp.ClientSession() as http:
        api = cli_tabletop.Api(http, app.url, commander)
        # 5,280 s of script at x2,000: under 3 s; paused after the first inject
        controls.put_nowait("p\n")
        player = asyncio.create_task(cli_tabletop.play(
            api, SITE, spill, 2000, controls=controls, out=out, progress=progress))
        await asyncio.sleep(1.0)
        assert progress.delivered == 1 and "paused" in out.getvalue(), out.getvalue()
        incident = progress.incident_id
        assert incident is not None
        controls.put_nowait("\n")
        # meanwhile the table answers, as it would on the board
        for path, body, token in [
            ("protocol", {"action": "shelter", "hazard": "chlorine"}, commander),
            ("rooms/B-112/status", {"status": "secured", "present": 2}, staff),
            ("notes", {"text": "air handlers off in the east wing"}, staff),
            ("acks", {"responder": "Fire IC"}, commander),
        ]:
            status, answer = await call(http, app, f"/v1/incidents/{incident}/{path}", token,
                                        body)
            assert status == 202, (path, answer)
        assert await player == incident
        assert "resumed" in out.getvalue() and "[11/11] 11:30" in out.getvalue()

        delivered = await injects_of(http, app, incident, commander)
        assert [ev["data"]["index"] for ev in delivered] == list(range(11))
        assert {ev["mode"] for ev in delivered} == {"tabletop"}
        assert delivered[4]["data"]["clock"] == "10:15"
        assert delivered[4]["data"]["source"] == "fire department incident commander"
        assert delivered[4]["data"]["at_s"] == 900.0
        assert delivered[4]["data"]["expect"] == spill.injects[4].expect
        # going on from inject 9 delivers nothing twice: the same client_event_ids
        again = await cli_tabletop.play(api, SITE, spill, 2000, start=9, incident_id=incident,
                                        out=io.StringIO())
        assert again == incident and len(await injects_of(http, app, incident, commander)) == 11

        await app.wait_projected(await app.log.last_seq())
        status, board = await call(http, app, f"/v1/sites/{SITE}/board", staff)
        assert (board["mode"], board["injects_total"]) == ("tabletop", 11)
        assert board["injects"][-1]["text"] == spill.injects[-1].text
        status, answer = await call(http, app, f"/v1/sites/{SITE}/cap", commander)
        assert status == 404, answer  # a tabletop is no alert to publish

        for path in ("protocol", "all-clear", "close"):
            body = {"action": "evacuate", "evacuate_to": "Field"} if path == "protocol" else {}
            status, answer = await call(http, app, f"/v1/incidents/{incident}/{path}",
                                        commander, body)
            assert status == 202, (path, answer)
        signer = {"signed_by": "Dr. Reyes", "title": "Principal"}
        status, answer = await call(http, app, f"/v1/incidents/{incident}/sign-off", commander,
                                    signer)
        assert status == 202, answer
        status, answer = await call(http, app, f"/v1/incidents/{incident}/sign-off", commander,
                                    {"signed_by": "Someone Else"})
        assert status == 409 and "Dr. Reyes" in answer["error"]["message"], answer

        await asyncio.sleep(1.5)  # past the escalation window: an escalation would be here
        assert sink.posts == []
        # the channel does work: a live press reaches it at once
        status, answer = await call(http, app, f"/v1/sites/{SITE}/alerts",
                                    await app.token("device"), {"kind": "lockdown",
                                                                "room": "B-112"})
        assert status == 202, answer
        await sink.wait_for(1, "all")
    assert all("Chemical" not in str(body) and "chlorine" not in str(body)
               for _, body, _ in sink.posts)
    records = [ev async for _, ev in app.log.read(1) if ev.incident_id == incident]
    assert not [ev for ev in records if isinstance(
        ev, e.NotificationSent | e.NotificationFailed | e.NotificationEscalated)]
    assert {ev.mode for ev in records} == {"tabletop"}
    assert [type(ev).__name__ for ev in records].count("DrillSignedOff") == 1


async def test_the_muster_tabletop_command_plays_a_shipped_scenario(app: App) -> None:
    commander = await app.token("commander")
    env = {**os.environ, "MUSTER_TOKEN": commander}
    done = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "command.bootstrap.cli", "tabletop",
                         "armed-intruder-dismissal", "--site", SITE, "--speed", "1000",
                         "--url", app.url], env=env, capture_output=True, text=True,
        stdin=subprocess.DEVNULL, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    incident = lines[0].split()[1]
    assert lines[0].endswith("Armed intruder during dismissal")
    assert lines[2].startswith("[1/10] 15:02  a parent on the main office line: ")
    assert f"muster report {incident}" in lines[-1]
    async with aiohttp.ClientSession() as http:
        delivered = await injects_of(http, app, incident, commander)
        assert [ev["data"]["index"] for ev in delivered] == list(range(10))
        status, answer = await call(http, app, f"/v1/sites/{SITE}/tabletops", commander,
                                    {"scenario": "chemical-spill-offsite"})
        assert status == 409, answer  # one exercise at a time
    refused = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "command.bootstrap.cli", "tabletop",
                         "armed-intruder-dismissal", "--site", SITE, "--from", "3",
                         "--url", app.url], env=env, capture_output=True, text=True,
        stdin=subprocess.DEVNULL, timeout=60)
    assert refused.returncode == 2 and "--incident" in refused.stderr
    injected = [line for line in await admin.audit(app.log, SITE) if "InjectDelivered" in line]
    assert len(injected) == 10 and all(line.endswith("  [tabletop]") for line in injected)


async def test_ctrl_c_says_how_to_go_on_and_going_on_delivers_each_inject_once(app: App) -> None:
    commander = await app.token("commander")
    env = {**os.environ, "MUSTER_TOKEN": commander}
    base = [sys.executable, "-m", "command.bootstrap.cli", "tabletop", "chemical-spill-offsite",
            "--site", SITE, "--url", app.url]
    player = await asyncio.create_subprocess_exec(
        *base, "--speed", "1", env=env, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        assert player.stdout is not None and player.stderr is not None
        seen = [(await asyncio.wait_for(player.stdout.readline(), 30)).decode()
                for _ in range(3)]
        assert seen[2].startswith("[1/11] 10:02"), seen  # the second is 120 s away at x1
        player.send_signal(signal.SIGINT)  # Ctrl-C
        err = (await asyncio.wait_for(player.stderr.read(), 30)).decode()
        await asyncio.wait_for(player.wait(), 30)
    finally:
        if player.returncode is None:
            player.kill()
    assert player.returncode == 130, err
    incident = seen[0].split()[1]
    hint = f"--site {SITE} --incident {incident} --from 2"
    assert "stopped after inject 1" in err and hint in err, err
    again = await asyncio.to_thread(
        subprocess.run, [*base, "--speed", "1000", "--incident", incident, "--from", "1"],
        env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
    assert again.returncode == 0, again.stderr
    assert "tabletop" not in again.stdout.splitlines()[0]  # went on: opened nothing new
    async with aiohttp.ClientSession() as http:
        delivered = await injects_of(http, app, incident, commander)
    assert [ev["data"]["index"] for ev in delivered] == list(range(11))  # inject 1 not twice
