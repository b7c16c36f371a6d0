"""The board page's files as served: every module a script imports is served, the headers keep
the page on its own origin, and a slow link gets a 304 or gzip instead of the scripts again."""

import re
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from command.infra.route_table import serve
from command.infra.web import make_app
from consumers.page import ASSETS, PAGE_ROUTES, STATIC


@pytest.fixture
async def url() -> AsyncIterator[str]:
    runner = web.AppRunner(make_app(serve(PAGE_ROUTES, None)))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


def test_every_module_a_script_imports_is_served() -> None:
    scripts = [p for p in STATIC.iterdir() if p.suffix == ".js"]
    imported = {m for p in scripts for m in re.findall(r'from "\./([\w.]+)"', p.read_text())}
    assert imported, "the board's scripts import each other"
    assert imported <= set(ASSETS)
    pages = {"board.html", "drills.html", "desk.html", "district.html"}
    assert {p.name for p in STATIC.iterdir()} - pages == set(ASSETS)


@pytest.mark.parametrize("page", ["/board/demo-high", "/drills/demo-high", "/desk/demo-high",
                                  "/district/demo-district/reunification"])
async def test_the_page_and_its_scripts_stay_on_their_own_origin(url: str, page: str) -> None:
    async with aiohttp.ClientSession() as http, http.get(f"{url}{page}") as resp:
        assert resp.status == 200
        csp = resp.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "connect-src 'self'" in csp
        html = await resp.text()
    # No CDN: every script and style the page loads comes from this server.
    for ref in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert ref.startswith("/board-static/"), ref
        assert ref.rsplit("/", 1)[1] in ASSETS


async def test_a_second_load_is_a_304_and_a_first_is_gzipped(url: str) -> None:
    async with aiohttp.ClientSession(auto_decompress=False) as http:
        async with http.get(f"{url}/board-static/view.js",
                            headers={"Accept-Encoding": "gzip"}) as resp:
            assert resp.status == 200
            assert resp.headers["Content-Encoding"] == "gzip"
            etag = resp.headers["ETag"]
            zipped = len(await resp.read())
        assert zipped < (STATIC / "view.js").stat().st_size / 2
        async with http.get(f"{url}/board-static/view.js",
                            headers={"If-None-Match": etag}) as resp:
            assert resp.status == 304
            assert await resp.read() == b""


async def test_an_unknown_file_is_404(url: str) -> None:
    async with aiohttp.ClientSession() as http, http.get(
            f"{url}/board-static/secrets.json") as resp:
        assert resp.status == 404
