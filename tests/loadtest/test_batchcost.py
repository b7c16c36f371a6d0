"""The atomic-batch cost benchmark runs end to end on its own nats-server and prints a row per
append size, with numbers a reader can compare."""

import re

import pytest

from loadtest import batchcost


@pytest.mark.timeout(120)
def test_batchcost_prints_a_row_per_append_size(capsys: pytest.CaptureFixture[str]) -> None:
    assert batchcost.main(["--events", "400", "--sites", "4", "--groups", "1,4"]) == 0
    out = capsys.readouterr().out
    rows = re.findall(r"^\s+(\d+)\s+(\d+)\s+(\d+) us\s+(\d+) us$", out, re.MULTILINE)
    assert [int(r[0]) for r in rows] == [1, 4], out
    for group, per_s, per_event, per_append in rows:
        assert int(per_s) > 0, out
        # A batch's cost per append is its cost per event times its events (rounding aside).
        assert abs(int(per_append) - int(per_event) * int(group)) <= int(group), out
