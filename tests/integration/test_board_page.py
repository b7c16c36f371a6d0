"""The board page in a real browser (Debian's Chromium through Playwright) against a running
Muster on real NATS and PostgreSQL: ended access stops the page instead of retrying forever, and
clears what it may no longer see (issue 15, defect 6); every accountability count is shown with
its own label, unclipped, on a desktop and on a phone (defect 7); a silent alarm, an early
reunification and a drill's note are said. Screenshots go to test-artefacts/screenshots/."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import websockets
from playwright.async_api import Browser, WebSocket, expect

from command.bootstrap.muster import Muster
from command.infra import auth
from command.infra.config import Settings
from tests.conftest import App, small_site
from tests.integration.browser import SITE, VIEWPORTS, board_page, launched, shoot

ENDED = "access ended — sign in again"
LABELS = ["accounted", "injured", "missing", "absent", "reunified", "unknown"]
# Long enough for the old page's backoff (0.5 s, 1 s, 2 s) to try twice more.
QUIET_S = 4.0


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with launched() as launched_browser:
        yield launched_browser


async def no_more_sockets(sockets: list[WebSocket], expected: int) -> None:
    await asyncio.sleep(QUIET_S)
    assert len(sockets) == expected, (
        f"the page opened {len(sockets) - expected} more WebSocket(s) after its access ended")


# --- defect 6: ended access -------------------------------------------------------------------


async def test_a_revoked_token_ends_the_board_and_it_stops_retrying(
        app: App, browser: Browser) -> None:
    pool = app.muster.pool
    assert pool is not None
    secret, _ = await auth.create(pool, "responder", SITE, name="board-page-viewer")
    async with board_page(browser, app.url, secret) as (page, sockets):
        await expect(page.locator("#conn")).to_have_text("live", timeout=10_000)
        await auth.revoke(pool, "board-page-viewer")
        # The server closes a revoked token's board with 1008 within a token refresh and a sweep.
        await expect(page.locator("#conn")).not_to_have_text("live", timeout=10_000)
        await no_more_sockets(sockets, 1)
        await expect(page.get_by_text(ENDED)).to_be_visible()
        await expect(page.locator("#counts")).to_have_count(0)  # no longer its to see
        assert await page.evaluate("window.muster.board") is None
        await shoot(page, "revoked_token")
        # Signing in again with a token that is valid opens the board again.
        await page.locator("#token").fill(await app.token("responder"))
        await page.get_by_role("button", name="Open board").click()
        await expect(page.locator("#conn")).to_have_text("live", timeout=10_000)
        await expect(page.get_by_text(ENDED)).to_be_hidden()
        await expect(page.locator("#counts")).to_be_visible()


@pytest.mark.parametrize("case", ["unknown", "expired", "wrong-role"])
async def test_a_token_refused_at_load_ends_the_board_without_retrying(
        app: App, browser: Browser, case: str) -> None:
    pool = app.muster.pool
    assert pool is not None
    if case == "unknown":  # 401
        token = auth.new_secret()
    elif case == "expired":  # 401
        token, _ = await auth.create(pool, "responder", SITE,
                                     expires_at=datetime.now(UTC) - timedelta(minutes=1))
    else:  # a device may press a button but not read the board: 403
        token = await app.token("device")
    async with board_page(browser, app.url, token) as (page, sockets):
        await expect(page.get_by_text(ENDED)).to_be_visible(timeout=10_000)
        # A token /v1/me refuses (401) opens no socket at all; a device's is known, so the page
        # tries the board once and is refused there (403).
        await no_more_sockets(sockets, 1 if case == "wrong-role" else 0)
        await expect(page.get_by_text(ENDED)).to_be_visible()
        await shoot(page, f"refused_{case}")


@pytest.fixture
async def one_board_per_token(nats_url: str, database_url: str, tmp_path: Path,
                              ) -> AsyncIterator[Muster]:
    """A Muster that lets a token hold one board at a time: a second is refused with a 429."""
    settings = Settings(nats_url=nats_url, database_url=database_url, http_port=0,
                        data_dir=str(tmp_path / "data"), rate_per_token=0, rate_per_address=0,
                        rate_emergency=0, boards_per_token=1)
    muster = Muster(settings, say=lambda _: None)
    await muster.start()
    await muster.import_site(small_site())
    yield muster
    await muster.stop()


async def test_a_refusal_that_is_not_about_access_keeps_retrying_until_it_connects(
        one_board_per_token: Muster, browser: Browser) -> None:
    muster = one_board_per_token
    assert muster.pool is not None
    secret, _ = await auth.create(muster.pool, "responder", SITE)
    ws_url = muster.url.replace("http://", "ws://", 1) + f"/v1/sites/{SITE}/board/ws?token={secret}"
    held = await websockets.connect(ws_url, proxy=None, open_timeout=5)
    try:
        await asyncio.wait_for(held.recv(), 10)  # the snapshot: this token's one board is taken
        async with board_page(browser, muster.url, secret) as (page, sockets):
            await asyncio.sleep(QUIET_S)
            assert len(sockets) >= 3, "a 429 at the upgrade must be retried with backoff"
            await expect(page.get_by_text(ENDED)).to_be_hidden()
            await held.close()
            await expect(page.locator("#conn")).to_have_text("live", timeout=15_000)
    finally:
        await held.close()


# --- defect 7: the accountability block ---------------------------------------------------------


MEASURE = """() => {
  const box = (el) => {
    const r = el.getBoundingClientRect();
    return {left: r.left, right: r.right, top: r.top, bottom: r.bottom,
            scroll: el.scrollWidth, client: el.clientWidth, text: el.textContent};
  };
  const block = document.getElementById("counts");
  return {block: box(block), viewport: document.documentElement.clientWidth,
          people: box(document.getElementById("people-accounted")),
          pills: [...block.querySelectorAll(".pill")].map(box)};
}"""


async def post(app: App, path: str, body: object, role: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {await app.token(role)}"}
    async with aiohttp.ClientSession() as http, \
            http.post(app.url + path, json=body, headers=headers) as resp:
        assert resp.status == 202, (path, resp.status, await resp.text())
        return await resp.json()


async def board_of(app: App, role: str = "responder") -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {await app.token(role)}"}
    async with aiohttp.ClientSession() as http, \
            http.get(f"{app.url}/v1/sites/{SITE}/board", headers=headers) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


async def counted_board(app: App) -> dict[str, int]:
    """An incident whose accountability has people in most statuses; the counts a board shows."""
    press = await post(app, f"/v1/sites/{SITE}/alerts", {"kind": "lockdown", "room": "B-112"},
                       "device")
    entries = [{"person_id": "s-1", "status": "missing"},
               {"person_id": "s-2", "status": "injured"},
               {"person_id": "s-3", "status": "absent"},
               {"person_id": "s-4", "status": "accounted"},
               {"person_id": "t-1", "status": "accounted"}]
    answer = await post(app, f"/v1/incidents/{press['incident_id']}/accountability",
                        {"entries": entries}, "commander")
    await app.wait_projected(answer["seq"])
    return (await board_of(app))["accountability"]


def within(inner: dict[str, Any], outer: dict[str, Any], slack: float = 0.5) -> bool:
    return (inner["left"] >= outer["left"] - slack and inner["right"] <= outer["right"] + slack
            and inner["top"] >= outer["top"] - slack and inner["bottom"] <= outer["bottom"] + slack)


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
async def test_each_count_sits_under_its_own_label_and_nothing_is_clipped(
        app: App, browser: Browser, viewport: str) -> None:
    counts = await counted_board(app)
    assert sum(1 for label in LABELS if counts[label]) >= 5, counts
    async with board_page(browser, app.url, await app.token("responder"), viewport) as (page, _):
        missing = page.locator("#counts .pill.c-missing")
        await expect(missing).to_have_text(f"{counts['missing']} missing", timeout=10_000)
        await shoot(page, "accountability", viewport)
        shown = await page.evaluate(MEASURE)
    # Each count is said with its own label, in one piece: the pair cannot drift apart.
    assert [p["text"] for p in shown["pills"]] == [f"{counts[k]:,} {k}" for k in LABELS]
    known = counts["total"] - counts["unknown"] - counts["missing"]
    assert shown["people"]["text"] == f"{known:,} of {counts['total']:,} people accounted for"
    block, width = shown["block"], shown["viewport"]
    assert block["right"] <= width + 0.5, "the block runs off the screen"
    for part in [shown["people"], *shown["pills"]]:
        assert part["scroll"] <= part["client"], f"{part['text']!r} is clipped"
        assert within(part, block), f"{part['text']!r} lies outside the block"


# --- the incident's own fields ------------------------------------------------------------------


async def test_a_silent_incident_shows_silent_until_a_protocol_and_an_early_reunification(
        app: App, browser: Browser) -> None:
    press = await post(app, f"/v1/sites/{SITE}/alerts",
                       {"kind": "lockdown", "room": "B-112", "silent": True}, "device")
    incident = f"/v1/incidents/{press['incident_id']}"
    silent = "SILENT ALARM — responders only; do not announce"
    async with board_page(browser, app.url, await app.token("commander")) as (page, _):
        await expect(page.get_by_text(silent)).to_be_visible(timeout=10_000)
        await post(app, f"{incident}/reunification/open", {"reason": "smoke in the gym"},
                   "commander")
        await expect(page.locator("#attention")).to_contain_text(
            "Reunification opened early by", timeout=10_000)
        await expect(page.locator("#attention")).to_contain_text("smoke in the gym")
        await shoot(page, "silent_incident")
        answer = await post(app, f"{incident}/protocol", {"action": "lockdown"}, "commander")
        await app.wait_projected(answer["seq"])
        directive = (await board_of(app, "commander"))["protocol"]["directive"]
        action, rest = directive.split("!", 1)
        await expect(page.locator("#action")).to_have_text(f"{action}!", timeout=10_000)
        await expect(page.locator("#directive")).to_have_text(rest.strip())
        await expect(page.get_by_text(silent)).to_be_hidden()  # a commander's protocol is heard
        await shoot(page, "silent_incident_declared")


async def test_a_drill_shows_its_note(app: App, browser: Browser) -> None:
    await post(app, f"/v1/sites/{SITE}/drills",
               {"scenario": "fire", "note": "Termly fire drill, east stairs closed"}, "commander")
    async with board_page(browser, app.url, await app.token("staff"), "phone") as (page, _):
        await expect(page.locator("#banner .note")).to_have_text(
            "Note: Termly fire drill, east stairs closed", timeout=10_000)
        await expect(page.locator("#mode")).to_have_text("DRILL")
        await shoot(page, "drill_note", "phone")
