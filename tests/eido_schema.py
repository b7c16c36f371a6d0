"""NENA EIDO (STA-021) schema checks shared by the tests: a validator built from one of the
official OpenAPI files, and the registry values those files leave as free text.

No package ships the schemas, so they are read from the folder MUSTER_EIDO_DIR names (the
`eido_dir` fixture skips without it, and .ci/run fails on a skip). Their person, vehicle,
organization and item components `$ref` NENA's NIEM files, which are not in the folder: those
references are stubbed as "any object", and the rest is validated as written.
"""

import functools
import json
from pathlib import Path
from typing import Any

import jsonschema_rs
import yaml

SCHEMAS = ("eido-openapi.yaml", "eido-openapi-sta021.1b.yaml")  # NENA main, published 021.1b
ROOT_TYPE = "#/components/schemas/EmergencyIncidentDataObjectType"
REGISTRIES = "registries-sta021.1b.json"


def normalized(node: Any) -> Any:
    """A schema node with external `$ref`s stubbed and NENA's `minItems: 1,` typo read as 1."""
    if isinstance(node, list):
        return [normalized(item) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and not ref.startswith("#"):
        return {}  # a NIEM component: not in the folder, so any object passes
    fixed = {}
    for key, value in node.items():
        if key in ("minItems", "maxItems") and isinstance(value, str):
            value = int(value.rstrip(","))
        fixed[key] = normalized(value)
    return fixed


@functools.cache
def validator(path: Path, root: str = ROOT_TYPE) -> jsonschema_rs.Draft7Validator:
    """A validator of the schema `root` names in the OpenAPI file at `path`."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    schema = {"$ref": root, "components": normalized(document["components"])}
    return jsonschema_rs.Draft7Validator(schema)


def errors(eido_dir: Path, name: str, document: Any) -> list[str]:
    """What the schema file `name` finds wrong with `document`: none for a valid EIDO."""
    return [str(err) for err in validator(eido_dir / name).iter_errors(document)]


@functools.cache
def registries(eido_dir: Path) -> dict[str, frozenset[str]]:
    """The values each registry field may hold, from the STA-021 registry tables."""
    doc = json.loads((eido_dir / REGISTRIES).read_text(encoding="utf-8"))
    return {r["eidoField"]: frozenset(v["value"] for v in r["values"])
            for r in doc["registries"].values()}


def registry_misses(node: Any, known: dict[str, frozenset[str]]) -> list[str]:
    """Each value of a registry field (anywhere in an EIDO) that its registry does not list."""
    misses: list[str] = []
    if isinstance(node, list):
        for item in node:
            misses += registry_misses(item, known)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key in known:
                values = value if isinstance(value, list) else [value]
                misses += [f"{key}={v}" for v in values if v not in known[key]]
            else:
                misses += registry_misses(value, known)
    return misses
