"""Site files into the stream, and the demo's welcome: demo-high imported, one token per role.

`muster up --demo`, `muster site import` and the tests import through here, so a file already
imported as it is writes nothing, whoever imports it.
"""

import secrets

import asyncpg

from command.bootstrap.demo import DEMO_PATH
from command.domain import commands as c
from command.domain import site as site_file
from command.domain.events import SYSTEM, Actor
from command.infra import auth
from command.write.answers import Accepted
from command.write.intake import Intake

DEMO_ROLES = ("device", "staff", "responder", "commander", "dispatch", "admin")


async def import_site(intake: Intake, doc: site_file.Site, actor: Actor = SYSTEM,
                      ) -> Accepted | None:
    """Import `doc` through intake; None when the stream already holds the same file."""
    if intake.state(doc.id).site == doc:
        return None
    accepted, _ = await intake.execute(doc.id, c.ConfigureSite(site=doc), actor)
    return accepted


async def demo(intake: Intake, pool: asyncpg.Pool) -> dict[str, str]:
    """Import demo-high and make one token per role, printed for the newcomer."""
    doc = site_file.load(DEMO_PATH)
    await import_site(intake, doc)
    tokens = {}
    for role in DEMO_ROLES:
        # A second --demo prints new tokens: names are unique per site, so each gets its own
        secret, _ = await auth.create(pool, role, doc.id,
                                      name=f"demo-{role}-{secrets.token_hex(2)}")
        tokens[role] = secret
    return tokens
