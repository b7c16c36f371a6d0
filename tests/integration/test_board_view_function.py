"""The board page's one pure function, view(board, ctx), driven in Chromium with boards made
from a real one (issue 18: "render from the board's JSON with one pure function that the tests
can drive"): every SRP action's words as Muster says them, in its colour's attribute, and the
same drawing for the same board, which it leaves as it was."""

from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Browser, expect

from command.domain.policy import SRP_ACTIONS, directive
from tests.conftest import App
from tests.integration.board_scenes import School
from tests.integration.browser import board_page, launched

DRAW = """async ({board, role}) => {
  const { view } = await import("/board-static/view.js");
  const { build } = await import("/board-static/dom.js");
  const before = JSON.stringify(board);
  const ctx = {role, name: null, now: Date.parse(board.protocol.declared_at) + 90000, skew: 0,
               selected: null, large: false};
  const first = view(board, ctx), again = view(board, ctx);
  const root = document.createElement("div");
  for (const node of [first].flat(Infinity).filter(Boolean)) root.append(build(node));
  const text = (sel) => root.querySelector(sel)?.textContent ?? null;
  return {action: text("#action"), directive: text("#directive"), since: text("#since"),
          colour: root.querySelector("#banner")?.getAttribute("data-action") ?? null,
          pure: JSON.stringify(first) === JSON.stringify(again),
          untouched: JSON.stringify(board) === before};
}"""
PLACES = {"evacuate": {"evacuate_to": "the north field"},
          "shelter": {"hazard": "a tornado", "strategy": "drop, cover and hold"}}


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with launched() as launched_browser:
        yield launched_browser


async def test_view_says_each_srp_action_in_muster_s_words(app: App, browser: Browser) -> None:
    school = School(app, "test-high")
    await school.press("lockdown", "B-112", "device")
    real = await school.board("commander")
    async with board_page(browser, app.url, await school.token("commander")) as (page, _):
        await expect(page.locator("#conn")).to_have_text("live", timeout=10_000)
        for action in SRP_ACTIONS:
            words = directive(action, **PLACES.get(action, {}))  # type: ignore[arg-type]
            said, _, rest = words.partition("!")
            board: dict[str, Any] = {**real, "protocol": {**real["protocol"], "action": action,
                                                          "directive": words}}
            drawn = await page.evaluate(DRAW, {"board": board, "role": "commander"})
            assert drawn["action"] == f"{said}!", (action, drawn)
            assert drawn["directive"] == rest.strip(), (action, drawn)
            assert drawn["colour"] == action, drawn
            assert drawn["since"] and "declared 1 min ago" in drawn["since"], drawn
            assert drawn["pure"] and drawn["untouched"], drawn
