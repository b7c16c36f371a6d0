"""`python -m loadtest`: every scenario and cost benchmark is listed, and each scenario takes the
options of its settings, with their defaults."""

import pytest

from loadtest.__main__ import main, parser
from loadtest.scenarios.flood import FloodConfig
from loadtest.scenarios.lockdown import LockdownConfig


def test_help_lists_every_scenario_and_cost(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parser().parse_args(["--help"])
    out = capsys.readouterr().out
    for name in ("lockdown", "drill", "flood", "press", "watchers", "foldcost", "batchcost",
                 "rebuild"):
        assert name in out, out


def test_a_scenario_takes_its_settings_as_options_with_their_defaults() -> None:
    args = parser().parse_args(["lockdown", "--press-rate", "2", "--no-notify"])
    assert (args.press_rate, args.notify) == (2.0, False)
    assert (args.background, args.cycle, args.duration) == (500.0, 10, 60.0)
    assert args.sites == LockdownConfig.sites and args.boards == LockdownConfig.boards
    flood = parser().parse_args(["flood"])
    assert (flood.rate, flood.duration, flood.boards) == (FloodConfig.rate, 30.0, 50)
    with pytest.raises(SystemExit):
        parser().parse_args(["flood", "--rate", "0"])  # a rate must be positive


def test_a_cost_benchmark_runs_with_its_own_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["foldcost", "--steps", "1", "--per-step", "5"]) == 0
    assert capsys.readouterr().out.splitlines()[0].split()[:2] == ["notes", "accounted"]
