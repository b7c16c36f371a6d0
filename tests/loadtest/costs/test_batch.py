"""The atomic-batch cost benchmark: it writes what it says, in appends of the size it names, and
its CPU figures come from the real nats-server."""

import re
from pathlib import Path

import pytest

from command.infra.embedded import EmbeddedNats, reach_nats
from command.infra.eventlog import EventLog
from loadtest.costs import batch


@pytest.mark.timeout(120)
def test_batchcost_prints_a_row_per_append_size(capsys: pytest.CaptureFixture[str]) -> None:
    assert batch.main(["--events", "400", "--sites", "4", "--groups", "1,4"]) == 0
    out = capsys.readouterr().out
    rows = re.findall(r"^\s+(\d+)\s+(\d+)\s+(\d+) us\s+(\d+) us$", out, re.MULTILINE)
    assert [int(r[0]) for r in rows] == [1, 4], out
    assert all(int(r[1]) > 0 and int(r[2]) > 0 for r in rows), out


@pytest.mark.timeout(120)
async def test_an_append_size_writes_every_event_in_batches_of_that_size(tmp_path: Path) -> None:
    server = EmbeddedNats(tmp_path / "nats")
    nc = await reach_nats(server.start())
    try:
        log = EventLog(nc, stream=batch.STREAM, prefix=batch.PREFIX)
        await log.ensure_stream()
        pid = int((tmp_path / "nats" / "nats.pid").read_text().split()[0])
        got = await batch.measure(log, pid, group=4, events=400, sites=4)
        assert await log.last_seq() == 400
        events = [(seq, ev) async for seq, ev in log.read(1, 400)]
        per_site = {ev.site for _, ev in events}
        assert per_site == {f"site-4-{s}" for s in range(4)}
        # 25 appends of 4 per site: a site's events come in runs of 4 with no other site's
        # between, since an append is one atomic batch.
        runs = [ev.site for _, ev in events]
        assert all(len(set(runs[i:i + 4])) == 1 for i in range(0, 400, 4)), runs
        assert got["events_per_s"] > 0
        assert got["server_us_per_event"] > 0  # the server's own CPU moved while it wrote
        await nc.close()
    finally:
        server.stop()
