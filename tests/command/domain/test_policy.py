"""The SRP vocabulary and the hazard → action policy (CONTRACT §2, DOMAIN.md)."""

import itertools
from typing import get_args

import pytest

from command.domain.policy import (
    DEFAULT_POLICY,
    DIRECTIVES,
    SEVERITY,
    SEVERITY_LABEL,
    SRP_ACTIONS,
    action_for,
    downgrades,
    escalates,
)
from command.domain.types import Hazard, SrpAction


@pytest.mark.parametrize("kind,action", [
    ("armed_intruder", "lockdown"), ("police_activity", "secure"), ("medical", "hold"),
    ("fire", "evacuate"), ("bomb_threat", "evacuate"), ("weather", "shelter"),
    ("hazmat", "shelter")])
def test_contract_defaults(kind: str, action: str) -> None:
    assert action_for(kind, {}) == action  # type: ignore[arg-type]


def test_every_hazard_has_a_default_action() -> None:
    assert set(DEFAULT_POLICY) == set(get_args(Hazard))
    assert set(DEFAULT_POLICY.values()) <= set(SRP_ACTIONS)


@pytest.mark.parametrize("action", SRP_ACTIONS)
def test_an_srp_action_declares_itself(action: SrpAction) -> None:
    assert action_for(action, {}) == action
    assert action_for(action, {"medical": "lockdown"}) == action


def test_site_policy_overrides_only_the_hazards_it_names() -> None:
    overrides: dict[str, SrpAction] = {"upset_parent": "hold", "medical": "secure"}
    assert action_for("upset_parent", overrides) == "hold"
    assert action_for("medical", overrides) == "secure"
    assert action_for("fire", overrides) == "evacuate"


def test_severity_rises_hold_secure_lockdown() -> None:
    assert SEVERITY["hold"] < SEVERITY["secure"] < SEVERITY["lockdown"]
    assert set(SEVERITY) == set(SRP_ACTIONS) == set(DIRECTIVES) == set(SEVERITY_LABEL)


def test_a_secure_never_looks_like_a_lockdown() -> None:
    assert SEVERITY_LABEL["secure"] != SEVERITY_LABEL["lockdown"]
    assert SEVERITY_LABEL["hold"] != SEVERITY_LABEL["secure"]
    assert DIRECTIVES["secure"].startswith("Secure!")
    assert DIRECTIVES["lockdown"].startswith("Lockdown!")


@pytest.mark.parametrize("new", SRP_ACTIONS)
def test_anything_escalates_from_no_protocol(new: SrpAction) -> None:
    assert escalates(None, new)
    assert not downgrades(None, new)


@pytest.mark.parametrize("current,new", list(itertools.product(SRP_ACTIONS, SRP_ACTIONS)))
def test_escalation_is_strictly_graver_and_downgrade_strictly_lesser(
        current: SrpAction, new: SrpAction) -> None:
    assert escalates(current, new) == (SEVERITY[new] > SEVERITY[current])
    assert downgrades(current, new) == (SEVERITY[new] < SEVERITY[current])
    assert not (escalates(current, new) and downgrades(current, new))


@pytest.mark.parametrize("new", ["hold", "secure"])
def test_nothing_lesser_escalates_a_lockdown(new: SrpAction) -> None:
    assert not escalates("lockdown", new)
    assert downgrades("lockdown", new)


def test_escalation_chain() -> None:
    assert escalates("hold", "secure") and escalates("secure", "lockdown")
    assert escalates("hold", "lockdown")
    assert not escalates("lockdown", "lockdown")
