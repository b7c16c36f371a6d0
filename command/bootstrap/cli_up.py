"""`muster up` and `muster serve`: one Muster process in the foreground until a signal stops it."""

import asyncio
import signal
import sys

from command.bootstrap import runtime_file
from command.domain import redact
from command.infra.broker import OpenBroker
from command.infra.config import Settings
from command.infra.embedded import EmbeddedError, Unreachable

# What `muster up` may run in processes of its own: neither serves clients on the HTTP port.
APART = ("projector", "notifier")
LINK_ORDER = ("staff", "responder", "commander", "dispatch")  # the two to compare, first


def board_links(url: str, tokens: dict[str, str]) -> str:
    """The board page once per reading role, its token in the URL fragment (which the page
    reads and the browser never sends to the server)."""
    lines = ["Board, one link per role (the token rides in the fragment, never to the server):"]
    lines += [f"  {role:<10} {url}/board/demo-high#token={tokens[role]}"
              for role in sorted(redact.HIDDEN, key=LINK_ORDER.index) if role in tokens]
    lines.append("Open the staff and responder links side by side: each sees only what its "
                 "role may.")
    if "staff" in tokens:
        lines.append(f"Reunification desk (greeter, checker, reunifier): {url}/desk/demo-high"
                     f"#token={tokens['staff']}")
    if "commander" in tokens:
        lines.append(f"Drill log and state requirements: {url}/drills/demo-high"
                     f"#token={tokens['commander']}")
    return "\n".join(lines)


async def up(settings: Settings, demo: bool, components: tuple[str, ...],
             children: tuple[str, ...] = ()) -> int:
    from command.bootstrap.muster import Muster, PortInUse, run_until_stopped
    from consumers.component_processes import ChildError

    running = runtime_file.read(settings) if settings.embedded else None
    if running:
        # A second embedded NATS on the same store would stop the first one's (stale pid file).
        print(f"muster: muster up is already running on {settings.data_dir} "
              f"(pid {running['pid']}, {running['http_url']})", file=sys.stderr)
        return 2
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    muster = Muster(settings, components, children=children)

    async def announce(m: Muster) -> None:
        if demo:
            tokens = await m.demo()
            print("Demo site demo-high imported. One token per role:")
            for role, secret in tokens.items():
                print(f"  {role:<10} {secret}")
            print(board_links(m.url, tokens))
        apart = "".join(f"; {x} in a process of its own" for x in children
                        if x != "emergency")
        print(f"Muster listening on {m.url} (components: {', '.join(components)}{apart})",
              flush=True)
        if url := m.children.url_of("emergency"):
            print(f"Emergency listener (presses, protocol, acks, all clear, cancel, command): "
                  f"{url}", flush=True)
        print(f"Metrics (no token, so on this address alone): {m.metrics_url}", flush=True)

    try:
        await run_until_stopped(muster, stop, announce)
    except (PortInUse, EmbeddedError, Unreachable, ChildError, OpenBroker) as exc:
        print(f"muster: {exc}", file=sys.stderr)
        return 2
    return 0
