"""A replay's site file is the one in force when the incident opened, roster imports included:
a student imported before the press is on the replay board's roster, one imported after it is
not (consumers/replay.py `recorded`)."""

from command.domain import commands as c
from command.domain import events as e
from command.domain.site import Person
from consumers.replay import recorded
from tests.conftest import App, small_site

ADMIN = e.Actor(kind="user", id="it-admin", role="admin")
BEFORE = Person(id="s-7", name="Frances Allen", room="GYM", guardians=["Mr Allen"])
AFTER = Person(id="s-8", name="Jean Sammet", room="GYM")


async def test_the_recording_carries_the_roster_as_it_was_at_the_press(app: App) -> None:
    intake = app.muster.intake
    assert intake is not None
    await intake.execute("test-high", c.ImportRoster(people=[*small_site().people, BEFORE]),
                         ADMIN)
    accepted, _ = await intake.execute("test-high", c.RaiseAlert(kind="lockdown", room="GYM"),
                                       e.Actor(kind="device", id="b-1", role="device"))
    boss = e.Actor(kind="user", id="principal", role="commander")
    await intake.execute("test-high", c.Cancel(reason="practice"), boss,
                         incident_id=accepted.incident_id, commander=True)  # imports wait
    await intake.execute("test-high", c.ImportRoster(people=[*small_site().people, BEFORE,
                                                             AFTER]), ADMIN)
    recording = await recorded(app.log, accepted.incident_id or "")
    assert recording.config is not None
    ids = [p.id for p in recording.config.data.people]
    assert "s-7" in ids and "s-8" not in ids
    assert recording.config.data.people[-1] == BEFORE
