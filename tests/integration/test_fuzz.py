"""Hypothesis throws raw bytes and structured-but-wrong JSON at every write route, and garbage
query strings and frames at the board's WebSocket, of a live Muster: no 5xx, no crash, and
nothing written by any request that was not accepted.

The live server runs in this test's event loop, so the hypothesis loop runs in a worker thread
and hands each request to the server's loop; the stream is read there too.
"""

import asyncio
import json
import time
import tomllib
from collections import Counter
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlencode

import aiohttp
import jsonschema_rs
import msgspec
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from command.bootstrap.openapi import document
from command.domain import events as e
from command.infra.web import MAX_BODY, MAX_SITE_FILE
from command.write.dispatch_intake import PATH as EIDO
from command.write.routes import WRITE_ROUTES
from tests.conftest import App, small_site
from tests.eido_docs import eido, pidf
from tests.integration.fuzztally import examples, record

SITE = "test-high"
EXAMPLES = examples(150)  # per route; MUSTER_FUZZ_EXAMPLES sets it for a long run by hand
WS_EXAMPLES = examples(120)
SITE_EXAMPLES = examples(300)  # per form (TOML, JSON) of the hostile site files
T = TypeVar("T")
# One valid body per route: the base that the structured cases break in one place.
VALID: dict[str, dict[str, Any]] = {
    "/v1/sites/{site}/alerts": {"kind": "hold", "room": "GYM", "note": "n", "device_id": "d-1"},
    "/v1/sites/{site}/drills": {"scenario": "fire", "note": "drill"},
    "/v1/incidents/{id}/protocol": {"action": "evacuate", "evacuate_to": "Field",
                                    "zones": ["east"]},
    "/v1/incidents/{id}/rooms/{room}/status": {"status": "secured", "present": 2,
                                               "missing": ["s-3"]},
    "/v1/incidents/{id}/accountability": {"entries": [{"person_id": "s-3",
                                                       "status": "accounted"}]},
    "/v1/incidents/{id}/reunification/checkin": {"person_id": "s-1", "area": "Gym"},
    "/v1/incidents/{id}/reunification/guardians": {"guardian": "Anne Byron", "id_verified": True,
                                                   "students": ["s-1"]},
    "/v1/incidents/{id}/reunification/open": {"reason": "families at the gate"},
    "/v1/incidents/{id}/reunification/release": {"person_id": "s-1", "guardian": "Anne Byron",
                                                 "student_consents": True},
    "/v1/incidents/{id}/reunification/arrivals": {"guardian": "Anne Byron", "students": ["s-1"],
                                                  "card": "7"},
    "/v1/incidents/{id}/reunification/fetch": {"person_id": "s-1", "guardian": "Anne Byron",
                                               "card": "7"},
    "/v1/incidents/{id}/reunification/exceptions": {"person_id": "s-2", "kind": "hospital",
                                                    "assigned_to": "Ms Nurse",
                                                    "hospital": "St Mary's"},
    "/v1/incidents/{id}/reunification/exceptions/resolve": {"case_id": "x-00000000",
                                                            "outcome": "home"},
    "/v1/incidents/{id}/reunification/point": {"place": "the town hall"},
    "/v1/incidents/{id}/reunification/guardian-messages": {"place": "the town hall"},
    "/v1/incidents/{id}/relocate": {"to": "the town hall", "reason": "smoke on the field"},
    "/v1/sites/{site}/away-events": {"id": "trip-1", "name": "Museum trip", "kind": "field_trip",
                                     "place": {"text": "City museum", "lat": 39.7,
                                               "lon": -104.9},
                                     "people": ["s-1"],
                                     "chaperones": [{"id": "ch-1", "name": "Pat Doe"}]},
    "/v1/incidents/{id}/acks": {"responder": "Unit 7"},
    "/v1/incidents/{id}/notes": {"text": "door 3 propped open"},
    "/v1/incidents/{id}/all-clear": {},
    "/v1/incidents/{id}/cancel": {"reason": "pressed by accident"},
    "/v1/incidents/{id}/command": {"commander": "Lt. Diaz", "agency": "PD"},
    "/v1/sites/{site}/handle-with-care": {"person_id": "s-2"},
    "/v1/incidents/{id}/close": {"summary": "done"},
    "/v1/sites/{site}/tabletops": {"scenario": "chemical-spill-offsite", "note": "staff day"},
    "/v1/incidents/{id}/injects": {"index": 0, "text": "A truck rolled over.", "at_s": 120,
                                   "clock": "10:02", "source": "a teacher"},
    "/v1/incidents/{id}/sign-off": {"signed_by": "Dr. Reyes", "title": "Principal"},
    "/v1/sites/{site}": msgspec.to_builtins(small_site()),
    EIDO: eido(premise=None, location=pidf("Test High")),  # found by the site's own name
}
PUT = "/v1/sites/{site}"
NUMBERS = ("NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1e-400", "-0", "01", "0x1F",
           "1.", ".5", "+1", "18446744073709551616", "-9223372036854775809", "9" * 5000,
           "1" + "0" * 400, "2.0", "true", "null")
STRANGE = st.text(st.characters(categories=["Cc", "Cs", "Cf", "Zl", "Zp", "Zs", "Nd", "No"]),
                  max_size=8)


@dataclass
class Report:
    cases: int = 0
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    valid_accepted: int = 0
    failures: dict[tuple[str, str], str] = field(default_factory=dict)
    written: int = 0  # rejected requests that wrote to the stream (each one a failure too)

    def fail(self, where: str, what: str, detail: str) -> None:
        self.failures.setdefault((where, what), f"{where}: {what}: {detail}")


class Driver:
    """Runs coroutines on the server's loop from the hypothesis thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    def __call__(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)


def role_for(roles: tuple[str, ...]) -> str:
    return "commander" if "commander" in roles else roles[0]


# --- bodies -----------------------------------------------------------------------------------

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=8)


@st.composite
def dumped(draw: st.DrawFn, value: Any) -> bytes:
    """JSON text the way a careless client writes it: NaN allowed, maybe raw surrogates."""
    text = json.dumps(value, allow_nan=True, ensure_ascii=draw(st.booleans()))
    return text.encode("utf-8", "surrogatepass")


def with_raw(base: dict[str, Any], key: str, raw: bytes) -> bytes:
    """`base` with `key` set to raw JSON text (which may not be JSON at all)."""
    rest = {k: v for k, v in base.items() if k != key}
    head = json.dumps(rest).encode()[:-1]
    return head + (b", " if rest else b"") + json.dumps(key).encode() + b": " + raw + b"}"


def bodies(path: str) -> st.SearchStrategy[bytes]:
    base = VALID[path]
    limit = MAX_SITE_FILE if path == PUT else MAX_BODY
    keys = sorted(base) or ["summary"]
    known = st.sampled_from(keys)
    valid = json.dumps(base).encode()

    @st.composite
    def one_field(draw: st.DrawFn) -> bytes:
        key = draw(known | st.text(max_size=6))
        kind = draw(st.integers(0, 6))
        if kind == 0:  # a wrong type or shape
            return with_raw(base, key, draw(dumped(draw(values))))
        if kind == 1:  # a number no JSON parser agrees on
            return with_raw(base, key, draw(st.sampled_from(NUMBERS)).encode())
        if kind == 2:  # control characters, surrogates, separators, odd digits
            text = draw(STRANGE)
            value = draw(st.sampled_from([text, f"s-1{text}", f"{text}GYM", "GYM\n", "s-1\n"]))
            return with_raw(base, key, draw(dumped(value)))
        if kind == 3:  # bytes that are not UTF-8 inside a string
            junk = bytes(draw(st.lists(st.integers(0x80, 0xFF), min_size=1, max_size=4)))
            text = draw(st.text(st.characters(codec="ascii", exclude_characters='"\\'),
                                max_size=4)).encode()
            return with_raw(base, key, b"\"" + text + junk + text + b"\"")
        if kind == 4:  # deep nesting
            depth = draw(st.integers(1, 20_000))
            open_, close = draw(st.sampled_from([(b"[", b"]"), (b"{\"a\":", b"}")]))
            tail = b"1" if open_ == b"{\"a\":" else b""
            return with_raw(base, key, open_ * depth + tail + close * draw(
                st.sampled_from([depth, depth - 1, 0])))
        if kind == 5:  # the key twice, the second breaking the first
            first = json.dumps(base.get(key)).encode()
            return with_raw(base, key, first + b", " + json.dumps(key).encode() + b": "
                            + draw(dumped(draw(values))))
        return with_raw(base, key, b"\"" + b"x" * draw(st.integers(1, 2 * limit)) + b"\"")

    @st.composite
    def framed(draw: st.DrawFn) -> bytes:
        kind = draw(st.integers(0, 4))
        if kind == 0:
            return valid[:draw(st.integers(0, len(valid)))]
        if kind == 1:
            return valid + draw(st.binary(min_size=1, max_size=16))
        if kind == 2:
            return b"\xef\xbb\xbf" + valid
        if kind == 3:
            return json.dumps(base).encode(draw(st.sampled_from(["utf-16", "utf-32"])))
        return b" " * draw(st.integers(0, 2 * limit)) + valid

    shapes = st.fixed_dictionaries({}, optional={k: values for k in keys}).flatmap(dumped)
    return st.one_of(st.binary(max_size=512), one_field(), framed(), shapes,
                     values.flatmap(dumped))


GOOD_TOML = (b'id = "test-high"\nname = "Test High"\n[[rooms]]\nid = "A-101"\n'
             b'name = "English"\n')


def explicit(target: "Target") -> list[tuple[bytes, bool]]:
    """Cases every run tries first, whatever hypothesis draws: the edges found by earlier
    runs (a string that is not UTF-8, a trailing newline after an identifier or a name, a
    body just over the limit with and without a Content-Length)."""
    if target.toml:
        return [(GOOD_TOML, False), (GOOD_TOML.replace(b"English", b"Eng\xfflish"), False),
                (GOOD_TOML.replace(b'"A-101"', b'"A-101\\n"'), False)]
    base = VALID[target.path]
    valid = json.dumps(base).encode()
    cases = [(b"", False), (b'{"\xff": 1}', False),
             (b" " * (target.limit + 1 - len(valid)) + valid, False),
             (b" " * (target.limit + 1 - len(valid)) + valid, True)]
    for key, value in base.items():
        if isinstance(value, str):
            cases.append((with_raw(base, key, b'"' + value.encode() + b'\xff"'), False))
            cases.append((json.dumps({**base, key: value + "\n"}).encode(), False))
    return cases


def toml_bodies() -> st.SearchStrategy[bytes]:
    """Site files as TOML: raw bytes, and the test site's file broken in one place."""
    good = GOOD_TOML
    return st.one_of(
        st.binary(max_size=512),
        st.tuples(st.integers(0, len(good)), st.binary(max_size=8)).map(
            lambda cut: good[:cut[0]] + cut[1] + good[cut[0]:]),
        STRANGE.map(lambda s: good.replace(b"English", s.encode("utf-8", "surrogatepass"))),
    )


# --- hostile site files (issue 14: numbers no reader takes back, strings, nesting, keys) -------

# Numbers as TOML writes them: NaN and infinities, out of every bound, -0, huge integers.
TOML_NUMBERS = ("nan", "+nan", "-nan", "inf", "+inf", "-inf", "1e308", "1e309", "-1e308", "1e12",
                "-0", "-0.0", "5e-324", "3600.0000001", "86400.5", "-1", "201", "-21",
                "0x7FFFFFFFFFFFFFFF", "0xFFFFFFFFFFFFFFFFFFFF", "99999999999999999999999",
                "-9223372036854775809", "1_000", "0o777", "0b1", "1979-05-27", "true", '"10"')
# Numbers as JSON writes (or miswrites) them, for the same places.
JSON_NUMBERS = (*NUMBERS, "1e12", "1e308", "-1e308", "-0.0", "5e-324", "3600.0000001", "86400.5",
                "201", "-21", "1" + "0" * 30)
SITE_TOML = """id = "test-high"
name = {name}
timezone = {timezone}
cancel_window_s = {cancel_window_s}
{extra}
[[rooms]]
id = "A-101"
name = {room_name}
floor = {floor}
[[people]]
id = "s-1"
name = "Ada Lovelace"
room = "A-101"
guardians = [{guardian}]
[[channels]]
name = "sro"
url = "json://127.0.0.1:9/sro"
escalate_after_s = {escalate_after_s}
escalate_to = ["sro"]
"""
TOML_FAIR = {"name": '"Test High"', "timezone": '"America/Denver"', "cancel_window_s": "10",
             "room_name": '"English"', "floor": "2", "guardian": '"Anne Byron"',
             "escalate_after_s": "30.0", "extra": ""}
TOML_NUMERIC = ("cancel_window_s", "floor", "escalate_after_s")
TOML_TEXT = ("name", "timezone", "room_name", "guardian")
# Strings as TOML writes them: escapes TOML forbids, control characters, bidi marks, huge.
TOML_STRINGS = st.one_of(
    st.sampled_from(['"\\u0000"', '"\\uD800"', '"a\\nb"', "'\x1b[31m'", '"\u202eevil"',
                     '"' + "a" * 2001 + '"', '"' + "💥" * 300 + '"', '""', "'''a\nb'''",
                     '"""\n"""', '"unterminated', "'a'b'", '"a" "b"', "[]", "{}"]),
    STRANGE.map(lambda t: json.dumps(t, ensure_ascii=False)))
SITE_JSON: dict[str, Any] = {
    **msgspec.to_builtins(small_site()), "timezone": "America/Denver",
    "channels": [{"name": "sro", "url": "json://127.0.0.1:9/sro", "escalate_after_s": 30.0,
                  "escalate_to": ["sro"]}]}
# (path to a value, whether it is a number): the places a hostile value goes in the JSON file.
JSON_PLACES = [(("cancel_window_s",), True), (("rooms", 0, "floor"), True),
               (("channels", 0, "escalate_after_s"), True), (("name",), False),
               (("timezone",), False), (("rooms", 0, "name"), False),
               (("people", 0, "guardians", 0), False), (("policy",), False),
               (("responder_packet", "door_codes"), False), (("channels", 0, "url"), False)]
HOLE = "\u0000hole\u0000"


def nested(depth: int, toml: bool, inline_tables: bool) -> str:
    if inline_tables:
        return ("{a=" if toml else '{"a":') * depth + "1" + "}" * depth
    return "[" * depth + "]" * depth


@st.composite
def site_tomls(draw: st.DrawFn) -> bytes:
    """The site file as TOML with one to three places made hostile, or its shape made so."""
    values = dict(TOML_FAIR)
    kind = draw(st.integers(0, 5))
    if kind <= 1:  # numbers no reader takes back, in one or more of the numeric places
        for key in draw(st.lists(st.sampled_from(TOML_NUMERIC), min_size=1, max_size=3)):
            values[key] = draw(st.sampled_from(TOML_NUMBERS))
    elif kind == 2:  # strings
        values[draw(st.sampled_from(TOML_TEXT))] = draw(TOML_STRINGS)
    elif kind == 3:  # nesting: arrays or inline tables, shallow to far past any parser's stack
        key = draw(st.sampled_from(TOML_NUMERIC + TOML_TEXT))
        values[key] = nested(draw(st.integers(1, 3000) | st.sampled_from([31, 32, 33, 20_000])),
                             True, draw(st.booleans()))
    elif kind == 4:  # many keys: dotted, plain, or whole tables
        n = draw(st.integers(1, 2000) | st.sampled_from([31, 32, 33, 10_000]))
        how = draw(st.sampled_from(["dotted", "keys", "rooms"]))
        values["extra"] = {"dotted": ".".join(["k"] * n) + " = 1",
                           "keys": "\n".join(f"k{i} = {i}" for i in range(n)),
                           "rooms": "\n".join(f'[[rooms]]\nid = "R{i}"\nname = "R{i}"\nfloor = '
                                              f"{i % 200}" for i in range(n))}[how]
    else:  # any value where a number or a name belongs
        values[draw(st.sampled_from(TOML_NUMERIC + TOML_TEXT))] = draw(
            st.sampled_from(TOML_NUMBERS) | TOML_STRINGS)
    return SITE_TOML.format(**values).encode("utf-8", "surrogatepass")


@st.composite
def site_jsons(draw: st.DrawFn) -> bytes:
    """The site file as JSON with a hostile value at one place, or its shape made hostile."""
    doc = json.loads(json.dumps(SITE_JSON))
    path, numeric = draw(st.sampled_from(JSON_PLACES))
    at = doc
    for step in path[:-1]:
        at = at[step]
    at[path[-1]] = HOLE
    text = json.dumps(doc).encode()
    kind = draw(st.integers(0, 4))
    if kind <= 1:
        hole = draw(st.sampled_from(JSON_NUMBERS if numeric else (*JSON_NUMBERS, '"x"'))).encode()
    elif kind == 2:
        hole = draw(dumped(draw(STRANGE | st.text(max_size=3000))))
    elif kind == 3:
        hole = nested(draw(st.integers(1, 3000) | st.sampled_from([31, 32, 33, 20_000])),
                      False, draw(st.booleans())).encode()
    else:  # many keys where an object belongs, or any shape at all
        n = draw(st.integers(1, 5000))
        hole = (b"{" + b",".join(b'"k%d": %d' % (i, i) for i in range(n)) + b"}"
                if draw(st.booleans()) else draw(dumped(draw(values))))
    return text.replace(json.dumps(HOLE).encode(), hole)


def site_file_with(key: str, value: str) -> bytes:
    return SITE_TOML.format(**{**TOML_FAIR, key: value}).encode()


def site_json_with(raw: str) -> bytes:
    return json.dumps({**SITE_JSON, "cancel_window_s": HOLE}).replace(json.dumps(HOLE),
                                                                        raw).encode()


# The issue's own reproductions, and the shapes that stopped or froze the server before; the
# last of each form is fair, and accepted.
SITE_CASES_TOML = [
    (site_file_with("cancel_window_s", "nan"), False),
    (site_file_with("cancel_window_s", "-inf"), False),
    (site_file_with("escalate_after_s", "1e12"), True),
    (site_file_with("floor", "99999999999999999999999"), False),
    (site_file_with("timezone", '"' + "a" * 300 + '"'), False),
    (site_file_with("extra", ".".join(["k"] * 40_000) + " = 1"), False),  # 24.6 s on the loop
    (site_file_with("cancel_window_s", nested(200_000, True, False)), False),  # a 500
    (site_file_with("extra", ""), False),
]
SITE_CASES_JSON = [(site_json_with(raw), chunked) for raw, chunked in [
    ("NaN", False), ("-Infinity", True), ("1e400", False), ("1e12", False),
    (nested(200_000, False, False), False), ("10", False)]]


# --- the oracle ---------------------------------------------------------------------------------

def strict_json(raw: bytes) -> Any:
    """What a strict reader of RFC 8259 makes of the bytes: UTF-8 only, no NaN, no BOM;
    a repeated key keeps its last value, as msgspec and the JSON Schema reading do."""

    def no_constants(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    return json.loads(raw.decode("utf-8"), parse_constant=no_constants)


def is_valid(raw: bytes, validator: Any, toml: bool = False) -> bool:
    """Whether the bytes are a body the OpenAPI document allows (an empty body reads as {})."""
    try:
        value = tomllib.loads(raw.decode("utf-8")) if toml else strict_json(raw or b"{}")
        return bool(validator.is_valid(value))
    except (ValueError, UnicodeError, TypeError):
        return False


def validators() -> dict[str, Any]:
    doc = document()
    found = {}
    for path, item in doc["paths"].items():
        for operation in item.values():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                schema = {**content["application/json"]["schema"],
                          "components": doc["components"]}
                found[path] = jsonschema_rs.validator_for(schema, validate_formats=True)
    return found


# --- HTTP ---------------------------------------------------------------------------------------


@dataclass
class Target:
    path: str  # the route's template, the key of VALID
    url: str
    token: str
    toml: bool = False

    @property
    def limit(self) -> int:
        return MAX_SITE_FILE if self.path == PUT else MAX_BODY


async def chunks(body: bytes) -> AsyncIterator[bytes]:
    """The body without a Content-Length, as a streaming client sends it."""
    for start in range(0, len(body), 16 * 1024):
        yield body[start:start + 16 * 1024]


async def send(session: aiohttp.ClientSession, target: Target, body: bytes, chunked: bool,
               ) -> tuple[int, str, dict[str, Any] | None]:
    """The status, the text, and the 202's answer (or what is wrong with an error's body)."""
    content_type = "application/toml" if target.toml else "application/json"
    data = chunks(body) if chunked else body
    async with session.request("PUT" if target.path == PUT else "POST", target.url, data=data,
                               headers={"Authorization": f"Bearer {target.token}",
                                        "Content-Type": content_type}) as resp:
        text = await resp.text(errors="replace")
        if resp.status == 202:
            return resp.status, text, json.loads(text)
        try:
            error = json.loads(text)["error"]
            assert resp.content_type == "application/json" and error["code"] and error["message"]
        except (ValueError, KeyError, TypeError, AssertionError):
            return resp.status, text, {"bad error body": text[:200]}
        return resp.status, text, None


async def events_between(app: App, before: int, after: int) -> list[e.Event]:
    return [ev async for _, ev in app.log.read(before + 1, after)]


async def unreadable(app: App, before: int, after: int) -> list[str]:
    """What a consumer could not read exactly as the schema says of the events written: a
    poison event, which the tolerant reader would only read as defaults."""
    problems = []
    async for seq, raw in app.log.read_raw(before + 1, after):
        try:
            e.strict(raw)
        except msgspec.ValidationError as exc:
            problems.append(f"seq {seq}: {exc}")
    return problems


def fuzz_route(app: App, drive: Driver, session: aiohttp.ClientSession, target: Target,
               strategy: st.SearchStrategy[bytes], validator: Any, report: Report,
               count: int = EXAMPLES, cases: list[tuple[bytes, bool]] | None = None) -> None:
    where = ("PUT " if target.path == PUT else "POST ") + target.path + (
        " (TOML)" if target.toml else "")

    @settings(max_examples=count, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(body=strategy, chunked=st.booleans())
    def run(body: bytes, chunked: bool) -> None:
        before = drive(app.log.last_seq())
        shown = repr(body[:300]) + (f"... ({len(body)} bytes)" if len(body) > 300 else "") + (
            ", chunked" if chunked else "")
        try:
            status, text, answer = drive(send(session, target, body, chunked))
        except TimeoutError:  # an answer that never came is a failure, not the run's end
            status, text, answer = 0, "", None
            report.fail(where, "no answer within 30 s", f"body {shown}")
        after = drive(app.log.last_seq())
        report.cases += 1
        report.statuses[(where, status)] += 1
        if status not in (0, 202, 400, 404, 409, 413):
            report.fail(where, f"answered {status}", f"body {shown} -> {text[:300]}")
        if answer is not None and status != 202:
            report.fail(where, "an error without the contract's body", f"{shown} -> {answer}")
        # A site file may also be too large in keys or parse time (413) within the byte limit.
        if (status == 413) != (len(body) > target.limit) and not (
                status == 413 and target.path == PUT):
            report.fail(where, f"{status} for a {len(body)}-byte body", f"body {shown}")
        if status == 202:
            assert answer is not None
            if not is_valid(body, validator, target.toml):
                report.fail(where, "accepted a body the OpenAPI document rejects",
                            f"body {shown} -> {text[:300]}")
            else:
                report.valid_accepted += 1
            expected = before if answer["duplicate"] else answer["seq"]
            if after != expected:
                report.fail(where, "a 202 whose seq is not what it wrote",
                            f"{before} -> {after}, answer {answer}")
            if poison := drive(unreadable(app, before, after)):
                report.fail(where, "wrote an event its readers cannot read back",
                            f"body {shown} -> {poison}")
        elif after != before:
            written = drive(events_between(app, before, after))
            flagged = (target.path.endswith("/guardians") and status == 409 and all(
                isinstance(ev, e.GuardianCheckedIn) and ev.data.flags for ev in written))
            if not flagged:
                report.written += 1
                report.fail(where, f"a rejected request ({status}) wrote to the stream",
                            f"body {shown} -> {text[:200]}; wrote {written}")

    for body, chunked in explicit(target) if cases is None else cases:
        run = example(body=body, chunked=chunked)(run)
    run()


async def press(app: App, session: aiohttp.ClientSession) -> dict[str, Any]:
    async with session.post(f"{app.url}/v1/sites/{SITE}/alerts",
                            json={"kind": "lockdown", "room": "B-112"},
                            headers={"Authorization": f"Bearer {await app.token('device')}"},
                            ) as resp:
        assert resp.status == 202, await resp.text()
        return await resp.json()


async def test_fuzz_every_write_route_with_bytes(app: App) -> None:
    checks = validators()
    drive = Driver(asyncio.get_running_loop())
    report = Report()
    started = time.monotonic()
    routes = [(r.path, r.roles) for r in WRITE_ROUTES] + [(EIDO, ("dispatch",))] + [
        (PUT, ("admin",)), (PUT, ("admin",))]
    async with aiohttp.ClientSession() as session:
        for number, (path, roles) in enumerate(routes):
            incident = (await press(app, session))["incident_id"]
            url = app.url + path.format(site=SITE, id=incident, room="A-101")
            toml = number == len(routes) - 1  # the PUT twice: as JSON, then as TOML
            target = Target(path, url, await app.token(role_for(roles)), toml)
            strategy = toml_bodies() if toml else bodies(path)
            await asyncio.to_thread(fuzz_route, app, drive, session, target, strategy,
                                    checks[path], report)
        async with session.get(app.url + "/healthz") as resp:
            assert resp.status == 200
    elapsed = time.monotonic() - started
    print(f"\nfuzz: {report.cases} requests over {len(routes)} routes in {elapsed:.1f} s, "
          f"{report.valid_accepted} valid ones accepted; {sorted(report.statuses.items())}")
    record("write routes", report.cases, report.statuses, report.written, elapsed)
    assert not report.failures, "\n\n".join(report.failures.values())


async def test_fuzz_site_files_with_hostile_numbers_strings_nesting_and_keys(app: App) -> None:
    """Site files, as TOML and as JSON, with numbers no reader takes back (NaN, infinities,
    1e308, -0, huge integers), hostile strings, deep nesting and many keys: no 5xx, nothing
    written by a refused one, only files the document allows accepted; and then the projector
    has applied every accepted one and the next press is on the board."""
    checks = validators()
    drive = Driver(asyncio.get_running_loop())
    report = Report()
    started = time.monotonic()
    url = app.url + PUT.format(site=SITE)
    token = await app.token("admin")
    async with aiohttp.ClientSession() as session:
        for toml, strategy, cases in ((True, site_tomls(), SITE_CASES_TOML),
                                      (False, site_jsons(), SITE_CASES_JSON)):
            await asyncio.to_thread(fuzz_route, app, drive, session, Target(PUT, url, token, toml),
                                    strategy, checks[PUT], report, SITE_EXAMPLES, cases)
        elapsed = time.monotonic() - started
        print(f"\nsite-file fuzz: {report.cases} imports in {elapsed:.1f} s, "
              f"{report.valid_accepted} accepted; {sorted(report.statuses.items())}")
        record("site files", report.cases, report.statuses, report.written, elapsed)
        assert not report.failures, "\n\n".join(report.failures.values())
        assert report.valid_accepted >= 2  # the fair files at least: the oracle saw acceptances
        pressed = await press(app, session)
        await app.wait_projected(pressed["seq"], timeout=30)


# --- WebSocket ----------------------------------------------------------------------------------

# Digits Python's str.isdigit takes but int() may not, and numbers too long for int().
EDGES = ("", "-1", "+1", " 1", "1.5", "0x10", "²", "፩", "١٢", "9" * 25, "9" * 4301)
SINCE = st.one_of(
    st.none(), st.integers(0, 10**6).map(str), st.text(max_size=12),
    st.text(st.characters(categories=["Nd", "No"]), min_size=1, max_size=6),
    st.sampled_from(EDGES),
)


def ws_base(app: App) -> str:
    return app.url.replace("http://", "ws://", 1) + f"/v1/sites/{SITE}/board/ws"


async def upgrade(url: str, quiet: bool) -> tuple[int, bytes | str | None]:
    """The upgrade's status and, when it opened, the first message; a client that is already
    current (`quiet`) may get none, but its connection must still answer a ping."""
    try:
        async with connect(url, proxy=None, open_timeout=5, close_timeout=1) as ws:
            try:
                return 101, await asyncio.wait_for(ws.recv(), 0.3 if quiet else 3)
            except TimeoutError:
                # A gateway catching up to `since` reads no frame for up to a second.
                await asyncio.wait_for(await ws.ping(), 3)
                return 101, None
    except InvalidStatus as exc:
        return exc.response.status_code, exc.response.body
    except ConnectionClosed as exc:  # how the server ended an upgraded connection
        return 101, f"closed: {exc}"


Frame = tuple[str, Any]  # (how it is sent, what)


async def frames(url: str, sent: list[Frame]) -> str:
    """Connect, take the snapshot, send the frames, ping; how the connection stands after."""
    async with connect(url, proxy=None, open_timeout=5, close_timeout=1,
                       max_size=None) as ws:
        first = msgspec.json.decode(await asyncio.wait_for(ws.recv(), 5))
        assert first["type"] == "snapshot", first
        try:
            for how, frame in sent:
                # Bytes sent as a text frame need not be UTF-8: the server must refuse them.
                await ws.send(frame, text=True if how == "bad text" else None)
            await asyncio.wait_for(await ws.ping(), 3)
        except ConnectionClosed as exc:
            return f"closed {exc.rcvd.code if exc.rcvd else 1006}"
        return "open"


def fuzz_ws(app: App, drive: Driver, tokens: dict[str, str], report: Report) -> None:
    base = ws_base(app)
    reader = st.sampled_from([tokens["responder"], tokens["commander"]])
    # Mostly a reader's token, so the `since` values get past the token check.
    token_values = st.one_of(reader, reader, reader, st.text(max_size=40),
                             st.sampled_from(sorted(tokens.values())),
                             reader.map(lambda t: t + "x"), st.just(""))

    @settings(max_examples=WS_EXAMPLES, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(token=token_values, since=SINCE)
    def query(token: str, since: str | None) -> None:
        params = {"token": token} | ({} if since is None else {"since": since})
        url = base + "?" + urlencode(params)
        try:
            status, first = drive(upgrade(url, since is not None))
        except Exception as exc:  # any other end is a crash of the handshake
            report.fail("WS query", type(exc).__name__, f"{url[:200]}: {exc!r}")
            return
        report.cases += 1
        report.statuses[("WS query", status)] += 1
        if status not in (101, 400, 401, 403):
            report.fail("WS query", f"upgrade answered {status}", f"{url[:300]} -> {first!r}")
        if status == 101 and token not in (tokens["responder"], tokens["commander"]):
            report.fail("WS query", "opened without a valid token", url[:300])
        if status == 101 and isinstance(first, str) and first.startswith("closed"):
            report.fail("WS query", f"upgraded, then {first} (since={since[:8]!r}…)"
                        if since else f"upgraded, then {first}", url[:300])
        elif status == 101 and (since is None or first is not None) and not (
                isinstance(first, str) and first.startswith(
                    '{"type":"snapshot"' if since is None else ('{"type":"snapshot"',
                                                                '{"type":"update"'))):
            report.fail("WS query", "no snapshot first", f"{url[:300]} -> {first!r}")

    message = st.one_of(
        st.tuples(st.just("text"), st.text(max_size=64)),
        st.tuples(st.just("binary"), st.binary(max_size=64)),
        st.tuples(st.just("too big"), st.sampled_from([4097, 9000, 70_000]).map(
            lambda n: b"x" * n)),
        st.tuples(st.just("bad text"), st.binary(min_size=1, max_size=16)),
        st.tuples(st.just("fragments"), st.lists(st.text(max_size=8), min_size=1, max_size=4)))

    @settings(max_examples=WS_EXAMPLES, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(sent=st.lists(message, min_size=1, max_size=4))
    def send_frames(sent: list[Frame]) -> None:
        url = base + "?" + urlencode({"token": tokens["responder"]})
        try:
            end = drive(frames(url, sent))
        except Exception as exc:
            report.fail("WS frames", type(exc).__name__, f"{sent!r:.300}: {exc!r}")
            return
        report.cases += 1
        report.statuses[("WS frames " + end, 101)] += 1
        # 1006: dropped without a close frame; 1011: the server failed. Either is a crash.
        if end in ("closed 1006", "closed 1011"):
            report.fail("WS frames", end, f"{sent!r:.300}")

    for since in EDGES:
        query = example(token=tokens["responder"], since=since)(query)
    query()
    send_frames()


async def test_fuzz_board_websocket(app: App) -> None:
    drive = Driver(asyncio.get_running_loop())
    report = Report()
    tokens = {role: await app.token(role) for role in ("responder", "commander", "device")}
    tokens["other-site"] = await app.token("responder", "other-high")
    started = time.monotonic()
    async with aiohttp.ClientSession() as session, connect(
            ws_base(app) + "?" + urlencode({"token": tokens["commander"]}), proxy=None,
            open_timeout=5) as steady:
        snapshot = msgspec.json.decode(await asyncio.wait_for(steady.recv(), 5))
        assert snapshot["type"] == "snapshot"
        before = await app.log.last_seq()
        await asyncio.to_thread(fuzz_ws, app, drive, tokens, report)
        assert await app.log.last_seq() == before  # a board reader never writes
        # The client that sat beside all of it still follows the board.
        pressed = await press(app, session)
        seen: list[dict[str, Any]] = []
        while not seen or seen[-1]["seq"] < pressed["seq"]:
            seen.append(msgspec.json.decode(await asyncio.wait_for(steady.recv(), 5)))
        assert {m["type"] for m in seen} == {"update"}
        assert seen[-1]["seq"] == pressed["seq"]
        async with session.get(app.url + "/healthz") as resp:
            assert resp.status == 200
    elapsed = time.monotonic() - started
    print(f"\nws fuzz: {report.cases} connections in {elapsed:.1f} s; "
          f"{sorted(report.statuses.items())}")
    record("board websocket", report.cases, report.statuses, report.written, elapsed)
    assert not report.failures, "\n\n".join(report.failures.values())
