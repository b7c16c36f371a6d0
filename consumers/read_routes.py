"""Every API route of the read side, in one list: the app serves it, and the OpenAPI document is
written from it (command/bootstrap/openapi.py). Each route is declared beside its handler.

The board page (page.PAGE_ROUTES) asks for no token and is listed with the probes.
"""

from command.infra.route_table import Route
from consumers.api import LIVE_ROUTE, MODEL_ROUTES, ReadSources
from consumers.cap_feed import CAP_ROUTE
from consumers.desk_api import DESK_ROUTES
from consumers.dispatch_ws import DISPATCH_WS_ROUTE
from consumers.drill_api import DRILL_ROUTES
from consumers.eido_api import EIDO_ROUTE
from consumers.report_api import REPORT_ROUTE

READ_ROUTES: list[Route[ReadSources]] = [*MODEL_ROUTES, CAP_ROUTE, REPORT_ROUTE, EIDO_ROUTE,
                                       LIVE_ROUTE, DISPATCH_WS_ROUTE, *DRILL_ROUTES,
                                       *DESK_ROUTES]
