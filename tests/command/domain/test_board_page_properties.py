"""Properties of the board's page parts over random command sequences (issue 18): the site
file's parts ride an update only when the site file changed, sends stay bounded per channel,
every other open incident has its case, and no reader sees a part its role may not."""

from typing import Any

from hypothesis import given

from command.domain import board, board_render, redact
from command.domain import events as e
from command.domain.render_cache import Memo
from tests.command.domain.test_board_properties import BOUNDED, SCRIPTS, play

STATIC = ("roster", "plan", "places", "cancel_window_s")


def keys_anywhere(value: Any) -> set[str]:
    """Every dict key at any depth of a rendered board."""
    if isinstance(value, dict):
        return set(value) | set().union(*(keys_anywhere(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(keys_anywhere(v) for v in value))
    return set()


@BOUNDED
@given(SCRIPTS)
def test_the_site_files_parts_ride_an_update_only_when_the_site_file_changed(
        script: list) -> None:
    played = play(script)
    memo, state = Memo(), board.empty("test-high")
    before: dict[str, Any] = {}
    for seq, event in enumerate(played.events, start=1):
        was = state.config
        state = board.evolve(state, seq, event)  # type: ignore[arg-type]
        after = board_render.render(state, memo)
        carried = set(STATIC) & set(board_render.diff(before, after))
        assert not carried or state.config is not was, (type(event).__name__, carried)
        assert not carried or isinstance(event, e.SiteConfigured)
        before = after


@BOUNDED
@given(SCRIPTS)
def test_sends_per_channel_others_cases_and_redaction_hold_on_every_board(script: list) -> None:
    for state in play(script).boards:
        rendered = board_render.render(state)
        case = board.current(state)
        sends = len(case.notifications) if case else 0
        assert rendered["notifications_total"] == sends
        assert len(rendered["notifications"]) == min(sends, board_render.NOTIFICATIONS_SHOWN)
        assert len(rendered["channels"]) == len({n.channel for n in case.notifications}
                                                if case else set())
        assert [o["incident"]["id"] for o in rendered["other_cases"]] == \
            rendered["other_incidents"]
        for role, hidden in redact.HIDDEN.items():
            assert not keys_anywhere(redact.board_view(rendered, role)) & set(hidden), role
