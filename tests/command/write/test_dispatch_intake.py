"""The id a CAD snapshot is written under (one per site, tracking id, instant and content, on any
replica), and the body's UTF-8, which the lenient parser does not check where it skips."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from command.domain.errors import Invalid
from command.write.dispatch_intake import client_event_id, utf8

SITE = "demo-high"
TRACKING = "urn:emergency:uid:incidentid:7f3a9c2e51d0:psap.pd.anytown.example.gov"
AT = datetime(2026, 3, 12, 15, 12, tzinfo=UTC)


def test_a_resent_snapshot_gets_the_same_id_however_its_time_is_written() -> None:
    central = AT.astimezone(timezone(timedelta(hours=-5)))
    assert client_event_id(SITE, TRACKING, AT) == client_event_id(SITE, TRACKING, central)
    assert client_event_id(SITE, TRACKING, AT).version == 5


def test_another_update_or_another_incident_gets_another_id() -> None:
    first = client_event_id(SITE, TRACKING, AT)
    assert client_event_id(SITE, TRACKING, AT + timedelta(milliseconds=1)) != first
    assert client_event_id(SITE, TRACKING + "x", AT) != first


def test_another_content_in_the_same_second_or_another_site_gets_another_id() -> None:
    """A CAD stamps to the second: two different snapshots of one second are two updates."""
    first = client_event_id(SITE, TRACKING, AT, b'{"units":[]}')
    assert client_event_id(SITE, TRACKING, AT, b'{"units":[]}') == first
    assert client_event_id(SITE, TRACKING, AT, b'{"units":[{"id":"A12"}]}') != first
    assert client_event_id("other-high", TRACKING, AT, b'{"units":[]}') != first


def test_the_ends_of_the_calendar_get_an_id_too() -> None:
    early = datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1)))
    late = datetime(9999, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-1)))
    assert client_event_id(SITE, TRACKING, early) != client_event_id(SITE, TRACKING, late)


def test_a_body_not_utf8_is_refused_even_where_the_parser_would_skip_it() -> None:
    with pytest.raises(Invalid, match="UTF-8"):
        utf8(b'{"$id": "x", "ignored": "\xff"}')
    assert utf8('{"$id": "é"}'.encode()) == '{"$id": "é"}'.encode()
