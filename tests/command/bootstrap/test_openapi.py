"""The OpenAPI document is written from the routes the app is served from: each declared route
is there once, with its roles, its token's place and every status the middlewares add."""

from command.bootstrap import openapi
from command.domain.types import ROLES
from command.infra.health import HEALTH_ROUTES
from command.infra.web import EXEMPT
from command.write import dispatch_intake, roster_import
from command.write.routes import WRITE_ROUTES
from consumers.api import READERS
from consumers.desk_api import DESK_ROUTES
from consumers.drill_api import DRILL_ROUTES
from consumers.page import PAGE_ROUTES
from consumers.read_routes import READ_ROUTES

GETS = [*READ_ROUTES, *HEALTH_ROUTES, openapi.OPENAPI_ROUTE, *PAGE_ROUTES]
# Reads open to fewer roles than every board reader: what the 911 side reads.
FEWER = {"/v1/incidents/{id}/eido": ("dispatch", "responder", "commander"),
         "/v1/dispatch/ws": ("dispatch",),
         **{r.path: ("commander", "admin") for r in DRILL_ROUTES},  # the state's records
         **{r.path: r.roles for r in DESK_ROUTES}}  # the desk names guardians: roster roles
NOTHING_TO_FIND = {"/v1/me", "/v1/dispatch/ws"}  # no path parameter: never a 404


def test_the_paths_are_the_declared_routes_and_no_more() -> None:
    paths = openapi.document()["paths"]
    declared = {(r.path, "post") for r in WRITE_ROUTES} | {("/v1/sites/{site}", "put")} | {
        (r.path, r.method.lower()) for r in GETS} | {(dispatch_intake.PATH, "post"),
                                                      (roster_import.PATH, "post")}
    assert {(path, method) for path, item in paths.items() for method in item} == declared


def test_each_read_route_says_its_roles_and_where_its_token_goes() -> None:
    paths = openapi.document()["paths"]
    for route in READ_ROUTES:
        op = paths[route.path]["get"]
        me = route.path == "/v1/me"  # any valid token reads itself: never 403, nothing to find
        roles = ROLES if me else FEWER.get(route.path, READERS)
        assert op["description"].startswith("Roles: " + ", ".join(roles)), route.path
        assert op["security"] == [{"token" if route.path.endswith("/ws") else "bearer": []}]
        refused = {"401", "429", "503"} | (set() if me else {"403"}) | (
            set() if route.path in NOTHING_TO_FIND else {"404"})
        assert refused <= set(op["responses"]), route.path
        assert me != ("403" in op["responses"]), route.path


def test_only_the_exempt_probes_are_never_rate_limited() -> None:
    paths = openapi.document()["paths"]
    for route in GETS:
        limited = "429" in paths[route.path]["get"]["responses"]
        assert limited == (route.path not in EXEMPT), route.path
        assert ("security" in paths[route.path]["get"]) == bool(route.roles), route.path


def test_the_report_takes_its_format_and_answers_json_or_html() -> None:
    op = openapi.document()["paths"]["/v1/incidents/{id}/report"]["get"]
    assert [p["name"] for p in op["parameters"]] == ["id", "format"]
    assert set(op["responses"]["200"]["content"]) == {"application/json", "text/html"}
    assert "400" in op["responses"]
