"""The sink's log as the load generator reads it: one arrival per notification, read as it grows.

The sink appends `{"t", "path", "body"}` lines (see `loadtest.clients.sink`); `t` is its
`time.time()` when the POST's headers were read, the same wall clock the load generator stamps
its sends with.
"""

from pathlib import Path

import msgspec


class Arrival(msgspec.Struct, frozen=True):
    """One notification as the sink took it: when, on which path, and what Apprise posted."""

    t: float
    path: str
    title: str
    message: str


class _Line(msgspec.Struct):
    t: float
    path: str
    body: str


class _Body(msgspec.Struct):
    title: str = ""
    message: str = ""


_line = msgspec.json.Decoder(_Line)
_body = msgspec.json.Decoder(_Body)


def parse(raw: bytes) -> Arrival:
    """A log line; a body that is not Apprise's JSON keeps its arrival with empty text."""
    line = _line.decode(raw)
    try:
        body = _body.decode(line.body)
    except msgspec.DecodeError:
        body = _Body()
    return Arrival(t=line.t, path=line.path, title=body.title, message=body.message)


class SinkLog:
    """Reads the lines appended since the last `poll()`; `arrivals` holds every one so far."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.arrivals: list[Arrival] = []

    def poll(self) -> list[Arrival]:
        try:
            with self.path.open("rb") as f:
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:  # the sink has not opened it yet
            return self.arrivals
        end = data.rfind(b"\n") + 1  # a line still being written waits for the next poll
        self.arrivals.extend(parse(raw) for raw in data[:end].splitlines() if raw)
        self.offset += end
        return self.arrivals

    def on(self, prefix: str) -> list[Arrival]:
        """The arrivals so far whose path starts with `prefix`, in arrival order."""
        return sorted((a for a in self.poll() if a.path.startswith(prefix)), key=lambda a: a.t)
