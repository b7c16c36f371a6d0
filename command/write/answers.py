"""The answers index: what intake answered for each event written, so a command retried with the
same client_event_id, after any delay, gets its first answer again instead of a second write."""

import msgspec

from command.domain import events as e

MAIN = (e.AlertRaised, e.IncidentCancelled)  # the event a 202 names when a command writes several


# A 202's body: the command's incident, the event that stands for it and its sequence. (A
# docstring would become the schema's description in the served OpenAPI document.)
class Accepted(msgspec.Struct, frozen=True):
    incident_id: str | None
    event_id: str
    seq: int
    duplicate: bool = False


class Answers(dict[str, tuple[str | None, int, bool]]):
    """Event id -> (incident, seq, is a main event), for every event folded from the stream. A
    dict itself: `id in answers` is on every press with a client_event_id, at a dict's speed."""

    __slots__ = ()

    def note(self, seq: int, event: e.Envelope) -> None:
        self[event.id] = (event.incident_id, seq, isinstance(event, MAIN))

    def again(self, cid: str) -> Accepted:
        """The first answer again: the command's events are the known ids derived from `cid`."""
        ids = e.client_event_ids(cid, 16)
        found = [(i, self[i]) for i in ids if i in self]
        main_id, (incident_id, _, _) = next(((i, k) for i, k in found if k[2]), found[0])
        return Accepted(incident_id, main_id, max(k[1] for _, k in found), duplicate=True)


def accepted(events: list[e.Envelope], seqs: list[int]) -> Accepted:
    """The first answer to a command that wrote `events` at `seqs`: its main event, else its
    first, at the sequence of its last."""
    main = next((ev for ev in events if isinstance(ev, MAIN)), events[0])
    return Accepted(main.incident_id, main.id, seqs[-1])
