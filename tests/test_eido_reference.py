"""NENA EIDO (STA-021) reference: the schemas dispatch updates will be checked against.

No package ships them, so they are read from the folder MUSTER_EIDO_DIR names (the `eido_dir`
fixture skips without it, and .ci/run fails on a skip). The schemas are OpenAPI 3.0 YAML whose
person, vehicle, organization and item components `$ref` NENA's NIEM files, which are not in the
folder: those references are stubbed as "any object", and the rest is validated as written.
"""

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tests.eido_schema import SCHEMAS, registries, registry_misses, validator

SAMPLE = "synthetic-school-incident.json"  # a school weapon call: one unit on scene, one en route


def _sample(eido_dir: Path) -> dict[str, Any]:
    return json.loads((eido_dir / SAMPLE).read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", SCHEMAS)
def test_the_school_sample_is_a_valid_eido(eido_dir: Path, name: str) -> None:
    errors = [str(err) for err in validator(eido_dir / name).iter_errors(_sample(eido_dir))]
    assert errors == []


@pytest.mark.parametrize("name", SCHEMAS)
def test_an_eido_without_its_required_parts_is_refused(eido_dir: Path, name: str) -> None:
    """Given the valid sample, when a part the standard requires is missing or misshapen,
    then the schema refuses it: the validation above is not vacuous."""
    schema = validator(eido_dir / name)
    for required in ("eidoVersion", "agencyComponent", "$id"):
        broken = _sample(eido_dir)
        del broken[required]
        assert not schema.is_valid(broken), required
    listed = _sample(eido_dir)  # incidentComponent is one object (0..1), never an array
    listed["incidentComponent"] = [copy.deepcopy(listed["incidentComponent"])]
    assert not schema.is_valid(listed)


def test_the_sample_uses_only_registry_values(eido_dir: Path) -> None:
    """The schemas leave registry fields free text; dispatch maps unit and incident statuses
    from them, so the sample holds only values the STA-021 registries list, and a made-up
    status is caught."""
    known = registries(eido_dir)
    sample = _sample(eido_dir)
    assert registry_misses(sample, known) == []
    unit = sample["emergencyResourceComponent"][0]
    unit["secondaryUnitStatusRegistryText"] = ["Arriving"]  # not a registry value
    assert registry_misses(sample, known) == ["secondaryUnitStatusRegistryText=Arriving"]
