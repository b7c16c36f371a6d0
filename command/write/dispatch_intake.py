"""`POST /v1/dispatch/eido`: a 911/CAD system's NENA EIDO document, matched to a school and
written through intake like any command.

An EIDO is the CAD incident's whole current state. It is parsed leniently (eido_in), matched to a
site by premise id or name, then civic address, then geofence (dispatch_match), checked against
the token's binding (one site, every site, or the dispatch area `area:NAME` a site names), and
handed to intake as a ReceiveDispatch. Its client_event_id comes from the site, the tracking id,
the document's last update and what it says, so a resent snapshot is a duplicate and a changed one
stamped in the same second is not. A rejection writes nothing.
"""

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any

import msgspec
from aiohttp import web

from command.domain import commands as c
from command.domain import dispatch_match, dispatch_rules, eido_in
from command.domain.errors import Invalid, MusterError, NotFound
from command.infra.auth import TokenStore, authorize
from command.infra.metrics import EVENTS_APPENDED, INTAKE_REQUESTS
from command.infra.web import Handler, json_response, read_body, status_of
from command.write.answers import Accepted
from command.write.decisions import Unchanged
from command.write.intake import Intake

PATH = "/v1/dispatch/eido"
ROLES = ("dispatch",)
# The namespace of the ids derived from an EIDO's tracking id and last update (uuid5): fixed,
# so the same snapshot gets the same id on every replica and after every restart.
NAMESPACE = uuid.UUID("5c1d0e7a-9f11-4a53-9b0e-e1d0911c0a11")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def client_event_id(site: str, tracking_id: str, updated_at: datetime,
                    content: bytes = b"") -> uuid.UUID:
    """The one id of one snapshot of one CAD incident at one site: a resend is known as a
    duplicate, while two snapshots stamped in the same second with different content, or the
    same call at another site, are not."""
    # The instant as time since the epoch: one spelling for every offset, and exact for any
    # year a CAD may send (astimezone overflows at the ends of the calendar).
    digest = hashlib.sha256(content).hexdigest()
    return uuid.uuid5(NAMESPACE, f"{site}\n{tracking_id}\n{updated_at - EPOCH}\n{digest}")


def utf8(raw: bytes) -> bytes:
    """JSON is UTF-8 throughout: the parser skips the fields Muster does not read unchecked,
    so bytes that are not UTF-8 there would pass it."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Invalid(f"the body is not valid UTF-8 (byte {exc.start})", field="$") from None
    return raw


def eido_handler(intake: Intake, tokens: TokenStore) -> Handler:
    answered: dict[str, Any] = {}  # the counter per status, without labels() each time

    async def handle(request: web.Request) -> web.Response:
        status = "error"
        try:
            token = await tokens.authenticate(request.headers.get("Authorization"))
            authorize(token, ROLES, None)  # the role first: a wrong one learns nothing more
            doc = eido_in.parse(utf8(await read_body(request)))
            # The strongest evidence decides (premise id, then address, then point) over every
            # site, and only then the token's binding: another school's premise id is a 403.
            found = dispatch_match.match(doc.location, intake.site_files())
            if isinstance(found, dispatch_match.NoMatch):
                raise NotFound(found.reason, field="$.locationComponent")
            site = found.site
            authorize(token, ROLES, site.id, area=site.dispatch.area if site.dispatch else None)
            snap = dispatch_rules.snapshot(doc)
            key = client_event_id(site.id, doc.tracking_id, doc.updated_at,
                                  msgspec.json.encode(snap))
            cmd = c.ReceiveDispatch(client_event_id=key, dispatch=snap)
            try:
                accepted, events = await intake.execute(site.id, cmd, token.actor())
            except Unchanged:  # the same as, or older than, the snapshot already stored
                accepted, events = unchanged(intake, site.id), []
            EVENTS_APPENDED.inc(len(events))
            status = "202"
            return json_response(accepted, status=202)
        except MusterError as exc:
            status = str(status_of(exc))
            raise
        finally:
            counter = answered.get(status)
            if counter is None:
                counter = answered[status] = INTAKE_REQUESTS.labels(PATH, status)
            counter.inc()

    return handle


def unchanged(intake: Intake, site: str) -> Accepted:
    """The answer to a snapshot with nothing new: the site's open incident, nothing written."""
    state = intake.state(site)
    live = state.open.get("live")
    return Accepted(live.id if live else None, "", state.seq, duplicate=True)


def dispatch_routes(intake: Intake, tokens: TokenStore) -> list[web.RouteDef]:
    return [web.post(PATH, eido_handler(intake, tokens))]
