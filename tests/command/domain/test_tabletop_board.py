"""A tabletop on the board: its mode, its latest injects, and its rank under a drill or a live
incident at the same site."""

from command.domain import board, board_render
from command.domain import commands as c
from command.domain.board_render import INJECTS_SHOWN
from tests.command.domain.test_site_state import (
    COMMANDER,
    configured,
    ctx,
    given,
    press,
    run,
)
from tests.command.domain.test_tabletop_rules import SCENARIO, TT


def folded(*steps: tuple[c.Command, object]) -> board.State:
    site_event = configured()
    events = [site_event, *run(given(site_event), *steps)[1]]  # type: ignore[arg-type]
    return board.fold("test-high", list(enumerate(events, start=1)))  # type: ignore[arg-type]


def started() -> tuple[c.Command, object]:
    return c.StartTabletop(scenario=SCENARIO), ctx(COMMANDER, new=TT)


def inject(n: int) -> tuple[c.Command, object]:
    return (c.DeliverInject(index=n, text=f"inject {n}", at_s=60.0 * n, clock=f"15:{n:02d}",
                            source="dispatch"), ctx(COMMANDER, at=10 * n, incident=TT))


def test_the_board_of_a_tabletop_is_in_its_mode_with_no_protocol_and_no_inject_yet() -> None:
    shown = board_render.render(folded(started()))
    assert shown["mode"] == "tabletop" and shown["incident"]["mode"] == "tabletop"
    assert shown["protocol"] is None and shown["incident"]["note"] == SCENARIO.title
    assert (shown["injects"], shown["injects_total"]) == ([], 0)


def test_the_board_shows_the_latest_injects_newest_last() -> None:
    shown = board_render.render(folded(started(), *(inject(n) for n in range(7))))
    assert shown["injects_total"] == 7
    assert [i["index"] for i in shown["injects"]] == list(range(7 - INJECTS_SHOWN, 7))
    last = shown["injects"][-1]
    assert (last["clock"], last["source"], last["text"]) == ("15:06", "dispatch", "inject 6")
    assert last["at"].startswith("2025-03-04T09:01:00")


def test_a_live_incident_outranks_a_tabletop_on_the_board() -> None:
    """A real press during a tabletop is shown first (a drill cannot open beside a tabletop:
    test_tabletop_rules)."""
    state = folded(started(), (press("lockdown"), ctx(new="inc-real")))
    assert board_render.render(state)["incident"]["id"] == "inc-real"
    assert board_render.render(state)["mode"] == "live"
