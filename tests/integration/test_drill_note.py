"""A drill's note, given when it starts, is kept: on the board and on the timeline."""

import aiohttp

from tests.conftest import App
from tests.integration.test_demo_lockdown import call


async def test_a_drill_note_reaches_the_board_and_the_timeline(app: App) -> None:
    commander = await app.token("commander")
    why = "fire drill with the east stairwell blocked"
    async with aiohttp.ClientSession() as http:
        status, drill = await call(http, app, "/v1/sites/test-high/drills", commander,
                                   {"scenario": "fire", "note": why})
        assert status == 202, drill
        await app.wait_projected(drill["seq"])
        status, board = await call(http, app, "/v1/sites/test-high/board", commander)
        assert (board["mode"], board["incident"]["note"]) == ("drill", why)
        status, timeline = await call(http, app, f"/v1/incidents/{drill['incident_id']}/timeline",
                                      commander)
    assert status == 200
    events = timeline["events"] if isinstance(timeline, dict) else timeline
    opened = next(ev for ev in events if ev["type"] == "IncidentOpened")
    assert opened["data"]["note"] == why
