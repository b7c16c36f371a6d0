"""The board page in a real browser, shared by the browser tests: Debian's Chromium driven by
Playwright (its own browser download is not reachable here), a page opened on a board with a
token in the URL fragment, every WebSocket it opens and every frame they receive, screenshots
into test-artefacts/screenshots/, and an axe-core run."""

import contextlib
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, WebSocket, async_playwright, expect

SITE = "test-high"
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
# Named by width too, as the screenshots are (lockdown-injured-390.png).
SIZES = {**VIEWPORTS, "390": {"width": 390, "height": 844}, "1920": {"width": 1920, "height": 1080}}
SHOTS = Path(__file__).resolve().parents[2] / "test-artefacts" / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
# axe-core as the axe-playwright-python wheel ships it, its MPL-2.0 licence in the file's head.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
GRAVE = ("serious", "critical")


@contextlib.asynccontextmanager
async def launched() -> AsyncIterator[Browser]:
    """Debian's Chromium; a missing one fails the test rather than skip it (CI installs it)."""
    path = shutil.which("chromium")
    if path is None:
        pytest.fail("chromium is not installed: `apt-get install -y chromium` (.ci/run does it)")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


class Sockets(list[WebSocket]):
    """The WebSockets a page opened, in order, and the text frames each one received."""

    def __init__(self) -> None:
        super().__init__()
        self.received: list[list[str]] = []

    @property
    def frames(self) -> list[str]:
        return [frame for frames in self.received for frame in frames]

    def opened(self, ws: WebSocket) -> None:
        self.append(ws)
        frames: list[str] = []
        self.received.append(frames)
        ws.on("framereceived", lambda payload: frames.append(
            payload if isinstance(payload, str) else payload.decode("utf-8", "replace")))


@contextlib.asynccontextmanager
async def board_page(browser: Browser, url: str, token: str, viewport: str = "desktop",
                     site: str = SITE, prepare: Callable[[Page], Awaitable[None]] | None = None,
                     **options: Any) -> AsyncIterator[tuple[Page, Sockets]]:
    """The board page of `site` opened with `token` in a context of its own (no shared
    storage), and every WebSocket it opens, as it opens them; `prepare` runs before it loads."""
    context = await browser.new_context(viewport=SIZES[viewport], **options)
    try:
        context.set_default_timeout(10_000)  # a missing control fails in 10 s, not 30
        page = await context.new_page()
        sockets = Sockets()
        page.on("websocket", sockets.opened)
        if prepare is not None:
            await prepare(page)
        await page.goto(f"{url}/board/{site}#token={token}")
        yield page, sockets
    finally:
        await context.close()


async def live(page: Page) -> None:
    """Wait until the page says its board is live."""
    await expect(page.locator("#conn")).to_have_text("live", timeout=10_000)


async def shoot(page: Page, test: str, viewport: str = "desktop") -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{test}-{viewport}.png"
    await page.screenshot(path=path, full_page=True)
    return path


def axe_script() -> Path:
    import axe_playwright_python  # the test extra's; imported here so other tests need it not

    return Path(axe_playwright_python.__file__).parent / "axe.min.js"


async def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's WCAG 2 A/AA violations of the page as it is now, with their nodes.
    Evaluated rather than added as a <script>: the page's CSP rightly refuses inline scripts."""
    await page.evaluate(axe_script().read_text(encoding="utf-8"))
    result = await page.evaluate(
        "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags},"
        " resultTypes: ['violations']})", AXE_TAGS)
    return result["violations"]


def grave(violations: list[dict[str, Any]]) -> list[str]:
    """The serious and critical violations, each said in one line with where it is."""
    return [f"{v['impact']}: {v['id']} ({v['help']}) at "
            + "; ".join(", ".join(map(str, n["target"])) for n in v["nodes"][:5])
            for v in violations if v.get("impact") in GRAVE]
