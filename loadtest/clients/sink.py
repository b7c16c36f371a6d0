"""A stand-in for the schools' alert channels: an HTTP server on 127.0.0.1 that takes every
`json://` notification, answers 200 and counts it.
`python -m loadtest.clients.sink --port N [--log F]`.

With `--log`, each POST appends one JSON line `{"t", "path", "body"}` to F, `t` being
`time.time()` when its headers were read, so the load generator can match deliveries to presses
on the same wall clock. It runs as its own process so its work never competes with the client's
timing; it stops on SIGTERM, when its parent dies or after `--max-seconds`, and prints how many
notifications it took.
"""

import argparse
import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import TextIO


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    count = 0
    lock = threading.Lock()
    log: TextIO | None = None


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        arrived = time.time()  # first thing: the delivery is here once its headers are
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.server.lock:
            self.server.count += 1
            if self.server.log is not None:  # line-buffered: the bench reads it while we run
                self.server.log.write(json.dumps({"t": arrived, "path": self.path,
                                                  "body": body.decode(errors="replace")}) + "\n")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass  # thousands of lines of access log would only slow the sink down


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m loadtest.clients.sink")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--max-seconds", type=float, default=3600.0)
    p.add_argument("--log", type=Path, help="append one JSON line per notification here")
    args = p.parse_args(argv)
    stop = threading.Event()

    def on_term(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    server = _Server(("127.0.0.1", args.port), _Handler)
    if args.log is not None:
        server.log = args.log.open("a", buffering=1, encoding="utf-8")
    worker = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2})
    worker.start()
    print("listening", flush=True)
    parent, deadline = os.getppid(), time.monotonic() + args.max_seconds
    # the parent's death ends it too, even where no parent-death signal was set
    while not stop.wait(0.5) and os.getppid() == parent and time.monotonic() < deadline:
        pass
    server.shutdown()
    worker.join(timeout=5)
    if server.log is not None:
        with server.lock:
            server.log.close()
            server.log = None
    print(f"received {server.count}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
