"""People's names as adults give them at a desk or a student information system exports them.

A custody order names an adult as someone typed it; the adult at the desk is typed by someone
else. Names are compared folded (Unicode NFKC, case, runs of spaces), so "MARK  JONES" is the
"Mark Jones" a restriction names: a spelling difference must never let a restricted adult through.
"""

import unicodedata
from collections.abc import Iterable


def folded(name: str) -> str:
    """The form names are compared in: NFKC, case-folded, spaces collapsed and trimmed."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def same(a: str, b: str) -> bool:
    """Whether two written names name the same adult."""
    return folded(a) == folded(b)


def among(name: str, names: Iterable[str]) -> bool:
    """Whether `name` is one of `names`, compared folded."""
    key = folded(name)
    return any(folded(n) == key for n in names)
