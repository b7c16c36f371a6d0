"""`muster alert`'s where and `muster away schedule`'s body, from the arguments alone."""

import pytest

from command.bootstrap import cli_units
from command.bootstrap.cli import parser


def alert(*where: str) -> dict | str:
    return cli_units.where(parser().parse_args(["alert", "--site", "s", "--kind", "medical",
                                                *where]))


def test_an_alert_names_a_room_a_bus_or_an_away_event_and_where_it_is() -> None:
    assert alert("--room", "B-112") == {"room": "B-112"}
    assert alert("--bus", "bus-7", "--location", "Route 9", "--lat", "41.9", "--lon",
                 "-87.7") == {"bus": "bus-7", "location": {"text": "Route 9", "lat": 41.9,
                                                           "lon": -87.7}}
    assert alert("--away-event", "game") == {"away_event": "game"}


@pytest.mark.parametrize("where", [(), ("--room", "a", "--bus", "b"),
                                   ("--bus", "b", "--lat", "41")])
def test_an_alert_that_cannot_say_where_is_refused_before_any_request(where: tuple) -> None:
    assert isinstance(alert(*where), str)


def schedule(*extra: str) -> dict | str:
    return cli_units.event_body(parser().parse_args(
        ["away", "schedule", "--site", "s", "--id", "game", "--name", "Away game", *extra]))


def test_an_away_event_body_has_its_people_chaperones_place_and_times() -> None:
    body = schedule("--place", "Central High", "--lat", "41.9", "--lon", "-87.6", "--people",
                    "s-1, s-2", "--chaperone", "c-1:Pat Parent:555-0100", "--chaperone",
                    "c-2:Kim", "--starts", "2027-09-10T18:00:00-05:00", "--kind", "game")
    assert body == {"id": "game", "name": "Away game", "kind": "game",
                    "place": {"text": "Central High", "lat": 41.9, "lon": -87.6},
                    "people": ["s-1", "s-2"],
                    "chaperones": [{"id": "c-1", "name": "Pat Parent", "phone": "555-0100"},
                                   {"id": "c-2", "name": "Kim", "phone": ""}],
                    "starts_at": "2027-09-10T18:00:00-05:00"}


@pytest.mark.parametrize("extra", [("--chaperone", "c-1"), ("--ends", "next tuesday")])
def test_a_bad_away_event_argument_is_refused(extra: tuple) -> None:
    assert isinstance(schedule(*extra), str)
