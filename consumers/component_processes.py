"""Components that `muster up` runs in processes of their own, started, watched and stopped here.

The notifier sits on the path press → first alert, and in the same process as HTTP and the
boards its folds, commits and sends waited for a loop busy with everything else: under the
lockdown load, press → first alert was 600 / 1,652 ms p50 / p99 beside them and 136 / 620 ms in
a process of its own (python -m loadtest lockdown, same machine, same afternoon). The projector
may go too (MUSTER_APART=notifier,projector), but not by default: apart, it was no longer held
back by the busy loop, wrote smaller batches more often, and PostgreSQL's CPU doubled (18 % →
38 % of a core) until the background fell from 504 to 376 events/s on the same machine.
"""

import asyncio
import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
from aiohttp import web

from command.domain.errors import NotFound, Unavailable
from command.infra.embedded import die_with_parent

log = logging.getLogger("muster.children")
READY_TIMEOUT_S = 60.0
# A child that folds the whole stream before it listens, as intake does, may take as long.
FOLDING_READY_TIMEOUT_S = {"emergency": 600.0}
STOP_TIMEOUT_S = 15.0
WATCH_EVERY_S = 1.0
SCRAPE_TIMEOUT_S = 5.0
STABLE_S = 60.0  # a child up this long had a run that lasted: its next crash restarts at once
RESTART_MAX_S = 30.0


def restart_delay(previous: float | None, uptime: float) -> float:
    """Seconds to wait before starting a dead child again: none after a run that lasted, then
    1, 2, 4 … up to RESTART_MAX_S while it keeps dying young, so a crash loop (a bad setting,
    a database away) does not spin a Python start-up every second."""
    if previous is None or uptime >= STABLE_S:
        return 0.0
    return min(max(1.0, 2 * previous), RESTART_MAX_S)


class ChildError(RuntimeError):
    """A process apart did not come up; the message names it."""


class Children:
    """One `muster serve --components C` per entry, each in `data_dir/C`, restarted if it dies."""

    def __init__(self, data_dir: Path, components: tuple[str, ...], host: str = "127.0.0.1",
                 ready_timeout: float = READY_TIMEOUT_S, ports: dict[str, int] | None = None,
                 ) -> None:
        self.data_dir = data_dir
        self.ready_timeout = ready_timeout
        self.components = components
        self.host = host
        self.ports = ports or {}  # a child that clients reach (the emergency listener) binds here
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self._env: dict[str, str] = {}
        self._started: dict[str, float] = {}
        self._delay: dict[str, float] = {}  # each child's last restart delay
        self._due: dict[str, float] = {}  # a dead child's restart time
        self._watch: asyncio.Task[None] | None = None

    def folder(self, component: str) -> Path:
        return self.data_dir / component

    async def start(self, env: dict[str, str]) -> None:
        """Start each child and return once every one listens (it writes its runtime file
        after binding, when all its parts are up)."""
        self._env = {**os.environ, **env}
        for component in self.components:
            self._spawn(component)
        self._watch = asyncio.create_task(self._restart_dead())
        started = time.monotonic()
        for component in self.components:
            timeout = max(self.ready_timeout, FOLDING_READY_TIMEOUT_S.get(component, 0.0))
            while not (self.folder(component) / "runtime.json").exists():
                if time.monotonic() > started + timeout:
                    raise ChildError(f"the {component} process did not start within "
                                     f"{timeout:g} s; its errors are above")
                await asyncio.sleep(0.05)
            if component in self.ports and (url := self.url_of(component)):
                # A restart binds the same port, so the address muster up printed still holds.
                self.ports[component] = int(url.rsplit(":", 1)[1])

    def _spawn(self, component: str) -> None:
        folder = self.folder(component)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "runtime.json").unlink(missing_ok=True)
        self._started[component] = time.monotonic()
        # Its warnings go to our stderr, where the operator looks; it prints nothing else.
        self.procs[component] = subprocess.Popen(
            [sys.executable, "-m", "command.bootstrap.cli", "serve", "--components", component,
             "--host", self.host, "--port", str(self.ports.get(component, 0)),
             "--data-dir", str(folder)],
            stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL, env=self._env,
            preexec_fn=die_with_parent)  # a kill -9 of muster up ends it too

    def url_of(self, component: str) -> str | None:
        """The API address a running child listens on, from its runtime file."""
        return self._runtime(component, "http_url")

    def _runtime(self, component: str, key: str) -> str | None:
        """One address from a running child's runtime file (it writes it once it listens)."""
        if component not in self.components:
            return None
        with contextlib.suppress(OSError, ValueError, KeyError):
            return str(json.loads((self.folder(component) / "runtime.json").read_text())[key])
        return None

    def metrics_routes(self) -> list[web.RouteDef]:
        """`/metrics/COMPONENT` on the metrics address: each process apart's own metrics (the
        notifier's sends live there), relayed, so a scraper needs to know only this address."""
        if not self.components:
            return []

        async def relay(request: web.Request) -> web.Response:
            component = request.match_info["component"]
            if component not in self.components:
                raise NotFound(f"no process apart runs {component!r}", field="component")
            url = self._runtime(component, "metrics_url")
            if url is None:
                raise Unavailable(f"the {component} process is not answering")
            try:
                timeout = aiohttp.ClientTimeout(total=SCRAPE_TIMEOUT_S)
                async with aiohttp.ClientSession(timeout=timeout) as session, \
                        session.get(url) as resp:
                    body = await resp.read()
                    kind = resp.headers.get("Content-Type", "text/plain")
            except (OSError, aiohttp.ClientError, TimeoutError):
                raise Unavailable(f"the {component} process is not answering") from None
            return web.Response(body=body, headers={"Content-Type": kind})

        return [web.get("/metrics/{component}", relay)]

    async def _restart_dead(self) -> None:
        while True:
            await asyncio.sleep(WATCH_EVERY_S)
            now = time.monotonic()
            for component, proc in list(self.procs.items()):
                if proc.poll() is None:
                    continue
                if component not in self._due:
                    delay = restart_delay(self._delay.get(component),
                                          now - self._started[component])
                    self._delay[component], self._due[component] = delay, now + delay
                    log.warning("the %s process exited with %s; starting it again%s",
                                component, proc.returncode, f" in {delay:g} s" if delay else "")
                if now >= self._due[component]:
                    del self._due[component]
                    self._spawn(component)

    async def stop(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        await asyncio.get_running_loop().run_in_executor(None, self._reap)

    def _reap(self) -> None:
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
