"""NENA EIDO (STA-021) reference: the schemas dispatch updates will be checked against.

No package ships them, so they are read from the folder MUSTER_EIDO_DIR names (the `eido_dir`
fixture skips without it, and .ci/run fails on a skip). The schemas are OpenAPI 3.0 YAML whose
person, vehicle, organization and item components `$ref` NENA's NIEM files, which are not in the
folder: those references are stubbed as "any object", and the rest is validated as written.
"""

import copy
import functools
import json
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import yaml

SCHEMAS = ("eido-openapi.yaml", "eido-openapi-sta021.1b.yaml")  # NENA main, published 021.1b
ROOT_TYPE = "#/components/schemas/EmergencyIncidentDataObjectType"
SAMPLE = "synthetic-school-incident.json"  # a school weapon call: one unit on scene, one en route


def _normalized(node: Any) -> Any:
    """A schema node with external `$ref`s stubbed and NENA's `minItems: 1,` typo read as 1."""
    if isinstance(node, list):
        return [_normalized(item) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and not ref.startswith("#"):
        return {}  # a NIEM component: not in the folder, so any object passes
    fixed = {}
    for key, value in node.items():
        if key in ("minItems", "maxItems") and isinstance(value, str):
            value = int(value.rstrip(","))
        fixed[key] = _normalized(value)
    return fixed


@functools.cache
def _validator(path: Path) -> jsonschema_rs.Draft7Validator:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    schema = {"$ref": ROOT_TYPE, "components": _normalized(document["components"])}
    return jsonschema_rs.Draft7Validator(schema)


def _sample(eido_dir: Path) -> dict[str, Any]:
    return json.loads((eido_dir / SAMPLE).read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", SCHEMAS)
def test_the_school_sample_is_a_valid_eido(eido_dir: Path, name: str) -> None:
    errors = [str(err) for err in _validator(eido_dir / name).iter_errors(_sample(eido_dir))]
    assert errors == []


@pytest.mark.parametrize("name", SCHEMAS)
def test_an_eido_without_its_required_parts_is_refused(eido_dir: Path, name: str) -> None:
    """Given the valid sample, when a part the standard requires is missing or misshapen,
    then the schema refuses it: the validation above is not vacuous."""
    validator = _validator(eido_dir / name)
    for required in ("eidoVersion", "agencyComponent", "$id"):
        broken = _sample(eido_dir)
        del broken[required]
        assert not validator.is_valid(broken), required
    listed = _sample(eido_dir)  # incidentComponent is one object (0..1), never an array
    listed["incidentComponent"] = [copy.deepcopy(listed["incidentComponent"])]
    assert not validator.is_valid(listed)


def _registry_misses(node: Any, registries: dict[str, set[str]]) -> list[str]:
    """Each value of a registry field (anywhere in an EIDO) that its registry does not list."""
    misses: list[str] = []
    if isinstance(node, list):
        for item in node:
            misses += _registry_misses(item, registries)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key in registries:
                values = value if isinstance(value, list) else [value]
                misses += [f"{key}={v}" for v in values if v not in registries[key]]
            else:
                misses += _registry_misses(value, registries)
    return misses


def test_the_sample_uses_only_registry_values(eido_dir: Path) -> None:
    """The schemas leave registry fields free text; dispatch maps unit and incident statuses
    from them, so the sample holds only values the STA-021 registries list, and a made-up
    status is caught."""
    doc = json.loads((eido_dir / "registries-sta021.1b.json").read_text(encoding="utf-8"))
    registries = {r["eidoField"]: {v["value"] for v in r["values"]}
                  for r in doc["registries"].values()}
    sample = _sample(eido_dir)
    assert _registry_misses(sample, registries) == []
    unit = sample["emergencyResourceComponent"][0]
    unit["secondaryUnitStatusRegistryText"] = ["Arriving"]  # not a registry value
    assert _registry_misses(sample, registries) == ["secondaryUnitStatusRegistryText=Arriving"]
