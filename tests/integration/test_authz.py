"""Every route, for every role, with a token for its own site, another site and all sites.
As CONTRACT §2 says.

The table is walked against the routes the running app really serves: a route added without an
entry here fails the test, so nothing ships unchecked.
"""

import uuid

import aiohttp
import msgspec

from command.domain.site_dispatch import Dispatch
from command.domain.types import ROLES
from tests.conftest import App, small_site
from tests.eido_docs import body, eido

R = ("staff", "responder", "commander", "dispatch")  # the board readers
MATRIX: dict[tuple[str, str], tuple[str, ...]] = {
    ("POST", "/v1/sites/{site}/alerts"): ("device", "staff", "commander"),
    ("POST", "/v1/sites/{site}/drills"): ("commander",),
    ("POST", "/v1/incidents/{id}/protocol"): ("commander",),
    ("POST", "/v1/incidents/{id}/rooms/{room}/status"): ("staff", "commander"),
    ("POST", "/v1/incidents/{id}/accountability"): ("staff", "commander"),
    ("POST", "/v1/incidents/{id}/reunification/checkin"): ("staff", "commander"),
    ("POST", "/v1/incidents/{id}/reunification/guardians"): ("staff", "commander"),
    ("POST", "/v1/incidents/{id}/reunification/open"): ("commander",),
    ("POST", "/v1/incidents/{id}/reunification/release"): ("staff", "commander"),
    ("POST", "/v1/incidents/{id}/reunification/arrivals"): ("staff", "commander"),
    ("POST", "/v1/incidents/{id}/reunification/fetch"): ("staff", "commander"),
    ("POST", "/v1/incidents/{id}/reunification/exceptions"): ("staff", "commander"),
    ("POST", "/v1/incidents/{id}/reunification/exceptions/resolve"): ("commander",),
    ("POST", "/v1/incidents/{id}/reunification/point"): ("commander",),
    ("POST", "/v1/incidents/{id}/reunification/guardian-messages"): ("commander",),
    ("POST", "/v1/incidents/{id}/relocate"): ("commander",),
    ("POST", "/v1/sites/{site}/away-events"): ("staff", "commander"),
    ("POST", "/v1/sites/{site}/roster"): ("admin",),
    ("POST", "/v1/incidents/{id}/acks"): ("responder", "commander", "dispatch"),
    ("POST", "/v1/incidents/{id}/notes"): ("staff", "responder", "commander"),
    ("POST", "/v1/incidents/{id}/all-clear"): ("commander",),
    ("POST", "/v1/incidents/{id}/cancel"): ("device", "staff", "commander"),
    ("POST", "/v1/incidents/{id}/command"): ("commander",),
    ("POST", "/v1/sites/{site}/handle-with-care"): ("responder", "dispatch"),
    ("POST", "/v1/incidents/{id}/close"): ("commander",),
    ("POST", "/v1/sites/{site}/tabletops"): ("commander",),
    ("POST", "/v1/incidents/{id}/injects"): ("commander",),
    ("POST", "/v1/incidents/{id}/sign-off"): ("commander",),
    ("POST", "/v1/dispatch/eido"): ("dispatch",),
    ("PUT", "/v1/sites/{site}"): ("admin",),
    ("GET", "/v1/sites/{site}/board"): R,
    ("GET", "/v1/sites/{site}/board/ws"): R,
    ("GET", "/v1/incidents/{id}"): R,
    ("GET", "/v1/incidents/{id}/timeline"): R,
    ("GET", "/v1/incidents/{id}/report"): R,
    ("GET", "/v1/incidents/{id}/eido"): ("responder", "commander", "dispatch"),
    ("GET", "/v1/sites/{site}/cap"): R,
    ("GET", "/v1/me"): ROLES,
    ("GET", "/v1/dispatch/ws"): ("dispatch",),
    ("GET", "/v1/sites/{site}/drills"): ("commander", "admin"),
    ("GET", "/v1/sites/{site}/drills/compliance"): ("commander", "admin"),
    ("GET", "/v1/districts/{district}/drills"): ("commander", "admin"),
    ("GET", "/v1/districts/{district}/drills/compliance"): ("commander", "admin"),
    ("GET", "/v1/incidents/{id}/reunification"): ("staff", "commander"),
    ("GET", "/v1/districts/{district}/reunification"): ("commander", "admin"),
}
UNBOUND = {("GET", "/v1/me")}  # reads only the token itself: a token of any site may
# A CAD of any site or area subscribes; it hears only of its own sites' incidents.
UNBOUND |= {("GET", "/v1/dispatch/ws")}
# A dispatch token of a dispatch area sends and reads EIDOs for the area's sites, nothing else.
AREAS = {("POST", "/v1/dispatch/eido"), ("GET", "/v1/incidents/{id}/eido")}
# A district's drills are read only with a token bound to all sites.
ALL_SITES = {("GET", "/v1/districts/{district}/drills"),
             ("GET", "/v1/districts/{district}/drills/compliance"),
             ("GET", "/v1/districts/{district}/reunification")}
BINDINGS = ("test-high", "other-school", "*", "area:test-pd", "area:other-pd")
PREMISE = "TEST-HIGH-PREMISE"
PUBLIC = {"/healthz", "/readyz", "/openapi.json", "/board/{site}", "/drills/{site}",
          "/desk/{site}", "/district/{district}/reunification", "/board-static/{name}"}


def served(app: App) -> set[tuple[str, str]]:
    runner = app.muster.runner
    assert runner is not None
    routes = set()
    for route in runner.app.router.routes():
        path = route.resource.canonical if route.resource else ""
        if route.method in ("HEAD", "OPTIONS") or path in PUBLIC:
            continue
        routes.add((route.method, path))
    return routes


def test_matrix_covers_every_served_route_and_no_more(app: App) -> None:
    missing = served(app) - set(MATRIX)
    assert not missing, f"routes without an authorization entry: {sorted(missing)}"


async def request(http: aiohttp.ClientSession, app: App, method: str, path: str,
                  token: str) -> int:
    if path.endswith("/ws"):
        async with http.get(app.url + path, params={"token": token}) as resp:
            return resp.status
    # An EIDO names its site inside: this one is test-high's, by its premise id.
    payload = body(eido(premise=PREMISE)) if path == "/v1/dispatch/eido" else b"{}"
    async with http.request(method, app.url + path, data=None if method == "GET" else payload,
                            headers={"Authorization": f"Bearer {token}"}) as resp:
        return resp.status


def may(role: str, binding: str, route: tuple[str, str]) -> bool:
    if role not in MATRIX[route]:
        return False
    if route in ALL_SITES:
        return binding == "*"
    if route in UNBOUND or binding in ("test-high", "*"):
        return True
    return binding == "area:test-pd" and route in AREAS


async def test_every_route_every_role_every_binding(app: App) -> None:
    await app.muster.import_site(msgspec.structs.replace(
        small_site(), dispatch=Dispatch(ids=[PREMISE], area="test-pd")))
    device = await app.token("device")
    async with aiohttp.ClientSession() as http:
        async with http.post(app.url + "/v1/sites/test-high/alerts",
                             json={"kind": "hold", "room": "GYM"},
                             headers={"Authorization": f"Bearer {device}"}) as resp:
            incident = (await resp.json())["incident_id"]
        await app.wait_projected(await app.log.last_seq())
        failures = []
        for method, template in MATRIX:
            path = (template.replace("{site}", "test-high").replace("{id}", incident)
                    .replace("{room}", "GYM").replace("{district}", "test-district"))
            for role in ROLES:
                for binding in BINDINGS:
                    if binding.startswith("area:") and role != "dispatch":
                        continue  # only a dispatch token may be bound to an area
                    status = await request(http, app, method, path,
                                           await app.token(role, binding))
                    allowed = may(role, binding, (method, template))
                    if (allowed and status in (401, 403)) or (not allowed and status != 403):
                        failures.append((method, template, role, binding, status))
        assert not failures, failures


async def test_no_or_bad_token_is_401_everywhere(app: App) -> None:
    async with aiohttp.ClientSession() as http:
        for method, template in served(app):
            path = (template.replace("{site}", "test-high").replace("{id}", str(uuid.uuid4()))
                    .replace("{room}", "GYM").replace("{district}", "test-district"))
            for token in ("", "mst_forged", "Basic abc"):
                status = await request(http, app, method, path, token)
                assert status == 401, (method, template, token, status)
