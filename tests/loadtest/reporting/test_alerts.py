"""Which sink arrival answers which press: per channel in seq order, by room and kind."""

from pathlib import Path

from command.domain.site import Channel
from loadtest.clients.arrivals import Arrival, SinkLog
from loadtest.reporting.alerts import Pressed, first_deliveries, summarize

CHANNELS = {"a": [Channel(name="sro", url="json://x/a/sro"),
                  Channel(name="staff", url="json://x/a/staff"),
                  Channel(name="counselor", url="json://x/a/counselor", handle_with_care=True,
                          events=["HandleWithCareIssued"]),
                  Channel(name="drills", url="json://x/a/drills", modes=["drill"])]}


def alert(t: float, channel: str, room: str, kind: str, joined: str | None = None) -> Arrival:
    text = (f"{kind} alert at School A, room {room}, 10:41. The {joined} remains in force."
            if joined else f"Lockdown! Locks, lights, out of sight. School A, room {room}, "
                           f"10:41. Alert: {kind}.")
    return Arrival(t=t, path=f"/a/{channel}", title="[EXTREME] LOCKDOWN — School A", message=text)


def test_each_press_takes_the_next_arrival_naming_it_and_its_earliest_channel_wins() -> None:
    presses = [Pressed("a", "lockdown", "B-112", 10, 1.0), Pressed("a", "hold", "A-101", 12, 1.1),
               Pressed("a", "lockdown", "B-112", 14, 1.2)]
    arrivals = [alert(1.30, "sro", "B-112", "lockdown"), alert(1.25, "staff", "B-112", "lockdown"),
                alert(1.40, "sro", "A-101", "hold", joined="lockdown"),
                alert(1.50, "sro", "B-112", "lockdown"), alert(1.45, "staff", "A-101", "hold")]
    first, pairs = first_deliveries(presses, CHANNELS, arrivals)
    assert first == [1.25, 1.40, 1.50]  # the third press's staff message has not come yet
    assert pairs == 5


def test_matching_follows_seq_not_the_order_presses_were_listed() -> None:
    presses = [Pressed("a", "hold", "A-101", 20, 1.1), Pressed("a", "secure", "GYM", 19, 1.0)]
    arrivals = [alert(1.2, "sro", "GYM", "secure"), alert(1.3, "sro", "A-101", "hold")]
    assert first_deliveries(presses, CHANNELS, arrivals)[0] == [1.3, 1.2]


def test_an_escalation_or_a_different_room_is_no_delivery() -> None:
    presses = [Pressed("a", "lockdown", "B-11", 1, 1.0)]
    late = alert(31.0, "sro", "B-11", "lockdown")
    escalated = Arrival(t=31.0, path="/a/staff", title="ESCALATION — x",
                        message="ESCALATION — no acknowledgement after 30 s: " + late.message)
    arrivals = [alert(1.1, "sro", "B-112", "lockdown"), escalated]
    assert first_deliveries(presses, CHANNELS, arrivals) == ([None], 0)


def test_a_press_counts_as_missed_when_nothing_or_only_a_late_alert_arrived() -> None:
    presses = [Pressed("a", "lockdown", "B-112", 1, 1.0), Pressed("a", "hold", "A-101", 2, 1.0),
               Pressed("a", "medical", "GYM", 3, 1.0), Pressed("b", "hold", "GYM", 4, 1.0)]
    arrivals = [alert(1.2, "sro", "B-112", "lockdown"), alert(12.0, "sro", "A-101", "hold")]
    out = summarize(presses, CHANNELS, arrivals, within=10.0)
    assert (out.expected, out.missed) == (3, 2)  # site b has no channels: nothing owed there
    assert (out.pairs_expected, out.pairs_seen) == (6, 2)
    assert [round(x, 3) for x in out.latencies] == [0.2, 11.0]
    assert [round(lat, 3) for _, lat in out.openers] == [0.2]


def test_the_sink_log_is_read_as_it_grows_and_a_partial_line_waits(tmp_path: Path) -> None:
    path = tmp_path / "sink.jsonl"
    log = SinkLog(path)
    assert log.poll() == []
    body = '{\\"title\\": \\"T\\", \\"message\\": \\"M\\", \\"type\\": \\"info\\"}'
    path.write_text(f'{{"t": 1.5, "path": "/a/sro", "body": "{body}"}}\n{{"t": 2')
    assert log.poll() == [Arrival(t=1.5, path="/a/sro", title="T", message="M")]
    with path.open("a") as f:
        f.write(', "path": "/direct/0", "body": "not json"}\n')
    assert log.on("/direct/") == [Arrival(t=2.0, path="/direct/0", title="", message="")]
    assert len(log.arrivals) == 2
