"""A tabletop in Debian's Chromium: the board's mode bar says it is a discussion exercise, the
latest inject is shown large above the protocol, and the page passes axe; then the exercise's
HTML debrief, inject by inject. Screenshots: tabletop-board-1280.png, tabletop-debrief-1280.png."""

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, expect

from command.domain.scenario import timeline
from command.write.scenario_library import shipped
from tests.conftest import App
from tests.integration.board_scenes import School, demo_school, shown_seq
from tests.integration.browser import (
    SHOTS,
    axe_violations,
    board_page,
    grave,
    launched,
    live,
    shoot,
)

# What the table does after each inject (by its index), as the board's users would.
ANSWERS: dict[int, list[tuple[str, dict, str]]] = {
    0: [("protocol", {"action": "lockdown"}, "commander")],
    1: [("notes", {"text": "Drivers told: doors shut, pull out, students down"}, "staff")],
    2: [("rooms/B-112/status", {"status": "secured", "present": 24}, "staff"),
        ("rooms/A-101/status", {"status": "secured", "present": 19}, "staff")],
    3: [("acks", {"responder": "Dispatch (on the phone with the office)"}, "commander")],
    6: [("command", {"commander": "Lt. Diaz", "agency": "County PD"}, "commander")],
}


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with launched() as launched_browser:
        yield launched_browser


async def play_until(school: School, incident: str, upto: int, start: int = 0) -> None:
    """Deliver the intruder scenario's injects `start`..`upto` (from 0), each answered."""
    timed = timeline(shipped()["armed-intruder-dismissal"])
    for t in timed[start:upto + 1]:
        await school.send(f"/v1/incidents/{incident}/injects", {
            "index": t.index, "text": t.text, "at_s": t.at_s, "clock": t.clock,
            "source": t.source, "expect": t.expect})
        for path, body, role in ANSWERS.get(t.index, []):
            await school.send(f"/v1/incidents/{incident}/{path}", body, role)


async def test_a_tabletop_board_and_its_debrief(app: App, browser: Browser) -> None:
    school = await demo_school(app)
    opened = await school.send(f"/v1/sites/{school.site}/tabletops",
                               {"scenario": "armed-intruder-dismissal",
                                "note": "Spring staff day: intruder at dismissal"})
    incident = opened["incident_id"]
    await play_until(school, incident, 6)
    async with board_page(browser, app.url, await school.token("commander"),
                          site=school.site) as (page, _):
        await live(page)
        await shown_seq(page, await school.settled())
        await expect(page.locator("#mode")).to_have_text("TABLETOP")
        bar = " ".join((await page.locator("#modebar").inner_text()).split())
        assert bar.startswith("TABLETOP — discussion exercise, nothing is sent"), bar
        await expect(page.locator("body")).to_have_attribute("data-mode", "tabletop")
        await expect(page.locator("#inject-h")).to_contain_text("Inject 7")
        await expect(page.locator("#inject-text")).to_have_text(
            shipped()["armed-intruder-dismissal"].injects[6].text)
        await expect(page.locator("#banner")).to_have_attribute("data-action", "lockdown")
        colours = await page.evaluate(
            "() => ['.m-tabletop'].map((s) => getComputedStyle(document.querySelector(s))"
            ".backgroundColor)")
        assert colours == ["rgb(11, 94, 79)"]  # neither drill yellow nor live red
        inject_box = await page.locator("#inject").bounding_box()
        banner_box = await page.locator("#banner").bounding_box()
        assert inject_box and banner_box and inject_box["y"] < banner_box["y"]
        assert grave(await axe_violations(page)) == []
        await shoot(page, "tabletop-board", "1280")

    await play_until(school, incident, 9, start=7)
    for path in ("all-clear", "close"):
        await school.send(f"/v1/incidents/{incident}/{path}", {})
    await school.send(f"/v1/incidents/{incident}/sign-off",
                      {"signed_by": "Dr. Amara Reyes", "title": "Principal"})
    context = await browser.new_context(
        viewport={"width": 1280, "height": 900},
        extra_http_headers={"Authorization": f"Bearer {await school.token('commander')}"})
    try:
        page = await context.new_page()
        await page.goto(f"{app.url}/v1/incidents/{incident}/report?format=html")
        text = await page.locator("body").inner_text()
        assert "TABLETOP" in text
        assert shipped()["armed-intruder-dismissal"].injects[0].text in text
        assert "Dr. Amara Reyes" in text
        SHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=SHOTS / "tabletop-debrief-1280.png", full_page=True)
    finally:
        await context.close()
