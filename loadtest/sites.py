"""The bench schools: copies of the demo site, imported with `PUT /v1/sites/{site}` as an admin.

Their alert channels point at the bench's notification sink (or are dropped), since the demo's
own channel URLs name a port where nothing listens, and failing sends are not the normal case.
Each channel posts to `/SITE/CHANNEL` on the sink, so an arrival's path says whose it is.
Each carries the demo's whole roster (859 people), as a real school would.
"""

import asyncio
import time
from dataclasses import dataclass, field

import aiohttp
import msgspec

from command.bootstrap import demo
from command.domain.site import Channel, Site

BOARD_TIMEOUT_S = 60.0


class SiteSetupError(RuntimeError):
    """A bench site could not be imported or its board never appeared."""


@dataclass
class BenchSites:
    ids: list[str]
    rooms: dict[str, list[str]]
    channels: dict[str, list[Channel]] = field(default_factory=dict)
    people: dict[str, dict[str | None, list[str]]] = field(default_factory=dict)  # by room
    notes: list[str] = field(default_factory=list)


def bench_site(template: Site, i: int, channels_url: str | None) -> Site:
    """Copy i of the template; channels to `channels_url`/SITE/NAME, or none when it is None."""
    site_id = f"bench-{i:02d}"
    channels = [] if channels_url is None else [
        msgspec.structs.replace(c, url=f"{channels_url}/{site_id}/{c.name}")
        for c in template.channels]
    return msgspec.structs.replace(template, id=site_id, name=f"Bench School {i:02d}",
                                   channels=channels)


async def _put(http: aiohttp.ClientSession, base: str, token: str, site: Site) -> int:
    async with http.put(f"{base}/v1/sites/{site.id}", data=msgspec.json.encode(site),
                        headers={"Authorization": f"Bearer {token}",
                                 "Content-Type": "application/json"}) as resp:
        await resp.read()
        return resp.status


def quiet_school() -> Site:
    """The demo site with its staff only (40 rooms, 59 people): a school whose boards watch and
    whose import is a third of the demo's, for the many quiet sites of `watchers`."""
    template = demo.build()
    # No buses nor away events: their riders and players are students, whom it has not.
    return msgspec.structs.replace(template, buses=[], away_events=[],
                                   people=[p for p in template.people if p.kind == "staff"])


async def create_sites(http: aiohttp.ClientSession, base: str, admin: str,
                       count: int, channels_url: str | None, template: Site | None = None,
                       first: int = 0) -> BenchSites:
    """`count` copies of `template` (the demo site), numbered from `first`."""
    template = template or demo.build()
    sites = BenchSites(ids=[], rooms={})
    for i in range(first, first + count):
        site = bench_site(template, i, channels_url)
        status = await _put(http, base, admin, site)
        if status != 202:
            raise SiteSetupError(f"PUT /v1/sites/{site.id} answered {status}")
        sites.ids.append(site.id)
        sites.rooms[site.id] = [room.id for room in site.rooms]
        sites.channels[site.id] = list(site.channels)
        by_room: dict[str | None, list[str]] = {}
        for person in site.people:
            by_room.setdefault(person.room, []).append(person.id)
        sites.people[site.id] = by_room
    return sites


class _Board(msgspec.Struct):
    seq: int = 0


_board = msgspec.json.Decoder(_Board)


async def wait_projected(http: aiohttp.ClientSession, base: str, reader: str,
                         targets: dict[str, int], timeout: float = BOARD_TIMEOUT_S) -> bool:
    """Until every site's projected board (`GET …/board`) reaches its target seq; False if not
    within `timeout`. It tells how far the read models trail the live boards."""
    deadline = time.monotonic() + timeout
    waiting = dict(targets)
    while waiting and time.monotonic() < deadline:
        for site, target in list(waiting.items()):
            async with http.get(f"{base}/v1/sites/{site}/board",
                                headers={"Authorization": f"Bearer {reader}"}) as resp:
                raw = await resp.read()
                if resp.status == 200 and _board.decode(raw).seq >= target:
                    del waiting[site]
        if waiting:
            await asyncio.sleep(0.05)
    return not waiting


async def wait_boards(http: aiohttp.ClientSession, base: str, reader: str, ids: list[str],
                      timeout: float = BOARD_TIMEOUT_S) -> None:
    """Until every site's board is projected (`GET …/board` answers 200)."""
    deadline = time.monotonic() + timeout
    waiting = list(ids)
    while waiting:
        if time.monotonic() > deadline:
            raise SiteSetupError(f"no board within {timeout:g} s for {', '.join(waiting)}")
        still = []
        for site in waiting:
            async with http.get(f"{base}/v1/sites/{site}/board",
                                headers={"Authorization": f"Bearer {reader}"}) as resp:
                await resp.read()
                if resp.status != 200:
                    still.append(site)
        waiting = still
        if waiting:
            await asyncio.sleep(0.1)
