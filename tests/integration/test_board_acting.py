"""Acting from the board page and keeping it live, in Debian's Chromium against a running Muster
(issue 18): a staff report made on one browser reaches another's board and is written once
however often it is sent, a socket the server drops resumes with `since`, an action with a
revoked token ends the page, and the commander's destructive actions ask first."""

import asyncio
import json
import re
from collections.abc import AsyncIterator

import aiohttp
import msgspec
import pytest
from playwright.async_api import Browser, Page, Route, WebSocketRoute, expect

from command.infra import auth
from tests.conftest import App, small_site
from tests.integration.board_scenes import INJURED, School, demo_school, shown_seq
from tests.integration.browser import board_page, launched, live, shoot

RECONNECTING = re.compile(r"^reconnecting — ")
WINDOW_S = 3.0  # the site's cancel window, short so the test sees it close


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with launched() as launched_browser:
        yield launched_browser


def of_type(events: list[dict], kind: str, **data: object) -> list[dict]:
    return [ev for ev in events if ev["type"] == kind
            and all(ev["data"].get(k) == v for k, v in data.items())]


async def test_a_staff_report_from_the_page_reaches_another_browser_and_is_written_once(
        app: App, browser: Browser) -> None:
    school = await demo_school(app)
    incident = await school.press("armed_intruder", "A-101", "device")
    staff = board_page(browser, app.url, await school.token("staff"), "390", site=school.site)
    commander = board_page(browser, app.url, await school.token("commander"), site=school.site)
    async with staff as (page, _), commander as (other, _):
        await live(page)
        await live(other)
        room = other.locator("#rooms button.room[data-room='B-112']")
        await expect(room).to_have_attribute("data-status", "none")
        # The first answer is lost on the way back (the report did arrive): the page must send
        # the same client_event_id again, not a second report.
        lost: list[str] = []

        async def lose_first_answer(route: Route) -> None:
            response = await route.fetch()
            if not lost:
                lost.append(route.request.post_data or "")
                await route.abort("connectionreset")
            else:
                await route.fulfill(response=response)

        await page.route(re.compile(r"/rooms/B-112/status$"), lose_first_answer)
        await page.locator("#actions").get_by_role("button", name="Report my room").click()
        dialog = page.locator("#report-dialog")
        await expect(dialog).to_be_visible()
        await dialog.locator("#report-room").select_option("B-112")
        await dialog.locator("input[name=status][value=needs_help]").check()
        await dialog.locator(f"input[name=injured][value='{INJURED[0]}']").check()
        send = dialog.get_by_role("button", name="Send report")
        await send.evaluate("(b) => { b.click(); b.click(); }")  # a double tap
        await expect(page.locator("#toast")).to_contain_text("Already sent", timeout=15_000)
        await expect(room).to_have_attribute("data-status", "needs_help", timeout=10_000)
        await expect(other.locator("#attention")).to_contain_text(f"Injured: {INJURED[1]}")
        await shoot(page, "staff-report-sent", "390")
    assert lost, "the page never sent the report"
    events = of_type(await school.timeline(incident), "RoomStatusReported", room="B-112")
    assert len(events) == 1, events
    assert events[0]["data"]["status"] == "needs_help"
    assert events[0]["data"]["injured"] == [INJURED[0]]


async def test_a_staff_press_from_the_page_opens_an_incident_a_responder_acknowledges(
        app: App, browser: Browser) -> None:
    school = School(app, "test-high")
    staff = board_page(browser, app.url, await school.token("staff"), "390")
    responder = board_page(browser, app.url, await school.token("responder"))
    async with staff as (page, _), responder as (other, _):
        await live(page)
        await live(other)
        await page.locator("#actions").get_by_role("button", name="Press for help").click()
        await page.locator("#press-kind").select_option("armed_intruder")
        await page.locator("#press-room").select_option("GYM")
        await page.locator("#press-dialog").get_by_role("button", name="Send alert").click()
        await expect(other.locator("#action")).to_have_text("Lockdown!")
        await expect(other.locator("#where")).to_contain_text("GYM")
        await other.locator("#actions").get_by_role("button", name="Acknowledge").click()
        await other.locator("#actions").get_by_role("button", name="Add note").click()
        await other.locator("#note-text").fill("Two units at the gym doors")
        await other.locator("#note-dialog").get_by_role("button", name="Add note").click()
        for board in (page, other):  # the staff member's phone hears both
            await expect(board.locator("#timeline")).to_contain_text("acknowledged")
            await expect(board.locator("#timeline")).to_contain_text("Two units at the gym doors")
        await expect(page.locator("#attention li[data-kind=unacked]")).to_have_count(0)
    incident = (await school.board())["incident"]["id"]
    events = await school.timeline(incident)
    assert [ev["data"]["room"] for ev in of_type(events, "AlertRaised")] == ["GYM"]
    assert len(of_type(events, "ResponderAcknowledged")) == 1, events
    assert len(of_type(events, "NoteAdded", text="Two units at the gym doors")) == 1, events


async def test_the_staff_who_pressed_may_cancel_it_within_the_window_only(
        app: App, browser: Browser) -> None:
    await app.muster.import_site(msgspec.structs.replace(small_site(), cancel_window_s=WINDOW_S))
    school = School(app, "test-high")
    await school.settled()
    async with board_page(browser, app.url, await school.token("staff"), "390") as (page, _):
        await live(page)
        cancel = page.locator("#actions").get_by_role("button", name="Cancel — false alarm")
        incidents = []
        for _ in range(2):
            await page.locator("#actions").get_by_role("button", name="Press for help").click()
            await page.locator("#press-room").select_option("A-102")
            await page.locator("#press-dialog").get_by_role("button", name="Send alert").click()
            await expect(page.locator("#banner")).to_have_attribute("data-action", "lockdown")
            await expect(cancel).to_be_visible()
            incidents.append((await school.board())["incident"]["id"])
            if len(incidents) == 1:
                await cancel.click()
                await page.locator("#confirm-dialog").get_by_role(
                    "button", name="Yes, cancel the alert").click()
                await expect(page.locator("#banner")).to_have_attribute("data-action", "none")
        # The second is left: once its window has passed the page offers no cancel it would refuse.
        await expect(cancel).to_be_hidden(timeout=(WINDOW_S + 3) * 1000)
    first, second = [await school.timeline(i) for i in incidents]
    assert len(of_type(first, "IncidentCancelled")) == 1, first
    assert not of_type(second, "IncidentCancelled"), second


async def test_a_dropped_socket_resumes_with_since_and_shows_what_was_missed(
        app: App, browser: Browser) -> None:
    school = School(app, "test-high")
    incident = await school.press("lockdown", "B-112", "device")
    async with board_page(browser, app.url, await school.token("responder")) as (page, sockets):
        await live(page)
        await page.evaluate("""() => {
          window.connSeen = [];
          const conn = document.getElementById("conn");
          new MutationObserver(() => window.connSeen.push(conn.textContent))
            .observe(conn, {childList: true, characterData: true, subtree: true});
        }""")
        before = await page.evaluate("() => window.muster.board.seq")
        # The page's next socket is held until the event it must catch up on is written.
        written = asyncio.Event()
        urls: list[str] = []

        async def hold(ws: WebSocketRoute) -> None:
            urls.append(ws.url)
            await written.wait()
            ws.connect_to_server()

        await page.route_web_socket(re.compile(r"/board/ws"), hold)
        gateway = app.muster.gateway
        assert gateway is not None
        gateway.sockets.end_all()  # what a stopping server does: 1001 to every board
        await expect(page.locator("#conn")).to_have_text(RECONNECTING, timeout=10_000)
        note = await school.send(f"/v1/incidents/{incident}/notes",
                                 {"text": "Missed while the socket was down"}, "commander")
        written.set()
        await live(page)
        await shown_seq(page, note["seq"])
        await expect(page.locator("#timeline")).to_contain_text("Missed while the socket was down")
        seen = await page.evaluate("() => window.connSeen")
    assert urls and f"since={before}" in urls[0], urls
    assert note["seq"] > before
    assert any(RECONNECTING.match(text) for text in seen), seen
    # Resumed, not started afresh: the second socket was sent the missed update, no snapshot.
    assert len(sockets) == 2, [ws.url for ws in sockets]
    assert sockets.received[1], "the resumed socket was sent nothing"
    first = json.loads(sockets.received[1][0])
    assert [json.loads(f)["type"] for f in sockets.frames].count("snapshot") == 1
    assert (first["type"], first["seq"]) == ("update", note["seq"]), first


async def test_an_action_with_a_revoked_token_ends_the_page(app: App, browser: Browser) -> None:
    school = School(app, "test-high")
    incident = await school.press("lockdown", "B-112", "device")
    pool = app.muster.pool
    assert pool is not None
    secret, _ = await auth.create(pool, "staff", "test-high", name="board-page-actor")

    async def keep_open(ws: WebSocketRoute) -> None:
        # The server's 1008 close is kept from the page: only the action can tell it.
        ws.connect_to_server().on_close(lambda code, reason: None)

    async def route_sockets(page: Page) -> None:
        await page.route_web_socket(re.compile(r"/board/ws"), keep_open)

    async with board_page(browser, app.url, secret, prepare=route_sockets) as (page, _):
        await live(page)
        await auth.revoke(pool, "board-page-actor")
        await refused(school, secret)
        await page.locator("#actions").get_by_role("button", name="Add note").click()
        await page.locator("#note-text").fill("Sent with a revoked token")
        await page.locator("#note-dialog").get_by_role("button", name="Add note").click()
        await expect(page.locator("#toast")).to_contain_text("Not sent", timeout=10_000)
        await expect(page.locator("#login")).to_be_visible()
        await expect(page.locator("#ended")).to_be_visible()
        await expect(page.locator("#conn")).to_have_text("access ended")
        # What the token may no longer see leaves the screen with it.
        await expect(page.locator("#attention")).to_be_hidden()
        await expect(page.locator("#actions")).to_be_hidden()
        await shoot(page, "revoked_action")
    assert not of_type(await school.timeline(incident), "NoteAdded")


async def refused(school: School, secret: str, timeout: float = 10.0) -> None:
    """Wait until the API refuses the revoked token (tokens are reloaded every 2 s)."""
    deadline = asyncio.get_running_loop().time() + timeout
    async with aiohttp.ClientSession() as http:
        while asyncio.get_running_loop().time() < deadline:
            async with http.get(f"{school.app.url}/v1/sites/{school.site}/board",
                                headers={"Authorization": f"Bearer {secret}"}) as resp:
                if resp.status == 401:
                    return
            await asyncio.sleep(0.1)
    raise AssertionError("the revoked token is still taken")


async def test_the_commanders_destructive_actions_ask_first(app: App, browser: Browser) -> None:
    school = School(app, "test-high")
    incident = await school.press("police_activity", "A-101", "device")
    async with board_page(browser, app.url, await school.token("commander")) as (page, _):
        await live(page)
        await expect(page.locator("#banner")).to_have_attribute("data-action", "secure")
        actions = page.locator("#actions")
        await actions.get_by_role("button", name="Declare protocol").click()
        await page.locator("#protocol-action").select_option("lockdown")
        await page.locator("#protocol-dialog").get_by_role("button", name="Declare").click()
        await expect(page.locator("#banner")).to_have_attribute("data-action", "lockdown")
        await expect(page.locator("#action")).to_have_text("Lockdown!")
        await actions.get_by_role("button", name="Transfer command").click()
        await page.locator("#command-name").fill("Sgt. Rosa Ortiz")
        await page.locator("#command-agency").fill("Metro PD")
        await page.locator("#command-dialog").get_by_role("button", name="Transfer").click()
        await expect(page.locator("#command")).to_contain_text("Sgt. Rosa Ortiz (Metro PD)")
        confirm = page.locator("#confirm-dialog")
        for action, yes in (("All clear", "Yes, all clear"),
                            ("Cancel — false alarm", "Yes, cancel the alert")):
            await actions.get_by_role("button", name=action).click()
            await expect(confirm).to_be_visible()
            await expect(confirm.get_by_role("button", name=yes)).to_be_visible()
            await shoot(page, "confirm-" + yes.split()[-1])
            await confirm.get_by_role("button", name="Go back").click()
            await expect(confirm).to_be_hidden()
        await asyncio.sleep(0.5)  # anything a slip sent would be in the stream by now
        events = await school.timeline(incident)
        assert not of_type(events, "ProtocolLifted"), events
        assert not of_type(events, "IncidentCancelled"), events
        await expect(page.locator("#banner")).to_have_attribute("data-action", "lockdown")
        await actions.get_by_role("button", name="All clear").click()
        await confirm.get_by_role("button", name="Yes, all clear").click()
        await expect(page.locator("#banner")).to_have_attribute("data-action", "none")
    events = await school.timeline(incident)
    assert len(of_type(events, "ProtocolDeclared", action="lockdown")) == 1, events
    assert len(of_type(events, "ProtocolLifted")) == 1, events
    assert len(of_type(events, "CommandTransferred", commander="Sgt. Rosa Ortiz")) == 1, events
    assert not of_type(events, "IncidentCancelled"), events
