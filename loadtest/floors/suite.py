"""The floors every figure is divided by, measured on the same servers in the same run.

Twice each: once on the quiet stack before the load ("quiet": what the parts cost alone) and
once during it at a low rate ("under load": the same parts on a machine as busy as Muster's),
so a ratio can be read against either. Raw JetStream publishes go to the bench stream of
`loadtest.floors.raw_publish` on Muster's own nats-server; the WebSocket echo is an aiohttp echo
server (the library of Muster's gateway) in a process of its own, read with the same client as
the boards; the raw HTTP intake (`loadtest.floors.raw_intake`) is aiohttp appending each request
to that stream, in a process of its own, sent to with the generator's own HTTP client and pacer.
"""

import asyncio
import contextlib

import nats
from nats.aio.client import Client

from loadtest.clients import commands as cmd
from loadtest.clients.commands import Answer, Sender
from loadtest.clients.pacer import Sample
from loadtest.floors import echo, raw_publish
from loadtest.floors.raw_intake import RawIntake

UNDER_LOAD_RATE = 20.0  # a light probe: it must not be part of the load it measures


def points(samples: list[Sample[object]]) -> list[tuple[float, float]]:
    """(started at, latency) of each operation that succeeded."""
    return [(s.start, s.latency) for s in samples if s.value is not None]


def only_accepted(samples: list[Sample[Answer]]) -> list[Sample[object]]:
    """A raw intake's answer other than 202 is a failure, as a raw publish's error is."""
    for s in samples:
        if s.value is not None and s.value.status != 202:
            s.error, s.value = f"HTTP {s.value.status}", None
    return samples  # type: ignore[return-value]


class Floors:
    """Owns the NATS connection, the echo server and the raw intake for the run's floors."""

    def __init__(self, nats_url: str) -> None:
        self.nats_url = nats_url
        self.nc: Client | None = None
        self.echo = echo.EchoServer()
        self.intake = RawIntake(nats_url)
        self.raw: Sender | None = None  # the generator's HTTP client, pointed at the raw intake
        self.device: Sender | None = None  # the presses' own client, pointed at the raw intake
        self.series: dict[str, list[Sample[object]]] = {}
        self._loaded: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self.nc = await nats.connect(self.nats_url, name="muster-bench-floors")
        await raw_publish.ensure_stream(self.nc)
        await asyncio.to_thread(self.echo.start)
        await asyncio.to_thread(self.intake.start)

    def send_with(self, sender: Sender, presser: Sender) -> None:
        """The HTTP clients to time the raw intake with: the generator's (for a ceiling on a
        scenario's own plan) and the presses' (a press to the floor goes as a press to Muster)."""
        self.raw = Sender(sender.http, self.intake.url, dict.fromkeys(sender.headers, ""))
        self.device = Sender(presser.http, self.intake.url, dict.fromkeys(presser.headers, ""))

    async def _raw_presses(self, count: int, rate: float, concurrency: int,
                           subjects: int) -> list[Sample[object]]:
        assert self.device is not None
        plan = [cmd.press(f"bench-{i % subjects:02d}", "lockdown", "B-112") for i in range(count)]
        return only_accepted(await self.device.paced(plan, rate, concurrency))

    async def intake_ceiling(self, plan: list[cmd.Command], rate: float,
                             concurrency: int) -> list[Sample[object]]:
        """`plan` sent to the raw intake as a scenario sends it to Muster: the most a bare
        intake of aiohttp and JetStream accepts here, with this generator beside it."""
        assert self.raw is not None
        samples = only_accepted(await self.raw.paced(plan, rate, concurrency))
        self.series["raw HTTP intake (quiet, at the flood's rate)"] = samples
        return samples

    async def quiet(self, count: int, rate: float, concurrency: int, subjects: int) -> None:
        assert self.nc is not None
        self.series["raw publish (quiet)"] = await raw_publish.publish(
            self.nc, count, rate, concurrency, subjects)  # type: ignore[assignment]
        self.series["raw 3-message batch (quiet)"] = await raw_publish.batch(
            self.nc, count, rate, concurrency, subjects)  # type: ignore[assignment]
        self.series["raw WebSocket echo (quiet)"] = await echo.measure(
            self.echo.url, count, rate, clients=4)  # type: ignore[assignment]
        if self.device is not None:
            self.series["raw HTTP intake (quiet)"] = await self._raw_presses(
                count, rate, concurrency, subjects)

    def under_load(self, seconds: float, subjects: int) -> None:
        """Start the light probes now; they run about `seconds` and end by themselves."""
        assert self.nc is not None
        count = max(1, int(seconds * UNDER_LOAD_RATE))

        async def publishes() -> None:
            assert self.nc is not None
            self.series["raw publish (under load)"] = await raw_publish.publish(
                self.nc, count, UNDER_LOAD_RATE, 8, subjects)  # type: ignore[assignment]

        async def echoes() -> None:
            self.series["raw WebSocket echo (under load)"] = await echo.measure(
                self.echo.url, count, UNDER_LOAD_RATE, clients=1)  # type: ignore[assignment]

        async def intakes() -> None:
            self.series["raw HTTP intake (under load)"] = await self._raw_presses(
                count, UNDER_LOAD_RATE, 8, subjects)

        self._loaded = [asyncio.create_task(publishes()), asyncio.create_task(echoes())]
        if self.device is not None:
            self._loaded.append(asyncio.create_task(intakes()))

    async def join(self) -> None:
        await asyncio.gather(*self._loaded)

    async def stop(self) -> None:
        for task in self._loaded:
            task.cancel()
        await asyncio.gather(*self._loaded, return_exceptions=True)
        if self.nc is not None:
            with contextlib.suppress(Exception):
                await self.nc.jetstream(timeout=5).delete_stream(raw_publish.STREAM)
            await self.nc.close()
        await asyncio.to_thread(self.echo.stop)
        await asyncio.to_thread(self.intake.stop)

    def errors(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for name, samples in self.series.items():
            failed = sum(s.value is None for s in samples)
            if failed:
                out[f"{name} failed"] = failed
        return out
