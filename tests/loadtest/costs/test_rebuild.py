"""The rebuild benchmark in small, against a real `muster up`: the read models `muster rebuild`
makes are the ones the live projector wrote, and the rebuild keeps at least the issue's share of
the raw read's rate loosened tenfold, so a tenfold regression fails.

The full-size run is by hand (`python -m loadtest rebuild`); its numbers are in the issue's note.
"""

import json
from pathlib import Path

import pytest

from loadtest.costs import rebuild

LOOSE = 10  # the bound divided by this


@pytest.mark.timeout(240)
def test_a_small_rebuild_equals_the_live_read_models_and_keeps_its_share_of_the_floor(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = rebuild.main(["--events", "1500", "--sites", "2", "--concurrency", "32",
                         "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0, out
    [path] = tmp_path.glob("rebuild-*.json")
    doc = json.loads(path.read_text())
    assert doc["ok"] and doc["problems"] == [], out
    # 2 site files, 2 drills opened (an event or more each), then 1,500 commands of one event.
    assert doc["events"] >= 1500 + 2 + 2, out
    assert doc["counts"]["boards_rows"] == 2 and doc["counts"]["incidents_rows"] == 2, out
    assert 0 < doc["counts"]["timeline_rows"] <= doc["events"], out
    assert doc["floor_events_per_s"] > 0 and doc["rebuild_events_per_s"] > 0, out
    assert doc["bound"]["value"] >= rebuild.BOUND / LOOSE, out
    assert "rebuild events/s ÷ floor events/s" in out and "result: OK" in out, out


def test_a_rebuilt_read_model_unlike_the_live_one_fails_the_run() -> None:
    bound = rebuild.Bound("rebuild events/s ÷ floor events/s", 0.6, rebuild.BOUND, "",
                          at_least=True)
    report = rebuild.Report(config={}, events=10, floor_events_per_s=2.0,
                            rebuild_events_per_s=1.2, cli_wall_s=1.0, rebuild_s=1.0,
                            floor_s=1.0, rebuild_cpu_s=1.0, floor_cpu_s=0.5, bound=bound,
                            counts={},
                            problems=["timeline: live 10 rows, x, rebuilt 9 rows, y"])
    assert not report.ok
    assert "WRONG: timeline" in report.table() and "FAILED" in report.table()
    assert bound.met and "aim ≥ 50%: met" in report.table()
