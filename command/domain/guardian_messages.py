"""Guardian messages (the site file's [guardian_messages]): where reunification is, sent to each
listed guardian through Apprise. Pure: the decision, the words, who hears them and in what
batches; the notifier's messenger (consumers/guardian_messenger.py) sends them.

Who: every student on the roster, or the riders of the bus or the people of the away event the
incident was raised on; of each, every contact named in `guardians`, never an adult named in any
student's `restricted` (a custody restriction is never told where the children are), at each
address a template exists for (`sms` with {phone}, `email` with {email}), each address once.
Names compare folded (names.py); a contact sharing a phone (its digits) or an e-mail (case
aside) with a restricted adult's contact anywhere on the roster is never messaged either.
A batch sends only to the addresses the roster allows when it is sent (`allowed`): a custody
restriction imported after the request stops the batches still to go.
"""

from urllib.parse import quote

import msgspec

from command.domain import commands as c
from command.domain import events as e
from command.domain.errors import Conflict
from command.domain.names import among, folded
from command.domain.reunification_rules import point_of
from command.domain.site import GuardianContact, GuardianMessages, Site, place_named
from command.domain.site_state import Ctx, Draft, SiteState, incident_of, site_of

TEXT = "Reunification for {school} is at {place}; bring photo ID"
DRILL = "DRILL — "


class Plan(msgspec.Struct, frozen=True):
    """The addresses (Apprise URLs, templates filled in) in batches, and the contacts left
    out: restricted adults, or no address any template takes."""

    batches: list[list[str]]
    skipped: int
    keys: dict[str, str] = {}  # each address's contact address as `allowed` names it


def text(school: str, place: str, drill: bool) -> str:
    return (DRILL if drill else "") + TEXT.format(school=school, place=place)


def message_guardians(state: SiteState, cmd: c.MessageGuardians, ctx: Ctx) -> list[Draft]:
    """GuardianMessagesRequested with the words to send; 409 when the site sends none, not in
    this mode, or nobody knows where reunification is yet."""
    inc = incident_of(state, ctx.incident_id)
    site = site_of(state)
    settings = site.guardian_messages
    if settings is None or not (settings.sms or settings.email):
        raise Conflict("the site file has no [guardian_messages]: no guardian is messaged")
    if inc.mode not in settings.modes:
        raise Conflict(f"guardian messages are not sent in a {inc.mode} (modes: "
                       f"{', '.join(settings.modes)})")
    place = place_named(site, cmd.place)[0] if cmd.place else point_of(state, inc)
    if not place:
        raise Conflict("no reunification point is known: set one, or name the place",
                       field="$.place")
    data = e.GuardianMessagesRequestedData(place=place, text=text(site.name, place,
                                                                  inc.mode == "drill"))
    return [(e.GuardianMessagesRequested, data, inc.id, inc.mode)]


def members(site: Site, unit: str, unit_id: str | None) -> list[str] | None:
    """The person ids of the bus or away event an incident was raised on; None: everyone."""
    if unit == "bus":
        return next((b.riders for b in site.buses if b.id == unit_id), [])
    if unit == "away_event":
        return next((a.people for a in site.away_events if a.id == unit_id), [])
    return None


def plan(site: Site, unit: str = "room", unit_id: str | None = None) -> Plan:
    """Every address to message for an incident raised on `unit`, in batches of the site's."""
    settings = site.guardian_messages or GuardianMessages()
    contacts, skipped = _chosen(site, unit, unit_id)
    keys: dict[str, str] = {}
    for contact in contacts:
        found = _addresses(settings, contact.phone, contact.email)
        skipped += not found
        for url, key in found:
            keys.setdefault(url, key)
    urls, size = list(keys), settings.batch
    return Plan([urls[i:i + size] for i in range(0, len(urls), size)], skipped, keys)


def allowed(site: Site, unit: str = "room", unit_id: str | None = None) -> set[str]:
    """The contact addresses (Plan.keys' values) the roster lets hear an incident's messages
    now, whatever the templates: a batch planned before a restriction sends only to these."""
    return {_key(kind, value) for ct in _chosen(site, unit, unit_id)[0]
            for kind, value in (("tel", ct.phone), ("mail", ct.email)) if value}


def _chosen(site: Site, unit: str, unit_id: str | None) -> tuple[list[GuardianContact], int]:
    """The contacts to message, in roster order, and how many were left out as barred."""
    only = members(site, unit, unit_id)
    chosen = set(only) if only is not None else None
    barred = {folded(name) for p in site.people for name in p.restricted}
    theirs = {a for p in site.people for ct in p.contacts if folded(ct.name) in barred
              for a in _keys(ct.phone, ct.email)}
    picked: list[GuardianContact] = []
    skipped = 0
    for person in site.people:
        if person.kind != "student" or (chosen is not None and person.id not in chosen):
            continue
        for contact in person.contacts:
            if folded(contact.name) in barred or not among(contact.name, person.guardians) \
                    or theirs.intersection(_keys(contact.phone, contact.email)):
                skipped += 1
                continue
            picked.append(contact)
    return picked, skipped


def _keys(phone: str, email: str) -> set[str]:
    """A contact's addresses as compared: a phone's digits, an e-mail case-folded."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    return {k for k in (digits and f"tel:{digits}", email.strip() and
                        f"mail:{email.strip().casefold()}") if k}


def _key(kind: str, value: str) -> str:
    """A contact address as `allowed` compares it: a phone's digits, an e-mail case-folded."""
    digits = "".join(ch for ch in value if ch.isdigit()) if kind == "tel" else ""
    return f"{kind}:{digits or value.strip().casefold()}"


def _addresses(settings: GuardianMessages, phone: str, email: str) -> list[tuple[str, str]]:
    """A contact's Apprise URLs, each template with the address put in (URL-quoted), each
    with its address's key."""
    found = []
    if settings.sms and phone:
        found.append((settings.sms.replace("{phone}", quote(phone, safe="+")),
                      _key("tel", phone)))
    if settings.email and email:
        found.append((settings.email.replace("{email}", quote(email, safe="")),
                      _key("mail", email)))
    return found
