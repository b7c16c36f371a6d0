"""Need to know: what each role may see of a board or an event (issue: security).

Names of students and guardians and custody flags are for staff and commanders; the responder
packet (door codes, Knox box, cameras) is for responders and commanders; dispatch sees neither;
911's call (units, notes) is for responders, commanders and dispatch, staff hear only how far
it has got; a device reads nothing. What is never shown (command/domain/events.py NEVER_SHOWN:
Handle With Care notices) is shown to nobody, and neither is any record that refers to one:
`never_shown` is the one test, given the ids of the site's hidden events that board.State keeps.
"""

from collections.abc import Collection, Iterable
from typing import Any

from command.domain import events as e
from command.domain.dispatch_rules import staff_summary

ROSTER_KEYS = ("people", "flags", "roster")
PACKET_KEYS = ("responder_packet",)
# The roles that read boards, each with the parts of a board it may not see.
HIDDEN: dict[str, tuple[str, ...]] = {
    "commander": (),
    "staff": PACKET_KEYS,
    "responder": ROSTER_KEYS,
    "dispatch": ROSTER_KEYS + PACKET_KEYS,
}
ROSTER_ROLES = ("staff", "commander")
DISPATCH_ROLES = ("responder", "commander", "dispatch")  # who reads 911's call whole
NEVER_SHOWN_TYPES = frozenset(str(cls.__struct_config__.tag) for cls in e.NEVER_SHOWN)
RECORDS = (e.NotificationSent, e.NotificationFailed, e.NotificationEscalated)  # about an event
# What roles without the roster see of an exceptions-track case: that it exists, by id alone
# (who, why, where taken, with whom and how it ended are the counsellor's, issue #21).
CASE_KEPT = {"ExceptionOpened": ("case_id",), "ExceptionResolved": ("case_id",)}
TRIP_KEPT = ("id", "name", "kind", "place", "starts_at", "ends_at")  # an away event, sans people


def never_shown(event: e.Envelope, hidden: Collection[str] = ()) -> bool:
    """Whether nobody may see `event`: a kind never shown, or a record about one of `hidden`
    (the ids of the site's events never shown): its time alone would tell one was issued.
    Without `hidden`, whether `event` is of a kind never shown."""
    return isinstance(event, e.NEVER_SHOWN) or (
        isinstance(event, RECORDS) and event.data.event_id in hidden)


def hidden_ids(events: Iterable[e.Envelope]) -> set[str]:
    """The ids of those of `events` nobody may see: the `hidden` that `never_shown` is given."""
    return {ev.id for ev in events if never_shown(ev)}


def board_view(board: dict[str, Any], role: str) -> dict[str, Any]:
    """A rendered board (or an update's changed parts) as `role` may see it."""
    hidden = HIDDEN[role]
    shown = _case_view({k: v for k, v in board.items() if k not in hidden}, role)
    if hidden and shown.get("other_cases"):  # each other open incident is a board of its own
        shown["other_cases"] = [_case_view({k: v for k, v in case.items() if k not in hidden},
                                           role) for case in shown["other_cases"]]
    return shown


def _case_view(case: dict[str, Any], role: str) -> dict[str, Any]:
    """Staff hear how far 911 has got, never the dispatcher's notes or the units."""
    if role in DISPATCH_ROLES or not case.get("dispatch"):
        return case
    return {**case, "dispatch": {"summary": staff_summary(case["dispatch"])}}


def event_view(event: dict[str, Any], role: str) -> dict[str, Any] | None:
    """An event (as plain data) as `role` may see it on a board or timeline; None: not at all."""
    kind = event.get("type")
    if kind in NEVER_SHOWN_TYPES:
        return None
    if kind == "SiteConfigured":
        data = event.get("data") or {}
        return {**event, "data": {"id": data.get("id"), "name": data.get("name")}}
    if kind == "RosterChanged":  # an import's counts, for every role: never a name or contact
        data = event.get("data") or {}
        return {**event, "data": {k: len(v) if isinstance(v, list) else v
                                  for k, v in data.items()}}
    if kind == "DispatchUpdated" and role not in DISPATCH_ROLES:
        return {**event, "data": {"summary": staff_summary(event.get("data"))}}
    if role in ROSTER_ROLES:
        return event
    if kind == "AwayEventScheduled":  # who goes and chaperones' phones: roster roles only
        data = event.get("data") or {}
        trip = data.get("event") or {}
        shown = {k: trip.get(k) for k in TRIP_KEPT if k in trip}
        shown.update(people=len(trip.get("people") or []),
                     chaperones=len(trip.get("chaperones") or []))
        return {**event, "data": {**data, "event": shown}}
    if kind in ("GuardianCheckedIn", "StudentReleased", "GuardianArrived", "StudentFetched"):
        data = {k: v for k, v in (event.get("data") or {}).items() if k != "guardian"}
        data.pop("flags", None)
        return {**event, "data": data}
    if kind in CASE_KEPT:  # that a case exists, never whose or its details
        data = event.get("data") or {}
        return {**event, "data": {k: data.get(k) for k in CASE_KEPT[kind]}}
    return event
