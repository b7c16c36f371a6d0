"""Whatever intake accepts, every consumer can apply (issue 14, broader proof).

Generated commands of every type, site files among them with hostile numbers, strings and
shapes, go through the pure core as intake runs them: the body decoded as HTTP decodes it
(a refusal there is a 400), then decide → seal → intake's admission (the strict round trip,
and for a site file the consumers' rehearsal). Every event admitted is then read back as a
consumer reads it from the stream and applied by each consumer's pure part: the projector's
batch, the board's fold, render, diff and every role's view, the timeline's event views, the
notifier's rules, deliveries and escalation arithmetic, CAP, the report and its renderings,
and a replay of each incident. Any exception fails the property.
"""

import json
import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import msgspec
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from command.domain import (
    alert_rules,
    board,
    board_render,
    cap,
    redact,
    rehearsal,
    report,
    report_render,
)
from command.domain import commands as c
from command.domain import events as e
from command.domain import site as site_file
from command.domain.decide import decide, seal
from command.domain.errors import MusterError
from command.domain.policy import DEFAULT_POLICY, SRP_ACTIONS
from command.domain.site_state import Ctx, SiteState, evolve
from command.domain.types import ROLES
from command.write.decisions import admit
from consumers import replay
from consumers.outbox_effects import ESCALATE_ON, acts, passes_by
from consumers.projection_batch import Batch
from tests.command.domain.test_site_state import COMMANDER, DEVICE, SITE_ID, STAFF, T0
from tests.conftest import small_site

ADMIN = e.Actor(kind="user", id="admin", role="admin")
RESPONDER = e.Actor(kind="user", id="unit-7", role="responder")
BASE = msgspec.to_builtins(msgspec.structs.replace(small_site(SITE_ID), channels=[
    site_file.Channel(name="sro", url="json://127.0.0.1:9/sro", modes=["live", "drill"],
                      escalate_after_s=30.0, escalate_to=["district"]),
    site_file.Channel(name="district", url="json://127.0.0.1:9/d", events=["ProtocolDeclared"]),
    site_file.Channel(name="care", url="json://127.0.0.1:9/c", handle_with_care=True,
                      events=["HandleWithCareIssued"])]))
ROOMS = [r["id"] for r in BASE["rooms"]]
PEOPLE = [p["id"] for p in BASE["people"]]
GUARDIANS = ["Anne Byron", "Lord Byron", "Sara Turing", "Mary Murray"]

# --- hostile values ---------------------------------------------------------------------------

# Out of every bound, or no number at all; NaN is what JSON writes as null.
WILD_NUMBERS = st.one_of(
    st.sampled_from([-1, -21, 201, 3600.0000001, 86400.0001, 100_001, 2**31, 2**53 + 1, 2**63,
                     -(2**63), 10**30, 1e12, 1e308, -1e308, math.inf, -math.inf, math.nan]),
    st.integers(-(2**70), 2**70), st.floats(allow_nan=True, allow_infinity=True))
# Strings a person may type that are still names: scripts, emoji, markup, quotes, bidi marks.
FAIR_TEXT = st.one_of(
    st.sampled_from(["Zoë's room", "教室 3", "💥" * 50, "<script>x</script>", "\u202eevil",
                     "Robert'); DROP TABLE boards;--", "${jndi:ldap://x/a}", "../../etc/passwd",
                     "%s%n", "a" * 64, "a" * 199, "A-101", "s-1", "null", "NaN", "*", ">"]),
    st.text(st.characters(exclude_categories=["Cc", "Cs"]), max_size=16))
WILD_TEXT = st.one_of(
    st.sampled_from(["", " ", "\n", "a\n", "\x00", "\x1b[31m", "a" * 65, "a" * 201, "a" * 2001,
                     "a/" * 40]),
    st.text(st.characters(categories=["Cc", "Cf", "Zl", "Zp"]), min_size=1, max_size=8))
# A value of any shape, nested: where a field expects a number or a name, it gets this too.
ANY = st.recursive(st.none() | st.booleans() | WILD_NUMBERS | FAIR_TEXT | WILD_TEXT,
                   lambda inner: st.lists(inner, max_size=3)
                   | st.dictionaries(FAIR_TEXT, inner, max_size=3), max_leaves=6)
DEEP = st.integers(1, 60).map(lambda n: json.loads("[" * n + "]" * n))


def hostile(fair: st.SearchStrategy[Any], wild: st.SearchStrategy[Any] = ANY,
            ) -> st.SearchStrategy[Any]:
    """Mostly a fair value at the edges of its field, sometimes a wild one of the field's
    kind (out of bounds), now and then anything at all."""
    return st.integers(0, 11).flatmap(
        lambda k: (ANY | DEEP) if k == 0 else (wild | ANY) if k <= 2 else fair)


def number(lo: float, hi: float, integer: bool = False) -> st.SearchStrategy[Any]:
    inside = st.integers(int(lo), int(hi)) if integer else st.floats(lo, hi) | st.sampled_from(
        [5e-324, -0.0, hi - 1e-9])
    return hostile(st.sampled_from([lo, hi]) | inside, WILD_NUMBERS)


TEXT = hostile(FAIR_TEXT, WILD_TEXT)
NAME = hostile(st.sampled_from(GUARDIANS) | FAIR_TEXT, WILD_TEXT)
ROOM = hostile(st.sampled_from([*ROOMS, "Z-9"]), WILD_TEXT | FAIR_TEXT)
PERSON = hostile(st.sampled_from([*PEOPLE, "ghost"]), WILD_TEXT | FAIR_TEXT)
KIND = hostile(st.sampled_from([*SRP_ACTIONS, *DEFAULT_POLICY]), FAIR_TEXT)
ZONE = hostile(st.sampled_from(["UTC", "America/Denver", "Mars/Olympus_Mons", "Etc/GMT+5",
                                "Europe/Paris", "a" * 64]), WILD_TEXT | FAIR_TEXT)

# --- site files -------------------------------------------------------------------------------

SITE_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "name": NAME, "timezone": ZONE, "cancel_window_s": number(0, 3600),
    "policy": hostile(st.dictionaries(st.sampled_from([*DEFAULT_POLICY]),
                                      st.sampled_from(SRP_ACTIONS), max_size=3)),
}
ROOM_FIELDS = {"name": NAME, "building": NAME, "floor": number(-20, 200, integer=True),
               "zone": NAME, "id": ROOM}
PERSON_FIELDS = {"name": NAME, "kind": TEXT, "room": ROOM, "grade": TEXT,
                 "guardians": hostile(st.lists(NAME, max_size=3)),
                 "restricted": hostile(st.lists(NAME, max_size=2))}
PACKET_FIELDS = {"knox_box": TEXT, "door_codes": TEXT, "maps": hostile(st.lists(TEXT)),
                 "aeds": hostile(st.lists(TEXT)), "cameras": hostile(st.lists(TEXT))}
CHANNEL_FIELDS = {"escalate_after_s": number(0, 86400), "url": TEXT,
                  "roles": hostile(st.lists(TEXT)),
                  "events": hostile(st.lists(st.sampled_from(["AlertRaised", "ProtocolDeclared",
                                                              "IncidentCancelled"]) | TEXT)),
                  "modes": hostile(st.lists(st.sampled_from(["live", "drill", "replay"]))),
                  "escalate_to": hostile(st.lists(st.sampled_from(["sro", "district"])))}


@st.composite
def site_files(draw: st.DrawFn) -> tuple[bytes, bool]:
    """The test school with a few places broken, extra rooms and people, as TOML or JSON."""
    doc = json.loads(json.dumps(BASE))
    for _ in range(draw(st.integers(1, 5))):
        where = draw(st.sampled_from(["number", "number", "site", "room", "person", "packet",
                                      "channel", "more"]))
        if where == "number":  # the fields the reproductions broke, set to anything
            item, key = draw(st.sampled_from([(doc, "cancel_window_s"), (doc["rooms"][0], "floor"),
                                              (doc["channels"][0], "escalate_after_s")]))
            item[key] = draw(WILD_NUMBERS | st.sampled_from([0, 1, 2.5]))
        elif where == "site":
            key = draw(st.sampled_from(sorted(SITE_FIELDS)))
            doc[key] = draw(SITE_FIELDS[key])
        elif where == "more":
            n = draw(st.integers(1, 40))
            doc["rooms"] += [{"id": f"X-{i}", "name": f"Extra {i}",
                              "floor": draw(ROOM_FIELDS["floor"])}
                             for i in range(n)]
        else:
            fields, items = {"room": (ROOM_FIELDS, doc["rooms"]),
                             "person": (PERSON_FIELDS, doc["people"]),
                             "packet": (PACKET_FIELDS, [doc["responder_packet"]]),
                             "channel": (CHANNEL_FIELDS, doc["channels"])}[where]
            item = draw(st.sampled_from(items))
            key = draw(st.sampled_from(sorted(fields)))
            item[key] = draw(fields[key])
    if draw(st.booleans()):
        try:
            return msgspec.toml.encode(without_nulls(doc)), True
        except (msgspec.EncodeError, TypeError, ValueError):
            pass  # a key TOML cannot write (a surrogate): the file is sent as JSON
    return json.dumps(doc, allow_nan=True).encode("utf-8", "surrogatepass"), False


def without_nulls(value: Any) -> Any:
    """TOML has no null: a key set to null is left out, as a person writing TOML would."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value if v is not None]
    return value


def site_op(body: bytes, toml: bool) -> "Op":
    """An admin's import of the body; its command is None if the route refuses it (a 400)."""
    try:
        cmd: c.Command | None = c.ConfigureSite(site=parse_site(body, toml))
    except (site_file.SiteError, msgspec.MsgspecError, RecursionError):
        cmd = None  # (a RecursionError is answered 400 by the route's worker, issue item 3)
    return ADMIN, None, None, "ConfigureSite", cmd, body


def parse_site(body: bytes, toml: bool) -> site_file.Site:
    """As the site import route parses a body; SiteError or a msgspec error is its 400."""
    if toml:
        return site_file.loads(body)
    return site_file.validate(msgspec.json.decode(body, type=site_file.Site))


# --- commands of every type -------------------------------------------------------------------

BODIES: dict[type[c.Command], st.SearchStrategy[dict[str, Any]]] = {
    c.RaiseAlert: st.fixed_dictionaries({"kind": KIND, "room": ROOM}, optional={
        "note": TEXT, "device_id": TEXT, "silent": st.booleans(), "drill": st.booleans()}),
    c.StartDrill: st.fixed_dictionaries({"scenario": KIND}, optional={"note": TEXT}),
    c.DeclareProtocol: st.fixed_dictionaries({"action": KIND}, optional={
        "zones": st.lists(NAME, max_size=2), "evacuate_to": NAME, "hazard": NAME,
        "strategy": NAME}),
    c.ReportRoomStatus: st.fixed_dictionaries({"status": hostile(st.sampled_from(
        ["secured", "clear", "needs_help", "evacuated", "unreachable"]))}, optional={
        "present": number(0, 100_000, integer=True), "missing": st.lists(PERSON, max_size=3),
        "injured": st.lists(PERSON, max_size=2), "extra": st.lists(PERSON, max_size=2)}),
    c.AccountPersons: st.fixed_dictionaries({"entries": st.lists(st.fixed_dictionaries(
        {"person_id": PERSON, "status": hostile(st.sampled_from(
            ["accounted", "missing", "injured", "absent", "reunified"]))},
        optional={"location": NAME}), max_size=4)}),
    c.CheckIn: st.fixed_dictionaries({"person_id": PERSON}, optional={"area": NAME}),
    c.CheckGuardian: st.fixed_dictionaries({"guardian": NAME, "id_verified": st.booleans(),
                                            "students": st.lists(PERSON, max_size=3)}),
    c.Release: st.fixed_dictionaries({"person_id": PERSON, "guardian": NAME,
                                      "student_consents": st.booleans()}),
    c.OpenReunification: st.fixed_dictionaries({"reason": TEXT}),
    c.Acknowledge: st.fixed_dictionaries({"responder": NAME}),
    c.AddNote: st.fixed_dictionaries({"text": TEXT}),
    c.AllClear: st.just({}),
    c.Cancel: st.fixed_dictionaries({"reason": TEXT}),
    c.TransferCommand: st.fixed_dictionaries({"commander": NAME, "agency": NAME}),
    c.HandleWithCare: st.fixed_dictionaries({"person_id": PERSON}),
    c.Close: st.fixed_dictionaries({}, optional={"summary": TEXT}),
}
ACTORS = {c.RaiseAlert: st.sampled_from([DEVICE, STAFF, COMMANDER]),
          c.HandleWithCare: st.just(RESPONDER), c.Acknowledge: st.just(RESPONDER)}
# (who, target incident, room, the command's name, the command or None if refused, the body)
Op = tuple[e.Actor, str | None, str | None, str, c.Command | None, bytes]


@st.composite
def ops(draw: st.DrawFn) -> Op:
    if draw(st.integers(0, 3)) == 0:
        return site_op(*draw(site_files()))
    cls = draw(st.sampled_from(sorted(BODIES, key=lambda t: t.__name__)))
    raw = json.dumps(draw(BODIES[cls]), allow_nan=True).encode("utf-8", "surrogatepass")
    try:
        cmd = msgspec.json.decode(raw, type=cls)  # as command/write/routes.py decodes a body
    except (msgspec.MsgspecError, RecursionError):
        cmd = None
    actor = draw(ACTORS.get(cls, st.just(COMMANDER)))
    target = None if cls in (c.RaiseAlert, c.StartDrill, c.HandleWithCare) else draw(
        st.sampled_from(["live", "live", "drill", "ended"]))
    room = draw(st.sampled_from(ROOMS)) if cls is c.ReportRoomStatus else None
    return actor, target, room, cls.__name__, cmd, raw


OPENING: Op = (DEVICE, None, None, "RaiseAlert", c.RaiseAlert(kind="lockdown", room="B-112"),
               b"")
# After any script, what a school does next: a press, a declaration, a cancel in the window,
# so whatever site file the script left in force meets every timer and every message.
PROBE: list[tuple[Op, float]] = [
    ((STAFF, None, None, "RaiseAlert", c.RaiseAlert(kind="medical", room="GYM"), b""), 1.0),
    ((COMMANDER, "live", None, "DeclareProtocol", c.DeclareProtocol(action="secure"), b""), 1.0),
    ((STAFF, "live", None, "Cancel", c.Cancel(reason="pressed by accident"), b""), 1.0),
]
SCRIPTS = st.lists(st.tuples(ops(), st.sampled_from([0.0, 2.0, 30.0, 4000.0])), min_size=3,
                   max_size=14)

# --- the consumers ----------------------------------------------------------------------------


@dataclass
class Consumers:
    """Each consumer's pure part, fed the events as it reads them from the stream."""

    live: board.State = field(default_factory=lambda: board.empty(SITE_ID))
    batch: Batch = field(default_factory=lambda: Batch({}))
    stream: list[tuple[int, e.Event]] = field(default_factory=list)
    config: e.SiteConfigured | None = None
    rendered: dict[str, Any] = field(default_factory=dict)

    def apply(self, written: e.Envelope) -> None:
        seq = len(self.stream) + 1
        raw = e.encode(written)
        event = e.decode(raw)  # as every consumer reads it
        assert event == written
        before = self.live
        # The notifier: whether it passes the event by, what it sends, when it escalates.
        passes_by({SITE_ID: before}, raw)
        acts(before, event)
        names = frozenset(ch.name for ch in before.config.channels) if before.config else None
        for d in alert_rules.deliveries(before, event, names or frozenset()):
            channel = next(ch for ch in before.config.channels  # type: ignore[union-attr]
                           if ch.name == d.channel)
            if isinstance(event, ESCALATE_ON) and channel.escalate_after_s:
                (event.occurred_at + timedelta(seconds=channel.escalate_after_s)).isoformat()
                for target in before.config.channels:  # type: ignore[union-attr]
                    alert_rules.escalation(d, target, channel.escalate_after_s)
        # The projector's batch, the board, and what the gateway sends each role.
        self.batch.add(seq, event)
        self.live = board.evolve(before, seq, event)
        rendered = msgspec.json.decode(msgspec.json.encode(board_render.render(self.live)))
        changed = board_render.diff(self.rendered, rendered)
        for role in redact.HIDDEN:
            redact.board_view(rendered, role)
            redact.board_view(changed, role)
        for role in ROLES:
            redact.event_view({"seq": seq, **msgspec.to_builtins(event)}, role)
        self.rendered = rendered
        cap.document(self.live)
        self.stream.append((seq, event))
        if isinstance(event, e.SiteConfigured):
            self.config = event

    def close(self) -> int:
        """The report and a replay of every incident in the stream; how many there were."""
        incidents = sorted({ev.incident_id for _, ev in self.stream if ev.incident_id})
        for incident in incidents:
            mine = [(s, ev) for s, ev in self.stream if ev.incident_id == incident]
            sites = [(s, ev) for s, ev in self.stream
                     if isinstance(ev, e.SiteConfigured) and s < mine[0][0]]
            config = sites[-1][1] if sites else None
            built = report.build(sites[-1:] + mine, config.data if config else None)  # type: ignore[union-attr]
            report_render.to_json(built)
            report_render.to_markdown(built)
            report_render.to_html(built)
            site = replay.replay_site(incident)
            run = "r1"
            again = board.empty(site, "replay")
            originals = ([config] if config else []) + [ev for _, ev in mine]
            for n, original in enumerate(originals, 1):
                rewritten = replay.rewrite(original, site, replay.replay_incident(incident, run),
                                           run, T0)
                admit(rewritten, rehearsal.rehearse)  # replay appends these without intake
                again = board.evolve(again, n, e.decode(e.encode(rewritten)))
                board_render.render(again)
                cap.document(again)
        return len(incidents)


def play(script: list[tuple[Op, float]], tally: Counter[str], probe: bool = True) -> Consumers:
    """Run the script (and the probe) as intake would, every admitted event applied by every
    consumer."""
    first = e.SiteConfigured(id="ev-site", site=SITE_ID, occurred_at=T0, recorded_at=T0,
                             data=msgspec.convert(BASE, site_file.Site))
    admit(first, rehearsal.rehearse)
    state = evolve(SiteState(), first)
    consumers = Consumers()
    consumers.apply(first)
    ended: str | None = None
    now = T0
    for n, ((actor, target, room, name, cmd, _), gap) in enumerate(
            [(OPENING, 0.0), *script, *(PROBE if probe else [])]):
        now += timedelta(seconds=gap)
        if cmd is None:
            tally[f"{name}: refused at the door"] += 1
            continue
        incident = state.open[target].id if target in state.open else ended
        ctx = Ctx(site=SITE_ID, actor=actor, now=now, room=room,
                  incident_id=incident if target else None, new_incident_id=f"inc-{n}",
                  commander=actor.role == "commander")
        try:
            drafts = decide(state, cmd, ctx)
            events = seal(drafts, ctx, [f"ev-{n}-{i}" for i in range(len(drafts))])
            for event in events:
                admit(event, rehearsal.rehearse)
        except MusterError as refused:
            assert refused.code in ("invalid", "not_found", "conflict"), refused.message
            tally[f"{name}: refused ({refused.code})"] += 1
            continue
        tally[f"{name}: accepted"] += 1
        for event in events:
            state = evolve(state, event)  # type: ignore[arg-type]
            consumers.apply(event)
            if isinstance(event, e.IncidentCancelled | e.IncidentClosed):
                ended = event.incident_id
    return consumers


TALLY: Counter[str] = Counter()


def reproduction(site: dict[str, Any], toml: bool) -> list[tuple[Op, float]]:
    """One of the issue's reproductions: the import (then the probe's press and cancel)."""
    body = msgspec.toml.encode(without_nulls(site)) if toml else json.dumps(site).encode()
    return [(site_op(body, toml), 0.0)]


@settings(max_examples=40, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(SCRIPTS)
@example(reproduction({**BASE, "cancel_window_s": math.nan}, toml=True))
@example(reproduction({**BASE, "cancel_window_s": -math.inf}, toml=True))
@example(reproduction({**BASE, "channels": [{**BASE["channels"][0], "escalate_after_s": 1e12},
                                            *BASE["channels"][1:]]}, toml=False))
@example(reproduction({**BASE, "rooms": [{**BASE["rooms"][0], "floor": 10**30}]}, toml=True))
@example(reproduction({**BASE, "timezone": "a" * 300}, toml=False))
def test_whatever_intake_accepts_every_consumer_applies(script: list[tuple[Op, float]]) -> None:
    consumers = play(script, TALLY)
    assert consumers.stream[1][1].incident_id  # the opening press was written and applied
    assert consumers.close() >= 1


def fair(cls: type[c.Command], body: dict[str, Any], actor: e.Actor = COMMANDER,
         target: str | None = "live", room: str | None = None) -> tuple[Op, float]:
    raw = json.dumps(body).encode()
    return (actor, target, room, cls.__name__, msgspec.json.decode(raw, type=cls), raw), 1.0


EDGY = {**BASE, "name": "💥 <b>High</b> \u202e", "timezone": "a" * 64, "cancel_window_s": 3600,
        "rooms": [{**BASE["rooms"][0], "floor": -20}, {**BASE["rooms"][1], "floor": 200},
                  *BASE["rooms"][2:]],
        "channels": [{**BASE["channels"][0], "escalate_after_s": 86400}, *BASE["channels"][1:]]}
# Every command type once, in an order where each is accepted; two site files at the edges.
EVERY_TYPE = [
    fair(c.DeclareProtocol, {"action": "evacuate", "evacuate_to": "Field", "zones": ["east"]}),
    fair(c.ReportRoomStatus, {"status": "needs_help", "present": 100_000, "missing": ["s-1"]},
         STAFF, room="B-112"),
    fair(c.AccountPersons, {"entries": [{"person_id": "s-3", "status": "accounted"}]}),
    fair(c.CheckIn, {"person_id": "s-2", "area": "教室 3"}),
    fair(c.CheckGuardian, {"guardian": "Sara Turing", "id_verified": True, "students": ["s-2"]}),
    fair(c.OpenReunification, {"reason": "smoke in the gym; families at the gate"}),
    fair(c.Release, {"person_id": "s-2", "guardian": "Sara Turing", "student_consents": True}),
    fair(c.Acknowledge, {"responder": "Unit 7"}, RESPONDER),
    fair(c.AddNote, {"text": "<script>x</script>\n" + "a" * 1900}),
    fair(c.TransferCommand, {"commander": "Lt. Diaz", "agency": "PD"}),
    fair(c.HandleWithCare, {"person_id": "s-4"}, RESPONDER, None),
    ((ADMIN, None, None, "ConfigureSite", c.ConfigureSite(site=parse_site(
        json.dumps(EDGY).encode(), False)), b""), 1.0),
    ((ADMIN, None, None, "ConfigureSite", c.ConfigureSite(site=parse_site(
        msgspec.toml.encode(without_nulls({**EDGY, "cancel_window_s": 0.0})), True)), b""),
     1.0),
    fair(c.AllClear, {}),
    fair(c.Close, {"summary": "done"}),
    fair(c.StartDrill, {"scenario": "fire"}, target=None),
    fair(c.Cancel, {"reason": "drill over"}, target="drill"),
    fair(c.RaiseAlert, {"kind": "medical", "room": "GYM", "note": "💥"}, STAFF, None),
]


def test_every_command_type_and_site_files_at_the_edges_are_written_and_applied() -> None:
    """The property's oracle is not vacuous: each command type, and site files at the very
    bounds of every number, are accepted by intake's checks and applied by every consumer."""
    tally: Counter[str] = Counter()
    consumers = play(EVERY_TYPE, tally, probe=False)
    assert {key.split(":")[0] for key in tally} == {cls.__name__ for cls in BODIES} | {
        "ConfigureSite"}
    assert all(key.endswith("accepted") for key in tally), tally
    assert consumers.close() == 3
    config = consumers.config
    assert config is not None and config.data.cancel_window_s == 0.0
    assert [r.floor for r in config.data.rooms[:2]] == [-20, 200]
