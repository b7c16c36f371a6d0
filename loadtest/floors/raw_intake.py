"""The intake floor: a bare aiohttp server that appends each request's body to JetStream.

It answers a POST to any path as Muster's intake would, 202 with the stream sequence, after one
acknowledged nats-py publish to the bench stream of `loadtest.floors.raw_publish` on Muster's own
nats-server, and does nothing else: no token, no decision, no boards, no read models. Driven by
the generator's own HTTP client, it gives what HTTP in and JetStream through cost here: the floor
of a command → 202, and the most commands per second a Python intake built of these parts
accepts on this machine beside this generator. `python -m loadtest.floors.raw_intake --port N`
runs it in its own process, appending to MUSTER_NATS_URL (by environment: the URL carries the
password); it prints `listening` once bound and `appended N` when stopped.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys

import msgspec
import nats
import uvloop
from aiohttp import web

from loadtest.floors import raw_publish
from loadtest.floors.server_process import ServerProcess, listen

SUBJECTS = 50  # as many as the bench has sites: one subject each


async def _serve(port: int, nats_url: str) -> int:
    nc = await nats.connect(nats_url, name="muster-bench-raw-intake")
    await raw_publish.ensure_stream(nc)
    js = nc.jetstream(timeout=raw_publish.ACK_TIMEOUT_S)
    received = appended = 0

    async def append(request: web.Request) -> web.Response:
        nonlocal received, appended
        body = await request.read()
        n = received = received + 1
        try:
            ack = await js.publish(f"{raw_publish.PREFIX}.intake.{n % SUBJECTS}", body,
                                   headers={"Nats-Msg-Id": f"intake-{port}-{n}"})
        except Exception as exc:  # the stream's failure is the answer, as intake's 503 is
            return web.json_response({"error": str(exc)}, status=503)
        appended += 1
        return web.Response(status=202, body=msgspec.json.encode({"seq": ack.seq}),
                            content_type="application/json")

    app = web.Application()
    app.router.add_post("/{tail:.*}", append)
    runner, stop = await listen(app, port)
    await stop.wait()
    await runner.cleanup()
    with contextlib.suppress(Exception):
        await nc.close()
    return appended


class RawIntake(ServerProcess):
    """`with RawIntake(nats_url) as raw:` serves the floor at `raw.url` for the block."""

    def __init__(self, nats_url: str) -> None:
        super().__init__("loadtest.floors.raw_intake", env={"MUSTER_NATS_URL": nats_url})

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m loadtest.floors.raw_intake")
    p.add_argument("--port", type=int, required=True)
    args = p.parse_args(argv)
    if not os.environ.get("MUSTER_NATS_URL"):
        p.error("MUSTER_NATS_URL names the nats-server to append to")
    appended = uvloop.run(_serve(args.port, os.environ["MUSTER_NATS_URL"]))
    print(f"appended {appended}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
