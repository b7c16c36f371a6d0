"""The live board as a web page (`GET /board/{site}`): static HTML, CSS and script only.

The token never reaches the server in the page request: it travels in the URL fragment or is
typed in, and the script uses it only to open the WebSocket.
"""

from pathlib import Path

from aiohttp import web

STATIC = Path(__file__).parent / "static"
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
TYPES = {".html": "text/html", ".css": "text/css", ".js": "text/javascript"}


def _file(name: str) -> web.Response:
    path = STATIC / name
    return web.Response(body=path.read_bytes(), headers=HEADERS,
                        content_type=TYPES[path.suffix], charset="utf-8")


async def board_page(_: web.Request) -> web.Response:
    return _file("board.html")


async def board_asset(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in ("board.css", "board.js"):
        raise web.HTTPNotFound()
    return _file(name)


def page_routes() -> list[web.RouteDef]:
    return [web.get("/board/{site}", board_page),
            web.get("/board-static/{name}", board_asset)]
