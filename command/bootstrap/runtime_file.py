"""`runtime.json` in the data dir: the URLs a running `muster up` serves and stands on.

`muster up` writes it once it listens and removes it when it stops; the other commands read it to
reach the same servers rather than start their own.
"""

import contextlib
import json
import os
from typing import Any

from command.infra import credentials
from command.infra.config import Settings


def write(settings: Settings, nats_url: str, db_url: str, http_url: str,
          metrics_url: str, emergency_url: str | None = None) -> None:
    path = settings.runtime_file
    path.parent.mkdir(parents=True, exist_ok=True)
    info = {"nats_url": nats_url, "database_url": db_url, "http_url": http_url,
            "metrics_url": metrics_url, "pid": os.getpid()}
    if emergency_url:
        info["emergency_url"] = emergency_url
    # Owner only: the URLs carry the servers' passwords.
    credentials.write_private(path, json.dumps(info))


def read(settings: Settings) -> dict[str, Any] | None:
    """The URLs a `muster up` on this data dir wrote, if it is still running."""
    with contextlib.suppress(OSError, ValueError):
        info = json.loads(settings.runtime_file.read_text())
        os.kill(int(info["pid"]), 0)
        return info
    return None


def http_url(settings: Settings, given: str | None = None) -> str:
    """Where a command reaches the API: the URL given, else the running `muster up`'s, else the
    configured host and port."""
    info = read(settings) or {}
    return given or info.get("http_url") or f"http://{settings.http_host}:{settings.http_port}"


def remove(settings: Settings) -> None:
    with contextlib.suppress(OSError):
        settings.runtime_file.unlink()
