"""The drill run's closing note: the drill log's rows as a table, in the sites' zone."""

from datetime import UTC, datetime
from pathlib import Path

import msgspec

from loadtest.scenarios.drill_log import Log, Method, Row, summary, table, write, year_of

START = datetime(2026, 12, 3, 17, 0, 5, tzinfo=UTC)


def row(site: str, protective: float | None, methods: list[Method]) -> Row:
    return Row(incident_id=f"inc-{site}", site=site, mode="drill", kind="lockdown",
               status="closed", started_at=START, protective_s=protective, accounted_s=12.25,
               ended_at=datetime(2026, 12, 3, 17, 2, 0, tzinfo=UTC),
               participants={"student": 800, "staff": 59, "total": 859}, notifications=methods)


def test_a_row_a_site_in_site_order_with_times_in_the_sites_zone() -> None:
    ok = [Method(channel="sro", method="json", worked=True),
          Method(channel="district", method="json", worked=True)]
    failed = [Method(channel="sro", method="json", worked=True),
              Method(channel="sms", method="twilio", worked=False)]
    text = table([row("bench-01", None, failed), row("bench-00", 9.5, ok)], "America/Denver")
    head, rule, first, second = text.splitlines()
    assert head.split("  ")[0] == "site" and "methods worked/failed" in head
    assert set(rule.replace(" ", "")) == {"-"}
    assert first.split()[:4] == ["bench-00", "lockdown", "2026-12-03", "10:00:05"]  # UTC-7
    assert "9.5" in first and "12.2" in first and "10:02:00" in first
    assert first.endswith("859 (800 students, 59 staff)  2/0 (json)")
    assert "not reached" in second and second.endswith("1/1 (json; failed: sms (twilio))")


def test_the_summary_gives_the_median_and_slowest_of_each_milestone() -> None:
    rows = [row("a", 9.0, []), row("b", 7.0, []), row("c", None, [])]
    assert summary(rows) == ("3 drills; protective response median 9.0 s, slowest 9.0 s; "
                             "accounted for median 12.2 s, slowest 12.2 s")
    assert "none reached" in summary([row("a", None, [])])


def test_the_school_year_is_the_sites_own_across_the_first_of_july() -> None:
    # 05:00 UTC on 1 July is still 30 June in Denver
    assert year_of("America/Denver", datetime(2026, 7, 1, 5, 0, tzinfo=UTC)) == "2025-26"
    assert year_of("America/Denver", datetime(2026, 7, 1, 7, 0, tzinfo=UTC)) == "2026-27"


def test_written_beside_the_runs_plot_as_text_and_json(tmp_path: Path) -> None:
    rows = [row("bench-00", 9.5, [])]
    path = write(rows, table(rows, "UTC"), tmp_path / "drill-20261204-031914.png")
    assert path == tmp_path / "drill-20261204-031914-log.txt"
    assert path.read_text().startswith("site")
    again = msgspec.json.decode((tmp_path / "drill-20261204-031914-log.json").read_bytes(),
                                type=list[Row])
    assert again == rows
    assert write(rows, "", None) is None


def test_the_route_s_document_decodes_to_its_rows() -> None:
    doc = {"site": "bench-00", "school": "Bench", "timezone": "America/Denver",
           "year": "2026-27", "rows": [{**msgspec.to_builtins(row("bench-00", 9.5, [])),
                                        "scenario": None, "rooms_late": []}]}
    assert msgspec.json.decode(msgspec.json.encode(doc), type=Log).rows[0].protective_s == 9.5
