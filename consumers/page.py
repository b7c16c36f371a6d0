"""The live board as a web page (`GET /board/{site}`), and beside it the drill log, the
reunification desk (`/desk/{site}`) and a district's reunification points: static HTML, CSS and
script only.

The token never reaches the server in the page request: it travels in the URL fragment or is
typed in, and the script sends it only to the API (the WebSocket, and commands by bearer header).
No CDN and no build step: the scripts are plain ES modules, served from here.
"""

import functools
import hashlib
from pathlib import Path

from aiohttp import web

from command.infra.route_table import Answer, Route, ok

STATIC = Path(__file__).parent / "static"
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Kept, but asked about each time: a slow link gets a 304 instead of the scripts again.
    "Cache-Control": "no-cache",
}
TYPES = {".html": "text/html", ".css": "text/css", ".js": "text/javascript",
         ".svg": "image/svg+xml"}
ASSETS = ("board.css", "board.js", "state.js", "socket.js", "acting.js", "view.js", "plan.js",
          "banner.js", "units.js",
          "dom.js", "actions.js", "status.js", "icon.svg", "drills.css", "drills.js",
          "desk.css", "desk.js", "desk_view.js", "desk_forms.js", "district.js")


@functools.cache
def _read(name: str) -> tuple[bytes, str]:
    body = (STATIC / name).read_bytes()
    return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _file(request: web.Request, name: str) -> web.Response:
    body, etag = _read(name)
    headers = {**HEADERS, "ETag": etag}
    if etag in request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers=headers)
    response = web.Response(body=body, headers=headers, content_type=TYPES[Path(name).suffix],
                            charset="utf-8")
    response.enable_compression()  # gzip when asked: the scripts are a third of their size
    return response


async def board_page(request: web.Request) -> web.Response:
    return _file(request, "board.html")


async def drills_page(request: web.Request) -> web.Response:
    return _file(request, "drills.html")


async def desk_page(request: web.Request) -> web.Response:
    return _file(request, "desk.html")


async def district_page(request: web.Request) -> web.Response:
    return _file(request, "district.html")


async def board_asset(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in ASSETS:
        raise web.HTTPNotFound()
    return _file(request, name)


PAGE_ROUTES: list[Route[None]] = [
    Route("/board/{site}", "The live board as a web page; the token stays in the URL fragment",
          lambda _: board_page, ok("The page", {"type": "string"}, "text/html"),
          errors=("404",),
          # A static page for any site: the script reads the site from the URL, and the
          # WebSocket it opens is what checks it.
          path_schemas={"site": {"type": "string", "minLength": 1}}),
    Route("/drills/{site}", "The site's drill log and state requirements as a web page; the "
          "token stays in the URL fragment", lambda _: drills_page,
          ok("The page", {"type": "string"}, "text/html"), errors=("404",),
          path_schemas={"site": {"type": "string", "minLength": 1}}),
    Route("/desk/{site}", "The reunification desk (greeter, checker, reunifier, exceptions) "
          "as a web page; the token stays in the URL fragment", lambda _: desk_page,
          ok("The page", {"type": "string"}, "text/html"), errors=("404",),
          path_schemas={"site": {"type": "string", "minLength": 1}}),
    Route("/district/{district}/reunification", "A district's reunification points and their "
          "progress as a web page; the token stays in the URL fragment", lambda _: district_page,
          ok("The page", {"type": "string"}, "text/html"), errors=("404",),
          path_schemas={"district": {"type": "string", "minLength": 1}}),
    Route("/board-static/{name}", "The board page's script and style", lambda _: board_asset,
          (Answer("200", "The script or the style", {
              "text/javascript": {"type": "string"}, "text/css": {"type": "string"},
              "image/svg+xml": {"type": "string"}}),),
          errors=("404",),
          path_schemas={"name": {"type": "string", "enum": list(ASSETS)}}),
]
