"""Background traffic: what a busy district writes while nothing is on fire.

Each quiet site runs a drill incident (so nothing it writes can page a live channel) and its
staff report rooms, account for people and add notes, spread at random over its rooms and roster.
Every command is one event, so commands per second are events per second.
"""

import random

from loadtest.clients import commands as cmd
from loadtest.clients.commands import Command
from loadtest.sites import BenchSites

ROOM_STATUSES = ("secured", "clear")
PERSON_STATUSES = ("accounted", "absent")


def roster(sites: BenchSites, site: str) -> list[str]:
    return [p for people in sites.people[site].values() for p in people]


def background(count: int, incidents: dict[str, str], sites: BenchSites,
               seed: int) -> list[Command]:
    """`count` commands round robin over the sites of `incidents` (site → drill incident)."""
    rng = random.Random(seed)
    order = sorted(incidents)
    people = {site: roster(sites, site) for site in order}
    out = []
    for i in range(count):
        site = order[i % len(order)]
        incident = incidents[site]
        draw = rng.random()
        if draw < 0.5:
            out.append(cmd.room_status(site, incident, rng.choice(sites.rooms[site]),
                                       rng.choice(ROOM_STATUSES)))
        elif draw < 0.8:
            chosen = rng.sample(people[site], rng.randint(1, 5))
            out.append(cmd.account(site, incident, chosen, rng.choice(PERSON_STATUSES)))
        else:
            out.append(cmd.note(site, incident, f"background note {i}: hallway check done"))
    return out


def drill_day(sites: BenchSites, incidents: dict[str, str], seed: int) -> list[Command]:
    """A whole drill's reports, shuffled across sites: every room once, every person once
    (one accountability command per room's class list, one more for people with no room)."""
    rng = random.Random(seed)
    out = []
    for site, incident in incidents.items():
        for room in sites.rooms[site]:
            out.append(cmd.room_status(site, incident, room, "secured"))
        for people in sites.people[site].values():
            for start in range(0, len(people), 50):  # a long list goes in pages, as a tablet would
                out.append(cmd.account(site, incident, people[start:start + 50], "accounted"))
    rng.shuffle(out)
    return out
