"""The one-page print layout for the state file: the form's fields from the drill record, the
problems found, blank lines for corrective actions, and the sign-off (or an empty signature
line). That it prints on one page is checked in a real browser (tests/integration)."""

from datetime import timedelta
from typing import Any

from msgspec.structs import replace

from command.domain import events as e
from command.domain import report, report_print
from command.domain.site_dispatch import Address, Dispatch
from tests.command.domain.test_report_compare import drill
from tests.command.domain.test_site_state import T0, site


def printed(events: list[tuple[int, Any]], **changes: Any) -> str:
    """The print layout of `events`, their site file (first) changed by `changes`."""
    (seq, cfg), *rest = events
    return report_print.to_print(report.build(
        [(seq, replace(cfg, data=replace(site(), **changes))), *rest], None))


def test_the_form_carries_the_drill_records_fields() -> None:
    where = Dispatch(address=Address(hno="12", rd="Elm", sts="Street", a3="Springfield",
                                     a1="MI", pc="49000"))
    page = printed(drill("d-3", 20, 30, sign=True), district="springfield-schools",
                   dispatch=where)
    for field, value in (("School", "Test High (test-high)"),
                         ("District", "springfield-schools"),
                         ("Address", "12 Elm Street, Springfield, MI 49000"),
                         ("Date", "Monday 2025-03-24"),
                         ("Drill type", "armed_intruder (lockdown category), drill"),
                         ("SRP action", "lockdown"), ("Start", "09:00:00"),
                         ("End", "09:06:40 (all clear)"),
                         ("Protective response", "09:02:00 (+2:00 after the start)"),
                         ("Accounted for", "09:01:30 (+1:30 after the start)"),
                         ("Duration", "+6:40"),
                         ("Participants", "student 6, staff 2, visitor 0, total 8")):
        assert f"<th>{field}</th><td>{value}</td>" in page, field
    assert page.startswith("<!doctype html>") and "<title>Emergency drill record: Test High, " \
        "2025-03-24</title>" in page
    assert "<h2>Problems found</h2><p>None found from the events.</p>" in page
    assert page.count('<div class="line"></div>') == 4  # corrective actions, to be written in
    assert "<b>Signed off by Dana Reyes, Principal, at 2025-03-24 09:07:40 UTC</b> (recorded " \
        "as event ev-" in page
    assert report_print.NOT_SIGNED not in page
    assert "<script" not in page and "http" not in page and "@page{margin:12mm}" in page


def test_an_unsigned_record_has_an_empty_signature_line() -> None:
    page = printed(drill("d-4", 20, 30))
    assert f"({report_print.NOT_SIGNED})" in page and 'class="sig">Signed off by: <span ' \
        'class="line">' in page
    assert "<th>District</th><td>—</td>" in page and "<th>Address</th><td>—</td>" in page


def failed(at_s: float, channel: str, error: str) -> e.NotificationFailed:
    when = T0 + timedelta(days=20, seconds=at_s)
    return e.NotificationFailed(id=f"f-{channel}-{at_s}", site="test-high", incident_id="d-5",
                                mode="drill", occurred_at=when, recorded_at=when,
                                data=e.NotificationFailedData(channel=channel, event_id="x",
                                                              attempt=1, error=error))


def test_methods_and_problems_are_listed_escaped_and_capped_to_fit_one_page() -> None:
    events = drill("d-5", 20, 30, rooms={"A-101": 3})
    last = events[-1][0]
    events += [(last + i + 1, failed(i + 1, f"ch-{i}", f"<script>x</script> {i}"))
               for i in range(12)]
    page = printed(events)
    assert page.count("<li>") == report_print.FINDINGS_SHOWN
    assert "&lt;script&gt;x&lt;/script&gt;" in page and "<script" not in page
    methods = page[page.index('<table class="methods">'):page.index("</table>", page.index(
        'class="methods"'))]
    assert methods.count("<tr>") == report_print.METHODS_SHOWN + 1
    assert methods.count('<td class="no">NO</td>') == report_print.METHODS_SHOWN
    assert "and 6 more in the full report" in page


def test_a_tabletop_prints_as_a_tabletop_record() -> None:
    events = [(seq, replace(ev, mode="tabletop") if not isinstance(ev, e.SiteConfigured)
               else ev) for seq, ev in drill("t-1", 20, 30)]
    assert "<h1>Tabletop exercise record</h1>" in printed(events)


def test_a_sign_off_note_is_printed() -> None:
    events = drill("d-6", 20, 30)
    cfg = events[0][1]
    assert isinstance(cfg, e.SiteConfigured)
    signed = e.DrillSignedOff(id="sig-1", site="test-high", incident_id="d-6", mode="drill",
                              occurred_at=T0 + timedelta(days=21), recorded_at=T0,
                              data=e.DrillSignedOffData(signed_by="Dana Reyes",
                                                        note="filed with the county"))
    page = printed([*events, (events[-1][0] + 1, signed)])
    assert "<b>Signed off by Dana Reyes, at 2025-03-25 09:00:00 UTC</b> (recorded as event " \
        "sig-1)<div class=\"one\">Note: filed with the county</div>" in page
