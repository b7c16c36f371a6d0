"""SRP vocabulary and the default hazard → action policy (CONTRACT §2, DOMAIN.md)."""

from command.domain.types import AlertKind, SrpAction

SRP_ACTIONS: tuple[SrpAction, ...] = ("hold", "secure", "lockdown", "evacuate", "shelter")

DEFAULT_POLICY: dict[str, SrpAction] = {
    "armed_intruder": "lockdown",
    "police_activity": "secure",
    "medical": "hold",
    "fight": "hold",
    "upset_parent": "secure",
    "transportation": "hold",
    "other": "hold",
    "fire": "evacuate",
    "bomb_threat": "evacuate",
    "weather": "shelter",
    "hazmat": "shelter",
}

# Severity rises hold < secure < lockdown; evacuate and shelter are as grave as a lockdown
# because they move everyone, so a press never quietly turns one into a hold.
SEVERITY: dict[SrpAction, int] = {
    "hold": 1, "secure": 2, "lockdown": 3, "evacuate": 3, "shelter": 3,
}
# The word a board, a channel or CAP uses, so a Secure never looks like a Lockdown.
SEVERITY_LABEL: dict[SrpAction, str] = {
    "hold": "minor", "secure": "moderate", "lockdown": "extreme",
    "evacuate": "severe", "shelter": "severe",
}

# The SRP's templates: what each action means, never a message (`directive` writes those).
DIRECTIVES: dict[SrpAction, str] = {
    "hold": "Hold! In your room or area. Clear the halls.",
    "secure": "Secure! Get inside. Lock outside doors.",
    "lockdown": "Lockdown! Locks, lights, out of sight.",
    "evacuate": "Evacuate! To a location.",
    "shelter": "Shelter! For a hazard, using a safety strategy.",
}


NOT_GIVEN = "not yet given"


def directive(action: SrpAction, evacuate_to: str | None = None, hazard: str | None = None,
              strategy: str | None = None) -> str:
    """The words people hear: the place to go, or the hazard and the strategy, never the
    template; what is not known yet is said plainly."""
    if action == "evacuate":
        return f"Evacuate! To {evacuate_to}." if evacuate_to else f"Evacuate! Place {NOT_GIVEN}."
    if action == "shelter":
        if hazard and strategy:
            return f"Shelter! For {hazard}, using {strategy}."
        if hazard:
            return f"Shelter! For {hazard}; safety strategy {NOT_GIVEN}."
        if strategy:
            return f"Shelter! Hazard {NOT_GIVEN}; using {strategy}."
        return f"Shelter! Hazard and safety strategy {NOT_GIVEN}."
    return DIRECTIVES[action]


def action_for(kind: AlertKind, overrides: dict[str, SrpAction]) -> SrpAction:
    """The SRP action a press of `kind` declares at once: itself, the site's policy, or ours."""
    if kind in SEVERITY:
        return kind  # type: ignore[return-value]
    return overrides.get(kind) or DEFAULT_POLICY[kind]


def escalates(current: SrpAction | None, new: SrpAction) -> bool:
    """Whether a press for `new` raises the protocol in force: only a strictly graver action."""
    return current is None or SEVERITY[new] > SEVERITY[current]


def downgrades(current: SrpAction | None, new: SrpAction) -> bool:
    """Whether a declaration of `new` would lower the protocol in force."""
    return current is not None and SEVERITY[new] < SEVERITY[current]
