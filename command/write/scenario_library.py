"""The tabletop scenarios Muster ships (command/write/scenarios/*.toml), by name, and the request
that names one given the scenario itself, so the decision sees a whole script either way."""

import functools
from importlib.resources import files

from msgspec.structs import replace

from command.domain import commands as c
from command.domain import scenario
from command.domain.errors import Invalid

FOLDER = "scenarios"


@functools.cache
def shipped() -> dict[str, scenario.Scenario]:
    """Each shipped scenario by its file's name without `.toml`; read once, checked on read."""
    folder = files("command.write").joinpath(FOLDER)
    return {f.name.removesuffix(".toml"): scenario.loads(f.read_bytes(), f"{FOLDER}/{f.name}")
            for f in sorted(folder.iterdir(), key=lambda f: f.name) if f.name.endswith(".toml")}


def resolved(cmd: c.Command) -> c.Command:
    """A StartTabletop naming a shipped scenario, with the scenario in the name's place; any
    other command as it came. An unknown name: 400 naming `$.scenario` and what there is."""
    if not isinstance(cmd, c.StartTabletop) or not isinstance(cmd.scenario, str):
        return cmd
    found = shipped().get(cmd.scenario)
    if found is None:
        names = ", ".join(sorted(shipped())) or "none"
        raise Invalid(f"unknown scenario {cmd.scenario!r}; shipped: {names}", field="$.scenario")
    return replace(cmd, scenario=found)
