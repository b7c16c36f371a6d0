"""A board shown: the contract's document `render` makes of a board and the parts `diff` says
changed (`command/domain/board_render.py`), told through the board tests' scenarios."""

from command.domain import board, board_render
from command.domain import commands as c
from command.domain.render_cache import Memo
from tests.command.domain.test_board import ROSTER, history, report, shown
from tests.command.domain.test_site_state import (
    LIVE,
    SITE_ID,
    STAFF,
    configured,
    ctx,
    given,
    press,
    run,
    site,
)

CONTRACT_KEYS = {"site", "seq", "mode", "incident", "protocol", "rooms", "accountability",
                 "dispatch", "acks", "notifications"}
COUNT_KEYS = {"total", "accounted", "missing", "injured", "absent", "reunified", "unknown"}


def test_render_has_the_contract_keys() -> None:
    rendered = shown(history((press("lockdown"), ctx())))
    assert CONTRACT_KEYS <= set(rendered)
    assert set(rendered["accountability"]) == COUNT_KEYS
    assert rendered["site"] == SITE_ID and rendered["seq"] == 4 and rendered["mode"] == "live"
    assert rendered["incident"]["id"] == LIVE and rendered["incident"]["alerts"] == 1
    assert rendered["protocol"]["action"] == "lockdown"
    assert rendered["protocol"]["directive"].startswith("Lockdown!")
    assert {r["id"] for r in rendered["rooms"]} == {"A-101", "A-102", "B-112", "GYM"}
    assert rendered["accountability"] == {**dict.fromkeys(COUNT_KEYS, 0), "total": ROSTER,
                                          "unknown": ROSTER}


def test_diff_carries_only_the_changed_rooms() -> None:
    before_events = history((press("lockdown"), ctx()))
    before = shown(before_events)
    after = shown(history((press("lockdown"), ctx()), report("GYM", status="secured")))
    changed = board_render.diff(before, after)
    assert [r["id"] for r in changed["rooms"]] == ["GYM"]
    assert changed["seq"] == after["seq"]
    assert "protocol" not in changed and "accountability" not in changed
    assert board_render.diff(after, after) == {}


def test_diff_names_both_rooms_when_a_person_moves() -> None:
    before = shown(history((press("lockdown"), ctx())))
    after = shown(history((press("lockdown"), ctx()),
                          report("B-112", status="secured", extra=["s-3"])))
    changed = board_render.diff(before, after)
    assert sorted(r["id"] for r in changed["rooms"]) == ["A-101", "B-112"]
    assert changed["accountability"] == after["accountability"]


def test_a_board_shows_the_latest_notes_and_counts_them_all() -> None:
    notes = [(c.AddNote(text=f"note {i}"), ctx(STAFF, at=9 + i, incident=LIVE))
             for i in range(board_render.NOTES_SHOWN + 5)]
    rendered = shown(history((press("lockdown"), ctx()), *notes))
    assert [n["text"] for n in rendered["notes"]] == [
        f"note {i}" for i in range(5, board_render.NOTES_SHOWN + 5)]
    assert rendered["notes_total"] == board_render.NOTES_SHOWN + 5


def test_a_first_update_against_no_board_carries_every_part() -> None:
    """A board's first update (nothing rendered before) carries every part that is not
    empty-as-None, and every room."""
    rendered = shown(history((press("lockdown"), ctx())))
    assert board_render.diff({}, rendered) == {k: v for k, v in rendered.items() if v is not None}
    assert len(board_render.diff({}, rendered)["rooms"]) == 4


def test_a_board_rendered_with_its_memo_is_the_board_rendered_afresh() -> None:
    """Given one board's memo kept across events (as the live boards and the projector keep
    it), then after every event its render equals a render from scratch: no part, not the
    counts, the named people (through a site file re-import) or the notes, is ever stale."""
    events = history((press("lockdown"), ctx()),
                     report("A-102", at=20, status="needs_help", missing=["s-6"]),
                     (c.AddNote(text="seen in B wing"), ctx(STAFF, at=30, incident=LIVE)),
                     report("B-112", at=40, status="secured", present=3))
    events.append(configured(site(people=[p for p in site().people if p.id != "s-6"]), at=50))
    events += run(given(*events), (c.AddNote(text="all quiet"), ctx(STAFF, at=60,
                                                                    incident=LIVE)))[1]
    memo, state = Memo(), board.empty(SITE_ID)
    for seq, event in enumerate(events, start=1):
        state = board.evolve(state, seq, event)
        assert board_render.render(state, memo) == board_render.render(state)
    assert board_render.render(state, memo)["people"][0]["name"] == "s-6"


def test_an_idle_board_names_the_school_and_has_no_notes() -> None:
    idle = shown([configured()])
    assert (idle["name"], idle["notes"], idle["notes_total"], idle["people"]) == (
        "Test High", [], 0, [])
    assert shown(history((press("lockdown"), ctx())))["name"] == "Test High"
    assert board_render.render(board.empty(SITE_ID))["name"] is None
