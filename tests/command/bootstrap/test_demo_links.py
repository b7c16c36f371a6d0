"""What `muster up --demo` prints to open: a board link per reading role, and the commander's
link to the drill log and the state requirements, each token in the URL fragment."""

from command.bootstrap.cli_up import board_links

TOKENS = {"staff": "mst_s", "responder": "mst_r", "commander": "mst_c", "dispatch": "mst_d",
          "admin": "mst_a", "device": "mst_v"}


def test_the_demo_prints_each_readers_board_and_the_commanders_drill_page() -> None:
    lines = board_links("http://127.0.0.1:8080", TOKENS).splitlines()
    boards = [line.split() for line in lines if "/board/" in line]
    assert [role for role, _ in boards] == ["staff", "responder", "commander", "dispatch"]
    assert all(link.endswith(f"#token={TOKENS[role]}") for role, link in boards)
    assert lines[-2] == ("Reunification desk (greeter, checker, reunifier): "
                         "http://127.0.0.1:8080/desk/demo-high#token=mst_s")
    assert lines[-1] == ("Drill log and state requirements: "
                         "http://127.0.0.1:8080/drills/demo-high#token=mst_c")


def test_without_a_commander_token_no_drill_page_is_offered() -> None:
    text = board_links("http://h", {"staff": "mst_s"})
    assert "/drills/" not in text and "/board/demo-high#token=mst_s" in text
