"""The demo school's lockdown, evacuation and shelter, scripted over HTTP with its channels
pointed at a local sink: every message, the board and the CAP document say real words (the
place to go, the hazard and the strategy), never the SRP's templates."""

import xml.etree.ElementTree as ET

import aiohttp
import msgspec
import pytest

from command.bootstrap.demo import DEMO_PATH
from command.domain import site as site_file
from tests.conftest import App, Sink
from tests.integration.test_demo_lockdown import call

TEMPLATES = ("To a location", "For a hazard", "a safety strategy", "not yet given")
NS = {"cap": "urn:oasis:names:tc:emergency:cap:1.2"}
SCENARIOS = {
    "lockdown": ("armed_intruder", "Lockdown! Locks, lights, out of sight."),
    "evacuation": ("fire", "Evacuate! To the north field."),
    "shelter": ("weather", "Shelter! For a tornado, using drop, cover and hold."),
}


async def cap_instruction(http: aiohttp.ClientSession, app: App, token: str) -> str:
    async with http.get(app.url + "/v1/sites/demo-high/cap",
                        headers={"Authorization": f"Bearer {token}"}) as resp:
        assert resp.status == 200
        root = ET.fromstring(await resp.text())
    return root.findtext("cap:info/cap:instruction", namespaces=NS) or ""


@pytest.mark.parametrize("scenario", SCENARIOS)
async def test_scripted_demo_says_real_words(app: App, sink: Sink, scenario: str) -> None:
    demo = site_file.load(DEMO_PATH)
    chans = [msgspec.structs.replace(ch, url=sink.url(ch.name)) for ch in demo.channels]
    await app.muster.import_site(msgspec.structs.replace(demo, channels=chans))
    device = await app.token("device", "demo-high")
    commander = await app.token("commander", "demo-high")
    kind, words = SCENARIOS[scenario]
    async with aiohttp.ClientSession() as http:
        status, press = await call(http, app, "/v1/sites/demo-high/alerts", device,
                                   {"kind": kind, "room": "B-112"})
        assert status == 202, press
        await app.wait_projected(press["seq"])
        await sink.wait_for(1, "staff-all")
        await sink.wait_for(1, "sro")
        status, board = await call(http, app, "/v1/sites/demo-high/board", commander)
        instruction = await cap_instruction(http, app, commander)
        assert board["protocol"]["directive"] == words
        assert instruction == words
        assert sink.to("staff-all")[0]["message"].startswith(words)
        if scenario == "evacuation":  # the commander moves everyone off site, by the place's id
            status, moved = await call(http, app, f"/v1/incidents/{press['incident_id']}"
                                       "/protocol", commander,
                                       {"action": "evacuate", "evacuate_to": "st-marks"})
            assert status == 202, moved
            await app.wait_projected(moved["seq"])
            await sink.wait_for(2, "staff-all")
            status, board = await call(http, app, "/v1/sites/demo-high/board", commander)
            moved_to = "Evacuate! To St. Mark's Church, 400 Elm Street."
            assert board["protocol"]["directive"] == moved_to
            assert board["protocol"]["evacuate_to"] == "St. Mark's Church, 400 Elm Street"
            assert await cap_instruction(http, app, commander) == moved_to
            assert sink.to("staff-all")[-1]["message"].startswith(moved_to)
    said = [m["message"] for _, m, _ in sink.posts] + [board["protocol"]["directive"],
                                                        instruction]
    assert not [text for text in said if any(t in text for t in TEMPLATES)]
