"""Commands as the load generator sends them: one HTTP request each, with the role's token.

A `Command` is planned ahead (so a run is reproducible from its seed) and timed by the open-loop
pacer; its `Answer` keeps what the 202 said, so board deliveries can be matched by `seq`.
"""

import uuid
from collections.abc import Awaitable, Callable
from typing import NamedTuple

import aiohttp
import msgspec

from loadtest.clients.pacer import Sample, open_loop

DEADLINE_S = 30.0


class Command(NamedTuple):
    """What to send: `kind` names it in the tables ("press", "room_status", …)."""

    kind: str
    site: str
    path: str
    body: dict[str, object]
    role: str


class Answer(NamedTuple):
    status: int
    seq: int
    incident_id: str | None


class _Accepted(msgspec.Struct):
    seq: int
    incident_id: str | None = None


_accepted = msgspec.json.Decoder(_Accepted)


class Sender:
    """Sends commands over one aiohttp session with the tokens of each role."""

    def __init__(self, http: aiohttp.ClientSession, base: str, tokens: dict[str, str]) -> None:
        self.http = http
        self.base = base
        self.headers = {role: {"Authorization": f"Bearer {token}",
                               "Content-Type": "application/json"}
                        for role, token in tokens.items()}

    async def send(self, command: Command) -> Answer:
        body = msgspec.json.encode({**command.body, "client_event_id": str(uuid.uuid4())})
        async with self.http.post(self.base + command.path, data=body,
                                  headers=self.headers[command.role]) as resp:
            raw = await resp.read()
            if resp.status != 202:
                return Answer(resp.status, 0, None)
            accepted = _accepted.decode(raw)
            return Answer(202, accepted.seq, accepted.incident_id)

    async def must(self, command: Command) -> Answer:
        """A set-up command: anything but a 202 stops the run with the reason."""
        answer = await self.send(command)
        if answer.status != 202:
            raise RuntimeError(f"{command.kind} at {command.site} answered {answer.status}")
        return answer

    async def timed(self, command: Command) -> Sample[Answer]:
        """One command now, timed like a paced one."""
        return (await open_loop(1, 1.0, 1, lambda _: self.send(command), DEADLINE_S))[0]

    def runner(self, commands: list[Command]) -> Callable[[int], Awaitable[Answer]]:
        return lambda i: self.send(commands[i])

    async def paced(self, commands: list[Command], rate: float,
                    concurrency: int) -> list[Sample[Answer]]:
        """Open loop: command i is due at t0 + i/rate, whatever the others are doing."""
        return await open_loop(len(commands), rate, concurrency, self.runner(commands),
                               DEADLINE_S)


def accepted(sample: Sample[Answer]) -> bool:
    return sample.value is not None and sample.value.status == 202


# --- the commands themselves, as the contract names them (§2) -------------------------------

def press(site: str, kind: str, room: str) -> Command:
    return Command("press", site, f"/v1/sites/{site}/alerts", {"kind": kind, "room": room},
                   "device")


def drill(site: str, scenario: str = "lockdown") -> Command:
    return Command("drill", site, f"/v1/sites/{site}/drills", {"scenario": scenario},
                   "commander")


def room_status(site: str, incident: str, room: str, status: str) -> Command:
    return Command("room_status", site, f"/v1/incidents/{incident}/rooms/{room}/status",
                   {"status": status}, "staff")


def account(site: str, incident: str, people: list[str], status: str) -> Command:
    return Command("accountability", site, f"/v1/incidents/{incident}/accountability",
                   {"entries": [{"person_id": p, "status": status} for p in people]}, "staff")


def note(site: str, incident: str, text: str) -> Command:
    return Command("note", site, f"/v1/incidents/{incident}/notes", {"text": text}, "staff")


def all_clear(site: str, incident: str) -> Command:
    return Command("all_clear", site, f"/v1/incidents/{incident}/all-clear", {}, "commander")


def close(site: str, incident: str) -> Command:
    return Command("close", site, f"/v1/incidents/{incident}/close", {}, "commander")
