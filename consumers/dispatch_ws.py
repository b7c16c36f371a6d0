"""NENA STA-024 subscribe/notify over WebSocket: `GET /v1/dispatch/ws?token=…` (role dispatch).

A CAD subscribes (`single` incident, every `new` incident, or a `resource`'s incidents); each
change the gateway applies to a matching incident goes out as a notify (`event`) carrying the
full EIDO, which the CAD acknowledges with an `eventResponse` quoting its transactionId. The
bookkeeping (acks, resends, drops) is `dispatch_subscriptions.Book`; this module is the socket.
"""

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import msgspec
from aiohttp import WSCloseCode, WSMsgType, web

from command.domain import eido_out
from command.domain import events as e
from command.domain.board import State
from command.domain.board_case import Case
from command.infra.auth import Token, TokenStore, authorize
from command.infra.route_table import Answer, Route
from command.infra.web import Handler
from consumers import dispatch_subscriptions as ds
from consumers.api import ReadSources, Revocations
from consumers.gateway import Gateway
from consumers.replay import PREFIX as REPLAY

log = logging.getLogger("muster.dispatch_ws")
# The EIDO of one incident of a board: (board, case, when it changed, or None: its last change).
Document = Callable[[State, Case, datetime | None], dict[str, Any]]
ROLES = ("dispatch",)
MESSAGE_MAX = 64 * 1024  # a subscriber's messages are small; an EIDO only flows out
OUTBOX_MAX = 1000  # messages a subscriber may leave unread before it is closed
RENEWABLE = 1024  # subscriptions of closed connections still renewable by subscriptionId
_json = msgspec.json.Encoder()


def change_of(case: Case) -> ds.Change:
    """The ids an incident goes by (Muster's, the CAD's tracking id and number) and its units."""
    dispatch = case.dispatch or {}
    aliases = {case.incident.id, *(str(dispatch[k]) for k in ("tracking_id", "cad_id")
                                   if dispatch.get(k))}
    return ds.Change(case.incident.id, frozenset(aliases), ds.units_of(dispatch))


def cases_of(state: State) -> Iterator[Case]:
    """The site's open incidents, and the last one to end (a single subscription's last news);
    never a tabletop, which no subscriber may hear of, even by its id."""
    ended = [state.ended] if state.ended is not None else []
    yield from (c for c in [*state.cases.values(), *ended] if c.incident.mode != "tabletop")


def sees(token: Token, state: State) -> bool:
    """Whether the token may hear of the site's incidents: its site, `*`, or its dispatch area."""
    if state.config is None or state.site.startswith(REPLAY):
        return False
    table = state.config.dispatch
    return token.allows_site(state.site, table.area if table is not None else None)


class Hub:
    """Every subscriber's connection, told of each update the gateway applies."""

    def __init__(self, gateway: Gateway, document: Document, resend_s: float,
                 resends: int) -> None:
        self.gateway = gateway
        self.document = document
        self.resend_s = resend_s
        self.resends = resends
        self.sessions: set[Session] = set()
        self.closed: OrderedDict[tuple[bytes, str], ds.Subscription] = OrderedDict()
        gateway.listeners.append(self.on_update)
        gateway.stopping.append(self.stop)

    def on_update(self, seq: int, event: e.Event) -> None:
        """The gateway's listener: never raises into it, so a notify can never stop a board."""
        if not self.sessions or not event.incident_id:
            return
        try:
            state = self.gateway.states.get(event.site)
            case = next((c for c in cases_of(state) if c.incident.id == event.incident_id),
                        None) if state is not None else None
            if state is not None and case is not None:
                self.changed(state, case, event.occurred_at)
        except Exception:
            log.exception("dispatch notify of event %s at seq %d failed", event.id, seq)

    def changed(self, state: State, case: Case, at: datetime) -> None:
        change, doc = change_of(case), None
        for session in list(self.sessions):
            if not sees(session.token, state):
                continue
            for sub in session.book.matching(change):
                if ds.heard(sub.sub_type, case.incident.mode):  # drills: by id only
                    doc = doc or self.document(state, case, at)
                    session.notify(sub, change, doc)

    def stop(self) -> None:
        """The server stops: every subscriber is told to come back (1001), as a board is."""
        for session in self.sessions:
            session.close(WSCloseCode.GOING_AWAY, b"server stopping")

    def visible(self, token: Token) -> Iterator[tuple[State, Case]]:
        for state in list(self.gateway.states.values()):
            if sees(token, state):
                yield from ((state, case) for case in cases_of(state))

    def keep(self, token: Token, book: ds.Book) -> None:
        """A closed connection's subscriptions, renewable by id on the same token."""
        for sub in book.subscriptions.values():
            self.closed[(token.hash, sub.id)] = sub
        while len(self.closed) > RENEWABLE:
            self.closed.popitem(last=False)


class Session:
    """One subscriber's connection: its messages answered, its notifies written in order."""

    def __init__(self, hub: Hub, ws: web.WebSocketResponse, token: Token) -> None:
        self.hub = hub
        self.ws = ws
        self.token = token
        self.book = ds.Book(hub.resend_s, hub.resends)
        self.outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.closing: asyncio.Task[Any] | None = None

    def send(self, message: dict[str, Any]) -> None:
        if self.closing is not None:
            return
        if self.outbox.qsize() >= OUTBOX_MAX:
            self.close(WSCloseCode.TRY_AGAIN_LATER, b"too slow; subscribe again")
            return
        self.outbox.put_nowait(message)

    def close(self, code: int, why: bytes) -> None:
        if self.closing is None:
            self.closing = asyncio.create_task(self.ws.close(code=code, message=why))

    def notify(self, sub: ds.Subscription, change: ds.Change, doc: dict[str, Any]) -> None:
        message = self.book.notify(sub, change, doc, asyncio.get_running_loop().time())
        if message is not None:
            self.send(message)

    async def run(self) -> None:
        self.hub.sessions.add(self)
        tasks = (asyncio.create_task(self._write()), asyncio.create_task(self._resend()))
        try:
            async for msg in self.ws:
                if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                    continue
                try:
                    self.receive(msgspec.json.decode(msg.data))
                except (msgspec.DecodeError, RecursionError):  # not JSON, or nested past reading
                    await self.ws.close(code=WSCloseCode.UNSUPPORTED_DATA,
                                        message=b"each message is one JSON object (STA-024)")
        finally:
            self.hub.sessions.discard(self)
            self.hub.keep(self.token, self.book)
            for task in tasks:
                task.cancel()

    async def _write(self) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):  # gone: run() ends it too
            while True:
                message = await self.outbox.get()
                await self.ws.send_str(_json.encode(message).decode())

    async def _resend(self) -> None:
        step = max(0.02, self.book.resend_s / 4)  # a resend is at most a quarter period late
        while True:
            await asyncio.sleep(step)
            again, ended = self.book.due(asyncio.get_running_loop().time())
            for message in (*again, *ended):
                self.send(message)

    def receive(self, message: Any) -> None:
        """One subscriber message: answered at once, and a new subscription's current state."""
        kind, body = next(iter(message.items()), ("", None)) if isinstance(message, dict) \
            else ("", None)
        if not isinstance(body, dict):
            refused = "each message is an object holding one object, as STA-024 writes them"
            self.send(ds.subscribe_response("", 400, refused) if kind == "subscribe"
                      else ds.not_implemented(""))
            return
        request_id = body.get("requestId")
        request_id = request_id if isinstance(request_id, str) else ""
        if kind == "subscribe":
            self.subscribe(request_id, body)
        elif kind == "unsubscribe":
            sub_id = str(body.get("subscriptionId") or "")
            found = self.book.remove(sub_id) is not None
            self.send(ds.unsubscribe_response(request_id, sub_id, found))
        elif kind == "eventResponse":
            if not self.book.ack(str(body.get("transactionId") or "")):
                log.info("an eventResponse for no notify awaiting one: %s", body)
        elif kind != "terminateResponse":  # a terminate needs no more once answered
            self.send(ds.not_implemented(request_id))

    def subscribe(self, request_id: str, body: dict[str, Any]) -> None:
        renewing = body.get("subscriptionId")
        if isinstance(renewing, str) and renewing and "requestType" not in body:
            spec = self.book.renewable(renewing) or self.hub.closed.pop(
                (self.token.hash, renewing), None)
            if spec is None:
                self.send(ds.subscribe_response(request_id, 481, "Subscription does not exist"))
                return
            self._start(request_id, spec, renewing)
            return
        parsed = ds.parse_subscribe(body)
        if isinstance(parsed, ds.Subscription) and parsed.sub_type == "single":
            parsed = self._single(parsed)
        if isinstance(parsed, ds.Problem):
            self.send(ds.subscribe_response(request_id, parsed.code, parsed.text))
        else:
            self._start(request_id, parsed, None)

    def _single(self, spec: ds.Subscription) -> ds.Subscription | ds.Problem:
        """A single subscription to an incident this token may hear of, else 404 (as an
        incident of a site the token may not see: its existence stays unsaid)."""
        probe = ds.Book(1.0, 0)
        for _, case in self.hub.visible(self.token):
            if probe.wants(spec, change_of(case)):
                return spec
        return ds.Problem(404, f"no incident {spec.incident_id!r} that this token may hear of")

    def _start(self, request_id: str, spec: ds.Subscription, sub_id: str | None) -> None:
        sub = self.book.add(spec, sub_id)
        self.send(ds.subscribe_response(request_id, 200, "OK", sub.id))
        for state, case in list(self.hub.visible(self.token)):
            change = change_of(case)
            heard = ds.heard(sub.sub_type, case.incident.mode)
            if heard and (sub.sub_type == "single" or case.incident.status == "open") \
                    and self.book.wants(sub, change):
                self.notify(sub, change, self.hub.document(state, case, None))


def dispatch_ws_handler(gateway: Gateway, tokens: TokenStore, document: Document,
                        resend_s: float, resends: int) -> Handler:
    hub = Hub(gateway, document, resend_s, resends)
    watch = Revocations(tokens)

    async def handle(request: web.Request) -> web.StreamResponse:
        token = await tokens.check(request.query.get("token", ""))
        authorize(token, ROLES, None)
        ws = web.WebSocketResponse(heartbeat=20, max_msg_size=MESSAGE_MAX, compress=False)
        await ws.prepare(request)
        watch.add(ws, request.query["token"])
        try:
            await Session(hub, ws, token).run()
        finally:
            watch.discard(ws)
            with contextlib.suppress(Exception):
                await ws.close()
        return ws

    return handle


def eido(state: State, case: Case, at: datetime | None) -> dict[str, Any]:
    """The incident's EIDO as `GET /v1/incidents/{id}/eido` answers it."""
    return eido_out.render(case, state.site, state.config, at)


# The token rides in the query, as on the live board; a CAD may as well, being one client.
DISPATCH_WS_ROUTE: Route[ReadSources] = Route(
    "/v1/dispatch/ws", "NENA STA-024 subscribe/notify over WebSocket: each change of a "
    "subscribed incident as a notify carrying its EIDO, acknowledged by transactionId",
    lambda s: dispatch_ws_handler(s.live(), s.tokens, eido, s.eido_resend_s, s.eido_resends),
    (Answer("101", "Switching to the WebSocket protocol"),), ROLES, "token", ("400", "401", "403"),
    note="Without an upgrade the handshake is refused with 400. The messages are NENA's "
         "(subscribe, subscribeResponse, event, eventResponse, unsubscribe, terminate): see "
         "docs/api.md, \"Dispatch subscriptions (STA-024)\".")
