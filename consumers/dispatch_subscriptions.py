"""NENA STA-024 subscribe/notify bookkeeping for one CAD connection: which subscriptions it
holds, which notifies await their acknowledgement, and which are due to be sent again.

Pure: no I/O and no clock of its own (the caller passes `now`), so every rule is unit-tested.
The messages are the conveyance schema's (`subscribe`, `subscribeResponse`, `event`,
`eventResponse`, `unsubscribe`, `unsubscribeResponse`, `terminate`, `response`).
"""

import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any, Literal, NamedTuple

SUB_TYPES = ("single", "new", "resource")
SubType = Literal["single", "new", "resource"]
TRACKING_PREFIX = ["urn", "emergency", "uid", "incidentid"]
ENDED_KEPT = 256  # ended subscriptions a subscriber may still renew by their subscriptionId


def new_id() -> str:
    return str(uuid.uuid4())


class Subscription(NamedTuple):
    id: str
    sub_type: SubType
    incident_id: str | None = None  # single: the incident, by any id it goes by
    unit_id: str | None = None  # resource: the unit, by its EIDO $id or its name


class Change(NamedTuple):
    """One incident as it stands after an update: the ids it goes by and the units on it."""

    incident_id: str
    aliases: frozenset[str]  # Muster's id, the EIDO's $id, the CAD's tracking id and number
    units: frozenset[str]  # each unit's $id and name, lower-cased


class Pending(NamedTuple):
    transaction_id: str
    subscription_id: str
    incident_id: str
    message: dict[str, Any]
    sent_at: float
    resends: int = 0


class Problem(NamedTuple):
    """A subscribe refused, with the conveyance status code and the reason."""

    code: int
    text: str


def heard(sub_type: str, mode: str) -> bool:
    """Whether a subscription of `sub_type` hears of an incident of `mode`: `new` and
    `resource` of live incidents alone, `single` (asked for by id) of a drill too; none ever
    of a tabletop, a discussion exercise no 911 center may take for a call."""
    if mode not in ("live", "drill"):
        return False
    return sub_type == "single" or mode == "live"


def parse_subscribe(body: dict[str, Any]) -> Subscription | Problem:
    """A new subscription from a `subscribe` body (id still to be given), or why it is refused."""
    if body.get("requestType") != "EIDO":
        return Problem(400, "requestType must be EIDO")
    sub_type = body.get("requestSubType")
    if sub_type not in SUB_TYPES:
        return Problem(400, "requestSubType must be one of single, new, resource")
    incident, unit = body.get("incidentId"), body.get("unitId")
    if sub_type == "single" and not (isinstance(incident, str) and incident):
        return Problem(400, "a single subscription needs an incidentId")
    if sub_type == "resource" and not (isinstance(unit, str) and unit):
        return Problem(400, "a resource subscription needs a unitId")
    if sub_type == "single" and body.get("qualFilter") is not None:
        return Problem(400, "a qualFilter must not be given with an incidentId")
    return Subscription("", sub_type, incident if sub_type == "single" else None,
                        unit.lower() if sub_type == "resource" else None)


def tracked_id(tracking_id: str) -> str:
    """The incident's own id inside an EIDO tracking id (`urn:emergency:uid:incidentid:ID:domain`),
    or the id as given."""
    parts = tracking_id.split(":")
    if len(parts) >= 6 and [p.lower() for p in parts[:4]] == TRACKING_PREFIX:
        return parts[4]
    return tracking_id


def subscribe_response(request_id: str, code: int, text: str,
                       subscription_id: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"requestId": request_id, "statusCode": code, "statusText": text}
    if subscription_id is not None:
        body["subscriptionId"] = subscription_id
    return {"subscribeResponse": body}


def unsubscribe_response(request_id: str, subscription_id: str, found: bool) -> dict[str, Any]:
    code, text = (200, "OK") if found else (481, "Subscription does not exist")
    return {"unsubscribeResponse": {"requestId": request_id, "subscriptionId": subscription_id,
                                    "statusCode": code, "statusText": text}}


def not_implemented(request_id: str) -> dict[str, Any]:
    return {"response": {"requestId": request_id, "statusCode": 501,
                         "statusText": "Not implemented"}}


def _content(doc: Any) -> Any:
    """A document without its update times: two renders of one state compare equal."""
    if isinstance(doc, dict):
        return {k: _content(v) for k, v in doc.items() if k != "lastUpdateTimeStamp"}
    if isinstance(doc, list):
        return [_content(v) for v in doc]
    return doc


class Book:
    """One connection's subscriptions and unacknowledged notifies. A notify is sent again
    every `resend_s` until acknowledged; after `resends` resends its subscription is dropped."""

    def __init__(self, resend_s: float, resends: int,
                 make_id: Callable[[], str] = new_id) -> None:
        self.resend_s = resend_s
        self.resends = resends
        self.make_id = make_id
        self.subscriptions: dict[str, Subscription] = {}
        self.pending: dict[str, Pending] = {}  # by transactionId
        self.ended: OrderedDict[str, Subscription] = OrderedDict()  # renewable by id
        self._sent: dict[tuple[str, str], Any] = {}  # (subscription, incident): content sent
        self._followed: dict[str, set[str]] = {}  # resource: incidents its unit was last on

    def add(self, spec: Subscription, subscription_id: str | None = None) -> Subscription:
        """Hold a subscription (a renewal keeps its id); what it was last sent is forgotten,
        so the current state goes out at once."""
        sub = spec._replace(id=subscription_id or self.make_id())
        self.ended.pop(sub.id, None)
        self._forget(sub.id)
        self.subscriptions[sub.id] = sub
        self._followed[sub.id] = set()
        return sub

    def renewable(self, subscription_id: str) -> Subscription | None:
        return self.subscriptions.get(subscription_id) or self.ended.get(subscription_id)

    def remove(self, subscription_id: str) -> Subscription | None:
        sub = self.subscriptions.pop(subscription_id, None)
        if sub is not None:
            self._forget(sub.id)
            self.ended[sub.id] = sub
            while len(self.ended) > ENDED_KEPT:
                self.ended.popitem(last=False)
        return sub

    def _forget(self, subscription_id: str) -> None:
        self.pending = {t: p for t, p in self.pending.items()
                        if p.subscription_id != subscription_id}
        self._sent = {k: v for k, v in self._sent.items() if k[0] != subscription_id}
        self._followed.pop(subscription_id, None)

    def wants(self, sub: Subscription, change: Change) -> bool:
        """Whether `change` is news to `sub` (the caller has checked the site is visible)."""
        if sub.sub_type == "single":
            wanted = sub.incident_id or ""
            return wanted in change.aliases or tracked_id(wanted) == change.incident_id
        if sub.sub_type == "resource":
            return sub.unit_id in change.units or change.incident_id in self._followed[sub.id]
        return True

    def matching(self, change: Change) -> list[Subscription]:
        return [s for s in self.subscriptions.values() if self.wants(s, change)]

    def notify(self, sub: Subscription, change: Change, doc: dict[str, Any],
               now: float) -> dict[str, Any] | None:
        """The `event` carrying `doc`, or None when `sub` was already sent this content. A
        newer notify for the same incident replaces one still unacknowledged: resending the
        older state would take the subscriber back in time."""
        key, content = (sub.id, change.incident_id), _content(doc)
        if self._sent.get(key) == content:
            return None
        self._sent[key] = content
        if sub.sub_type == "resource":
            followed = self._followed[sub.id]
            (followed.add if sub.unit_id in change.units else followed.discard)(change.incident_id)
        self.pending = {t: p for t, p in self.pending.items()
                        if (p.subscription_id, p.incident_id) != key}
        transaction = self.make_id()
        message = {"event": {"subscriptionId": sub.id, "transactionId": transaction,
                             "notification": [doc]}}
        self.pending[transaction] = Pending(transaction, sub.id, change.incident_id, message, now)
        return message

    def ack(self, transaction_id: str) -> bool:
        """An `eventResponse` quoting `transaction_id`: no more resends of it."""
        return self.pending.pop(transaction_id, None) is not None

    def due(self, now: float) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The notifies to send again now, and a `terminate` for each subscription dropped
        because one of its notifies went unacknowledged through every resend."""
        again: list[dict[str, Any]] = []
        dropped: set[str] = set()
        for p in list(self.pending.values()):
            if p.subscription_id in dropped or now - p.sent_at < self.resend_s:
                continue
            if p.resends >= self.resends:
                dropped.add(p.subscription_id)
            else:
                self.pending[p.transaction_id] = p._replace(sent_at=now, resends=p.resends + 1)
                again.append(p.message)
        again = [m for m in again if m["event"]["subscriptionId"] not in dropped]
        return again, [self._terminate(s) for s in dropped]

    def _terminate(self, subscription_id: str) -> dict[str, Any]:
        self.remove(subscription_id)
        return {"terminate": {
            "requestId": self.make_id(), "subscriptionId": subscription_id,
            "reason": f"a notify went unacknowledged after {self.resends} resends, "
                      f"{self.resend_s:g} s apart; subscribe again for the current state"}}

    def next_due(self) -> float | None:
        """When the earliest unacknowledged notify falls due, if any is waiting."""
        return min((p.sent_at + self.resend_s for p in self.pending.values()), default=None)


def units_of(dispatch: dict[str, Any] | None) -> frozenset[str]:
    """Each unit's $id and name on a board case's dispatch part, lower-cased."""
    units: Iterable[dict[str, Any]] = (dispatch or {}).get("units") or ()
    return frozenset(str(u[k]).lower() for u in units for k in ("id", "name") if u.get(k))
