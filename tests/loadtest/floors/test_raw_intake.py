"""The raw HTTP intake floor: a real server process appending to a real JetStream."""

import aiohttp
import nats
import pytest

from loadtest.clients import commands as cmd
from loadtest.clients.commands import Sender, accepted
from loadtest.floors import raw_publish
from loadtest.floors.raw_intake import RawIntake
from loadtest.floors.suite import only_accepted


@pytest.mark.timeout(60)
async def test_every_request_is_appended_once_and_answered_with_its_sequence(
        nats_url: str) -> None:
    plan = [cmd.note(f"bench-{i % 3:02d}", "incident", f"note {i}") for i in range(120)]
    with RawIntake(nats_url) as raw:
        async with aiohttp.ClientSession() as http:
            sender = Sender(http, raw.url, {"staff": ""})
            samples = await sender.paced(plan, 400.0, 16)
        nc = await nats.connect(nats_url)
        try:
            info = await nc.jetstream().stream_info(raw_publish.STREAM)
        finally:
            await nc.close()
    assert raw.served == 120  # its count, printed when SIGTERM stopped it
    assert all(accepted(s) for s in samples), {s.error for s in samples}
    seqs = sorted(s.value.seq for s in samples if s.value)
    assert seqs == list(range(1, 121))
    assert info.state.messages == 120


@pytest.mark.timeout(60)
async def test_a_stream_that_refuses_is_a_failure_not_an_answer(nats_url: str) -> None:
    with RawIntake(nats_url) as raw:
        nc = await nats.connect(nats_url)
        try:
            await nc.jetstream().delete_stream(raw_publish.STREAM)  # publishes now get no ack
        finally:
            await nc.close()
        async with aiohttp.ClientSession() as http:
            samples = await Sender(http, raw.url, {"device": ""}).paced(
                [cmd.press("bench-00", "lockdown", "B-112")] * 3, 50.0, 3)
    assert raw.served == 0  # nothing was appended
    failed = only_accepted(samples)
    assert [s.error for s in failed] == ["HTTP 503"] * 3
    assert all(s.value is None for s in failed)
