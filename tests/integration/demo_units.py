"""The demo school for the scripted bus and away-game runs: demo-high with its channels sent to
the test's Apprise sink (so its messages can be read), a board page open on it, and the counts
that say each person is counted once."""

from pathlib import Path
from typing import Any

import aiohttp
import msgspec
from playwright.async_api import Page

from command.bootstrap.demo import DEMO_PATH
from command.domain import site as site_file
from tests.conftest import App, Sink
from tests.integration.board_scenes import DEMO, School
from tests.integration.browser import shoot

COUNTED = ("accounted", "injured", "missing", "absent", "reunified", "unknown")


def demo_site(sink: Sink) -> site_file.Site:
    """demo-high as shipped, each channel posting to `sink` under its own name."""
    demo = site_file.load(DEMO_PATH)
    channels = [msgspec.structs.replace(c, url=sink.url(c.name)) for c in demo.channels]
    return msgspec.structs.replace(demo, channels=channels)


async def demo_school(app: App, sink: Sink) -> tuple[School, site_file.Site]:
    demo = demo_site(sink)
    await app.muster.import_site(demo)
    school = School(app, DEMO)
    await school.settled()
    return school, demo


def row(board: dict[str, Any], unit_id: str) -> dict[str, Any]:
    return next(r for r in board["rooms"] if r["id"] == unit_id)


def counted_once(board: dict[str, Any]) -> None:
    """Every row's people add up to the board's total, each status to the board's: nobody is in
    two places, and nobody is nowhere."""
    a = board["accountability"]
    assert sum(a[k] for k in COUNTED) == a["total"], a
    for k in (*COUNTED, "total"):
        assert sum(r["accountability"][k] for r in board["rooms"]) == a[k], (k, a)


def home_total(demo: site_file.Site, room: str, away: set[str]) -> int:
    """How many people a room holds when those in `away` are elsewhere."""
    return sum(1 for p in demo.people if p.room == room and p.id not in away)


def messages(sink: Sink, channel: str) -> list[str]:
    """The bodies a channel was sent, in order."""
    return [str(post.get("message", "")) for post in sink.to(channel)]


async def cap_text(school: School) -> str:
    """The site's CAP document as the commander reads it."""
    headers = {"Authorization": f"Bearer {await school.token('commander')}"}
    async with aiohttp.ClientSession() as http, \
            http.get(f"{school.app.url}/v1/sites/{school.site}/cap", headers=headers) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.text()


async def shoot_whole(page: Page, test: str, viewport: str) -> Path:
    """A full-page screenshot with the action bar at the page's end, as printed: kept sticky,
    it is drawn over whatever sits at the first screen's bottom edge of the capture."""
    await page.evaluate("document.getElementById('actions').style.position = 'static'")
    return await shoot(page, test, viewport)
