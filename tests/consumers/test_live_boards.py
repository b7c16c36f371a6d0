"""The gateway's boards in memory: which updates are kept for a client resuming with `since`."""

import msgspec

from command.domain import board
from consumers.live_boards import LiveBoards
from tests.command.domain.test_board import history, press
from tests.command.domain.test_site_state import SITE_ID, ctx


def updates(frames: list[bytes]) -> list[int]:
    return [msgspec.json.decode(f[f.index(b"{"):])["seq"] for f in frames]


def test_a_site_born_here_answers_since_zero_with_every_update() -> None:
    # A replay board played from its start asks for since=0: it gets the whole run, not a
    # snapshot of the end.
    boards = LiveBoards()
    events = history((press(), ctx()))
    first = 100  # other sites' events came first in the stream
    for seq, event in enumerate(events, start=first):
        boards.apply(seq, event)
    missed = boards.missed(SITE_ID, "commander", 0)
    assert missed is not None
    assert updates(missed) == list(range(first, first + len(events)))


def test_a_site_loaded_from_the_read_models_has_no_updates_before_its_load() -> None:
    events = history((press(), ctx()))
    boards = LiveBoards()
    boards.load({SITE_ID: board.fold(SITE_ID, list(enumerate(events[:-1], start=1)))})
    boards.apply(len(events), events[-1])
    assert boards.missed(SITE_ID, "commander", 0) is None  # the client needs a snapshot
    assert updates(boards.missed(SITE_ID, "commander", len(events) - 1) or []) == [len(events)]


def test_once_the_first_updates_are_forgotten_since_zero_needs_a_snapshot() -> None:
    boards = LiveBoards(history=2)
    events = history((press(), ctx()))
    assert len(events) > 2
    for seq, event in enumerate(events, start=1):
        boards.apply(seq, event)
    assert boards.missed(SITE_ID, "commander", 0) is None
