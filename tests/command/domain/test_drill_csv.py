"""The drill log as CSV: a header row, ISO times with seconds in the site's zone, and no cell a
spreadsheet would run as a formula."""

import csv
import io
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from msgspec.structs import replace

from command.domain import drill_csv
from command.domain.drill_log import Method
from tests.command.domain.test_compliance import drow

DENVER = ZoneInfo("America/Denver")


def test_a_row_reads_back_as_written() -> None:
    base = drow("d-1", date(2026, 10, 1), "fire")
    row = replace(base, protective_at=base.started_at + timedelta(seconds=95.5), protective_s=95.5,
                  accounted_s=120.0, accounted_at=base.started_at + timedelta(seconds=120),
                  participants={"student": 6, "staff": 2, "visitor": 1, "total": 9},
                  notifications=[Method(channel="sro", method="json", sent=2, failed=0,
                                        escalated=0, worked=True),
                                 Method(channel="sms", method="twilio", sent=0, failed=3,
                                        escalated=0, worked=False)],
                  rooms_late=["GYM", "A-101"], notes=["=HYPERLINK(\"x\")", "-1 room"])
    table = list(csv.reader(io.StringIO(drill_csv.to_csv([(row, DENVER)]))))
    assert tuple(table[0]) == drill_csv.COLUMNS and len(table) == 2
    got = dict(zip(drill_csv.COLUMNS, table[1], strict=True))
    assert got["start"] == "2026-10-01T10:00:00-06:00"
    assert got["protective_response"] == "2026-10-01T10:01:35-06:00"
    assert (got["protective_response_s"], got["accounted_for_s"]) == ("95.5", "120")
    assert (got["visitors"], got["participants"]) == ("1", "9")
    assert got["notification_methods"] == "sro json worked; sms twilio failed"
    assert got["rooms_late"] == "GYM A-101" and got["end"] == ""
    assert got["notes"] == "'=HYPERLINK(\"x\"); -1 room"


def test_an_empty_log_is_its_header() -> None:
    assert drill_csv.to_csv([]) == ",".join(drill_csv.COLUMNS) + "\r\n"
