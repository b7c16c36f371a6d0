"""Site files parsed off the event loop: in a worker process, within limits and a time bound.

A TOML key of 40,000 dotted parts costs the parser the square of its length (24.6 s for 80 KB)
and deep nesting recurses past Python's limit; neither may hold the loop every request shares.
Cheap linear checks refuse such files first; what still runs too long has its worker killed.
"""

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from concurrent.futures.process import BrokenProcessPool

import msgspec

from command.domain import site as site_file
from command.domain.errors import Invalid, MusterError, RateLimited, TooLarge, from_validation
from command.infra import workers

MAX_DEPTH = 32  # brackets or dotted parts; a real site file nests 4 deep
MAX_KEYS = 200_000  # a school of 5,000 people at 8 keys each has 40,000
PARSE_TIMEOUT_S = 5.0  # a 4 MB roster parses in well under a second
MAX_WAITING = 4  # files read and waiting for the worker: each may be 4 MB in memory

# Strings and comments hold anything; the limits count only the document's structure.
_TOML_TEXT = re.compile(rb'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|"(?:[^"\\\n]|\\.)*"|'
                        rb"'[^'\n]*'|#[^\n]*")
_JSON_TEXT = re.compile(rb'"(?:[^"\\]|\\.)*"')
_BRACKET = re.compile(rb"[\[\]{}]")
# From the start of a key only, without backtracking: linear even over a 4 MB run of letters.
_DOTTED = re.compile(rb"(?<![^\s.=\[\]{},])(?:[^\s.=\[\]{},]++[ \t]*+\.[ \t]*+){%d}"
                     % MAX_DEPTH)


class Outcome(msgspec.Struct, frozen=True):
    """A worker's answer: the site as JSON, or the refusal the handler answers."""

    site: bytes = b""
    code: str = ""  # the error's code (TooLarge or Invalid); "" for a parsed site
    message: str = ""
    field: str | None = None


def _depth(structure: bytes) -> int:
    depth = deepest = 0
    for bracket in _BRACKET.findall(structure):
        depth += 1 if bracket in (b"[", b"{") else -1
        deepest = max(deepest, depth)
    return deepest


def check(body: bytes, toml: bool) -> None:
    """The limits, in time linear in the body: nesting, dotted keys and the count of keys."""
    structure = (_TOML_TEXT if toml else _JSON_TEXT).sub(b"s", body)
    if _depth(structure) > MAX_DEPTH or (toml and _DOTTED.search(structure)):
        raise Invalid(f"the site file nests deeper than {MAX_DEPTH} levels", field="$")
    if structure.count(b"=" if toml else b":") > MAX_KEYS:
        raise TooLarge(f"the site file has more than {MAX_KEYS} keys", field="$")


def parse(body: bytes, toml: bool) -> site_file.Site:
    """Check, decode and validate a site file; every failure is a MusterError naming the field."""
    try:
        check(body, toml)
        doc = (msgspec.toml.decode(body, type=site_file.Site) if toml
               else msgspec.json.decode(body, type=site_file.Site))
        return site_file.validate(doc)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise from_validation(exc) from None
    except UnicodeDecodeError:
        raise Invalid("the site file is not valid UTF-8", field="$") from None
    except site_file.SiteError as exc:
        raise Invalid(str(exc), field="$") from None
    except RecursionError:
        raise Invalid("the site file nests too deeply", field="$") from None
    except MemoryError:
        raise TooLarge("the site file is too large to parse", field="$") from None


def _in_worker(body: bytes, toml: bool) -> Outcome:
    try:
        return Outcome(site=msgspec.json.encode(parse(body, toml)))
    except MusterError as exc:
        return Outcome(code=exc.code, message=exc.message, field=exc.field)
    except Exception as exc:  # whatever else a hostile file finds is still its own fault
        return Outcome(code=Invalid.code, message=f"the site file cannot be parsed: {exc}"[:500],
                       field="$")


def _warm() -> None:
    """Imports done before the first file arrives, so its time bound measures only its parse."""


class SiteParser:
    """One worker process parses one file at a time; past the time bound it is killed and a
    fresh one takes its place, so a stuck parse never holds the pool."""

    def __init__(self, timeout_s: float = PARSE_TIMEOUT_S, waiting: int = MAX_WAITING) -> None:
        self.timeout_s = timeout_s
        self.waiting = waiting
        self._admitted = 0
        self._lock = asyncio.Lock()
        self._start()

    @contextlib.asynccontextmanager
    async def admitted(self) -> AsyncIterator[None]:
        """A place in the queue, taken before the body is read: a flood of imports is refused,
        not held in memory 4 MB at a time."""
        if self._admitted >= self.waiting:
            raise RateLimited(f"{self.waiting} site files are being imported; retry")
        self._admitted += 1
        try:
            yield
        finally:
            self._admitted -= 1

    def _start(self) -> None:
        self._pool = workers.pool(1)
        self._warming = self._pool.submit(_warm)

    async def ready(self) -> None:
        await asyncio.wrap_future(self._warming)

    async def parse(self, body: bytes, toml: bool) -> site_file.Site:
        async with self._lock:
            try:
                await self.ready()
                future = asyncio.get_running_loop().run_in_executor(
                    self._pool, _in_worker, body, toml)
                outcome = await asyncio.wait_for(future, self.timeout_s)
            except TimeoutError:
                self.replace()
                raise TooLarge(f"the site file took longer than {self.timeout_s:g} s to parse",
                               field="$") from None
            except BrokenProcessPool:
                self.replace()  # the file killed its worker (a C stack overflow, say)
                raise Invalid("the site file stopped the parser", field="$") from None
        if outcome.code:
            kind = TooLarge if outcome.code == TooLarge.code else Invalid
            raise kind(outcome.message, outcome.field)
        return msgspec.json.decode(outcome.site, type=site_file.Site)

    def replace(self) -> None:
        workers.kill(self._pool)
        self._start()

    def close(self) -> None:
        workers.kill(self._pool)
