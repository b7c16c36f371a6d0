"""Need to know: what each role may see of a board or an event (issue: security).

Names of students and guardians and custody flags are for staff and commanders; the responder
packet (door codes, Knox box, cameras) is for responders and commanders; dispatch sees neither;
a device reads nothing. Handle With Care notices are never shown on any board or timeline.
"""

from typing import Any

from command import events as e

ROSTER_KEYS = ("people", "flags")
PACKET_KEYS = ("responder_packet",)
HIDDEN: dict[str, tuple[str, ...]] = {
    "commander": (),
    "staff": PACKET_KEYS,
    "responder": ROSTER_KEYS,
    "dispatch": ROSTER_KEYS + PACKET_KEYS,
}
VIEWS = tuple(HIDDEN)  # the roles that read boards, each with its own view
ROSTER_ROLES = ("staff", "commander")
NEVER_SHOWN = (e.HandleWithCareIssued,)


def board_view(board: dict[str, Any], role: str) -> dict[str, Any]:
    """A rendered board (or an update's changed parts) as `role` may see it."""
    hidden = HIDDEN[role]
    return {k: v for k, v in board.items() if k not in hidden}


def event_view(event: dict[str, Any], role: str) -> dict[str, Any] | None:
    """An event (as plain data) as `role` may see it on a board or timeline; None: not at all."""
    kind = event.get("type")
    if kind == "HandleWithCareIssued":
        return None
    if kind == "SiteConfigured":
        data = event.get("data") or {}
        return {**event, "data": {"id": data.get("id"), "name": data.get("name")}}
    if role in ROSTER_ROLES:
        return event
    if kind in ("GuardianCheckedIn", "StudentReleased"):
        data = {k: v for k, v in (event.get("data") or {}).items() if k != "guardian"}
        data.pop("flags", None)
        return {**event, "data": data}
    return event
