"""The parts of a board's last render, kept by the identity of the immutable values they were
made from, so rendering the board again converts only what an event changed.

The fold never changes a value in place (every change makes new dicts, lists and structs), so
the same object means the same rendered part. Parts are shared between renders: a reader of a
rendered board must never change it.
"""

from collections.abc import Callable
from typing import Any

import msgspec


class Memo:
    """One board's memo; it keeps only the parts the latest render used."""

    __slots__ = ("_last", "_now", "rows")

    def __init__(self) -> None:
        self._last: dict[tuple[str, int, int], tuple[object, object, Any]] = {}
        self._now: dict[tuple[str, int, int], tuple[object, object, Any]] = {}
        # A board's many rows, by their own key: one lookup per row, no key to build.
        self.rows: dict[str, tuple[object, object, Any]] = {}

    def part(self, kind: str, a: object, b: object, make: Callable[[], Any]) -> Any:
        """The `kind` of part `make()` gives for the pair (a, b), made once while both stay the
        same objects."""
        key = (kind, id(a), id(b))
        hit = self._now.get(key) or self._last.get(key)
        if hit is None or hit[0] is not a or hit[1] is not b:
            hit = (a, b, make())
        self._now[key] = hit
        return hit[2]

    def built(self, value: object) -> Any:
        """`msgspec.to_builtins(value)`, converted once per object."""
        return self.part("built", value, None, lambda: msgspec.to_builtins(value))

    def row(self, key: str, a: object, b: object, make: Callable[[object, object], Any]) -> Any:
        """The row `key` that `make(a, b)` gives, made again only when a or b is another object;
        rows not asked for again stay until their key is (few: a board's rooms)."""
        hit = self.rows.get(key)
        if hit is None or hit[0] is not a or hit[1] is not b:
            hit = self.rows[key] = (a, b, make(a, b))
        return hit[2]

    def done(self) -> None:
        """End of a render: what it did not use is dropped, so memory stays one board's worth."""
        self._last, self._now = self._now, {}


class NoMemo(Memo):
    """Every part made afresh: for a render that happens once."""

    def part(self, kind: str, a: object, b: object, make: Callable[[], Any]) -> Any:
        return make()

    def built(self, value: object) -> Any:
        return msgspec.to_builtins(value)

    def row(self, key: str, a: object, b: object, make: Callable[[object, object], Any]) -> Any:
        return make(a, b)

    def done(self) -> None:
        pass
