"""The desk page's name folding (`consumers/static/desk_forms.js` `folded`, `among`), run in
Node: two written names are the same adult in the page exactly when `command/domain/names.py`
says so on the server, so the desk warns of a restricted adult the server will refuse (ß is ss,
a final sigma is a sigma, compatibility letters and runs of spaces fold away)."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from command.domain import names

STATIC = Path(__file__).resolve().parents[3] / "consumers" / "static"
PAIRS = [("Strauß", "STRAUSS"), ("Anne  Byron", " ANNE BYRON "), ("ΟΔΥΣΣΕΥΣ", "οδυσσευσ"),
         ("ﬁona Ng", "FIONA NG"), ("\uff24\uff41\uff4e\uff41 Moreau", "dana moreau"),
         ("Mark Jones", "Marc Jones"), ("Straus", "Strauß"), ("İlkay", "ilkay")]


def folded_in_node(tmp_path: Path, pairs: list[tuple[str, str]]) -> list[bool]:
    """Whether the page's `among` finds each pair's first name among [second], in Node."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    for name in ("desk_forms.js", "dom.js"):
        shutil.copy(STATIC / name, tmp_path / name)
    (tmp_path / "package.json").write_text('{"type": "module"}')
    script = ("import { among } from './desk_forms.js';\n"
              f"const pairs = {json.dumps(pairs)};\n"
              "console.log(JSON.stringify(pairs.map(([a, b]) => among(a, [b]))));\n")
    (tmp_path / "run.js").write_text(script, encoding="utf-8")
    out = subprocess.run([node, "run.js"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=30, check=True)
    return list(json.loads(out.stdout))


def test_strauss_folds_as_on_the_server(tmp_path: Path) -> None:
    assert folded_in_node(tmp_path, [("Strauß", "STRAUSS")]) == [True]
    assert names.same("Strauß", "STRAUSS")


def test_the_page_and_the_server_agree_on_every_pair(tmp_path: Path) -> None:
    page = folded_in_node(tmp_path, PAIRS)
    server = [names.same(a, b) for a, b in PAIRS]
    assert page == server, list(zip(PAIRS, page, server, strict=True))
