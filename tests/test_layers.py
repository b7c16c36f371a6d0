"""The layers (README "Layout") hold: import-linter checks the contracts in pyproject.toml over
the whole tree, and the same contracts are shown to catch each kind of wrong import."""

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import tomli_w

ROOT = Path(__file__).resolve().parent.parent
CONTRACTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
PACKAGES = ("command", "command/domain", "command/infra", "command/write", "command/bootstrap",
            "consumers")


def lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    return subprocess.run([tool, "--no-cache"], cwd=cwd, capture_output=True, text=True,
                          env={"PYTHONPATH": str(cwd), "PATH": str(Path(sys.executable).parent)})


def test_the_tree_keeps_every_layer_contract() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(CONTRACTS['contracts'])} kept, 0 broken" in result.stdout


@pytest.mark.parametrize(("module", "line", "broken"), [
    ("command/domain/fold.py", "import asyncpg", "The domain is pure"),
    ("command/domain/fold.py", "from command.infra import db", "Layers"),
    ("consumers/board.py", "from command.write import routes", "Layers"),
    ("command/write/routes.py", "import consumers.board", "Layers"),
    ("command/infra/web.py", "from command.bootstrap import cli", "Layers"),
], ids=["domain-io", "domain-up", "read-to-write", "write-to-read", "infra-up"])
def test_each_wrong_import_breaks_a_contract(tmp_path: Path, module: str, line: str,
                                             broken: str) -> None:
    """A tree of empty modules in the same layers, with one wrong import added."""
    for package in PACKAGES:
        (tmp_path / package).mkdir(parents=True, exist_ok=True)
        (tmp_path / package / "__init__.py").write_text("")
    for leaf in ("command/infra/db.py", "command/infra/web.py", "command/write/routes.py",
                 "command/bootstrap/cli.py", "consumers/board.py", "command/domain/fold.py"):
        (tmp_path / leaf).write_text("")
    (tmp_path / "pyproject.toml").write_text(tomli_w.dumps({"tool": {"importlinter": CONTRACTS}}))
    assert lint_imports(tmp_path).returncode == 0, "the empty tree must keep every contract"
    (tmp_path / module).write_text(line + "\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert f"{broken}" in result.stdout and "BROKEN" in result.stdout, result.stdout
