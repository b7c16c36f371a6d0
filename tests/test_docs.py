"""The documentation stands on its own: every relative link in README.md and docs/*.md leads to
a file of the repo (and a heading there, for `#anchors`), none leads outside it (reference
material beside a checkout is not in a fresh clone), the committed OpenAPI
document is the one the code builds, and the event and site-file references name every type
and field the code has."""

import json
import re
from pathlib import Path

import msgspec
import pytest

from command.bootstrap import openapi
from command.domain import events as e
from command.domain import site as site_file

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"!?\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$", re.M)
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)  # https:, mailto:, ...


def links(text: str) -> list[str]:
    """The link targets of a Markdown text, outside code blocks and code spans."""
    prose = CODE.sub("", FENCE.sub("", text))
    return LINK.findall(prose) + REFERENCE.findall(prose)


def anchors(text: str) -> set[str]:
    """GitHub's anchors for a Markdown text's headings."""
    found = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", FENCE.sub("", text), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        found.add(slug)
    return found


def broken(doc: Path, text: str | None = None) -> list[str]:
    """Each relative link of `doc` (or of `text` read as if at `doc`) that leads nowhere in the
    repo, or out of it."""
    problems = []
    for target in links(doc.read_text(encoding="utf-8") if text is None else text):
        if EXTERNAL.match(target):
            continue
        path, _, anchor = target.partition("#")
        dest = (doc.parent / path).resolve() if path else doc
        if path.startswith("/") or not dest.is_relative_to(ROOT):
            problems.append(f"{target}: outside the repo")
        elif not dest.exists():
            problems.append(f"{target}: no such file in the repo")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest.read_text("utf-8")):
            problems.append(f"{target}: no such heading")
    return problems


def test_the_link_reader_finds_links_and_not_code() -> None:
    text = ("See [api](docs/api.md#auth) and <https://x.org>.\n"
            "```\n[not](a/link.md)\n```\n`[nor](this.md)` ![img](docs/x.png)\n[r]: docs/y.md\n")
    assert links(text) == ["docs/api.md#auth", "docs/x.png", "docs/y.md"]


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_leads_to_a_file_of_the_repo(doc: Path) -> None:
    assert broken(doc) == []


def test_links_out_of_the_repo_or_to_nothing_are_caught() -> None:
    text = ("[c](../../beside/CONTRACT.md) [w](/work/beside/eido/README.md) [s](../../beside/) "
            "[g](api.md#nowhere) [n](nothing.md) [ok](api.md) [top](../README.md#muster)")
    assert len(broken(ROOT / "docs" / "probe.md", text)) == 5


def test_the_readme_links_each_doc() -> None:
    linked = {target.partition("#")[0] for target in links((ROOT / "README.md").read_text())}
    assert {f"docs/{p.name}" for p in DOCS[1:]} | {"docs/openapi.json"} <= linked


def test_docs_openapi_json_is_the_document_the_code_builds() -> None:
    """Regenerate with: python -m command.bootstrap.openapi > docs/openapi.json"""
    committed = json.loads((ROOT / "docs" / "openapi.json").read_text(encoding="utf-8"))
    assert committed == json.loads(msgspec.json.encode(openapi.document()))


def test_the_event_reference_names_every_event_type() -> None:
    text = (ROOT / "docs" / "events.md").read_text(encoding="utf-8")
    tags = [str(cls.__struct_config__.tag) for cls in e.EVENT_TYPES]
    missing = [tag for tag in tags if not re.search(rf"^#+ .*\b{tag}\b", text, re.M)]
    assert missing == []


def test_the_site_file_reference_names_every_field() -> None:
    text = (ROOT / "docs" / "site-file.md").read_text(encoding="utf-8")
    tables = [cls for cls in vars(site_file).values()
              if isinstance(cls, type) and issubclass(cls, site_file.Base)]
    missing = [f"{cls.__name__}.{name}" for cls in tables for name in cls.__struct_fields__
               if f"`{name}`" not in text]
    assert missing == []


def test_the_site_file_example_imports() -> None:
    """The worked example is a site file the code accepts, with every table it explains."""
    text = (ROOT / "docs" / "site-file.md").read_text(encoding="utf-8")
    example = re.search(r"^## A worked example$.*?^```toml\n(.*?)^```", text, re.S | re.M)
    assert example is not None
    site = site_file.loads(example[1])
    assert site.rooms and site.people and site.channels and site.evacuation_sites
    assert site.directives and site.policy and site.responder_packet.contacts
