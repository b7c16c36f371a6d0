"""The fold-cost benchmark runs and prints a row per incident size, the sizes growing."""

import pytest

from loadtest.costs import fold


def test_foldcost_prints_a_row_per_size(capsys: pytest.CaptureFixture[str]) -> None:
    assert fold.main(["--steps", "2", "--per-step", "20"]) == 0
    header, *rows = capsys.readouterr().out.strip().splitlines()
    assert header.split()[:2] == ["notes", "accounted"]
    sizes = [(int(r.split()[0]), int(r.split()[1])) for r in rows]
    assert sizes == [(20, 20), (40, 40)]
    assert all(float(r.split()[2]) > 0 and float(r.split()[3]) > 0 for r in rows)
