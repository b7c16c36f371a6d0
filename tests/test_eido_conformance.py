"""Every EIDO Muster writes (command/domain/eido_out.py) validates against both official NENA
STA-021 schemas and holds only registry values where a registry field is written.

The documents are every version of scripted incidents: a lockdown from press to close, a weapon
call with 911 units en route then on scene at a school with a `[dispatch]` table, a drill, a
cancelled press, and a press of every alert kind. Needs MUSTER_EIDO_DIR (`eido_dir`).
"""

from pathlib import Path
from typing import Any

import pytest
from msgspec.structs import replace

from command.domain import commands as c
from command.domain import eido_out
from command.domain.types import AlertKind
from tests.command.domain.test_eido_out import (
    COMMANDER,
    LINCOLN,
    at,
    closing,
    dispatch,
    events,
    lockdown_script,
    render,
    site,
)
from tests.eido_schema import SCHEMAS, errors, registries, registry_misses

KINDS: tuple[str, ...] = AlertKind.__args__[0].__args__ + AlertKind.__args__[1].__args__  # type: ignore[attr-defined]


def documents() -> dict[str, dict[str, Any]]:
    """Each document by a name saying which incident and version it is."""
    docs: dict[str, dict[str, Any]] = {}
    lockdown = events(*lockdown_script(), *closing("all safe"))
    for n in range(3, len(lockdown) + 1):
        docs[f"lockdown v{n}"] = render(lockdown[:n])
    lincoln = replace(site(), name="Lincoln Middle School", dispatch=LINCOLN)
    weapon = events(kind="armed_intruder", config=lincoln)
    seq = len(weapon)
    units = [{"id": "unit4a12@pd.anytown.example.gov", "name": "4A12", "status": "on_scene"},
             {"id": "unit4a15@pd.anytown.example.gov", "name": "4A15", "status": "en_route",
              "eta": "2025-03-04T09:06:00-05:00"}]
    weapon += [(seq + 1, dispatch(40, units[1], status="ResourcesEnroute")),
               (seq + 2, dispatch(90, *units, status="ResourcesOnscene"))]
    docs["weapon en route"] = render(weapon[:-1], lincoln)
    docs["weapon on scene"] = render(weapon, lincoln)
    docs["drill"] = render(events(drill=True))
    docs["cancelled"] = render(events((c.Cancel(reason="bumped it"), at(5, COMMANDER))))
    for kind in KINDS:
        docs[f"press {kind}"] = render(events(kind=kind))
    return docs


DOCUMENTS = documents()


def test_the_documents_cover_every_alert_kind_and_status() -> None:
    assert set(eido_out.TYPES) == set(KINDS)
    written = {d["incidentComponent"]["incidentTypeInternalCode"] for d in DOCUMENTS.values()}
    assert written == set(KINDS)
    said = {s for d in DOCUMENTS.values()
            for s in d["incidentComponent"]["incidentStatusCommonRegistryText"]}
    assert said == {"Active", "Closed", "Cancelled", "ResourcesEnroute", "ResourcesOnscene"}


@pytest.mark.parametrize("name", SCHEMAS)
@pytest.mark.parametrize("which", sorted(DOCUMENTS))
def test_every_document_validates_against_the_official_schema(eido_dir: Path, name: str,
                                                              which: str) -> None:
    assert errors(eido_dir, name, DOCUMENTS[which]) == []


@pytest.mark.parametrize("which", sorted(DOCUMENTS))
def test_every_registry_field_holds_a_registry_value(eido_dir: Path, which: str) -> None:
    assert registry_misses(DOCUMENTS[which], registries(eido_dir)) == []


def test_the_type_of_every_alert_kind_is_in_the_registry(eido_dir: Path) -> None:
    known = registries(eido_dir)["incidentTypeCommonRegistryText"]
    assert {*eido_out.TYPES.values(), eido_out.SILENT_TYPE} - known == set()
    assert set(eido_out.STAGES) <= registries(eido_dir)["incidentStatusCommonRegistryText"]
