"""A stand-in for the schools' alert channels: an HTTP server on 127.0.0.1 that takes every
`json://` notification, answers 200 and counts it. `python -m loadtest.sink --port N`.

It runs as its own process so its work never competes with the client's timing; it stops on
SIGTERM or after `--max-seconds`, and prints how many notifications it took.
"""

import argparse
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    count = 0
    lock = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.server.lock:
            self.server.count += 1
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass  # thousands of lines of access log would only slow the sink down


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m loadtest.sink")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--max-seconds", type=float, default=3600.0)
    args = p.parse_args(argv)
    stop = threading.Event()

    def on_term(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    server = _Server(("127.0.0.1", args.port), _Handler)
    worker = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2})
    worker.start()
    print("listening", flush=True)
    stop.wait(args.max_seconds)
    server.shutdown()
    worker.join(timeout=5)
    print(f"received {server.count}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
