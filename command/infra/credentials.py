"""Secrets the embedded servers are started with: made once with `secrets`, kept in the data dir
(files 0600, folders 0700) and read back on every later start, so the same data dir keeps working.

Nothing else on the machine may read them: a local user with the NATS password could read every
roster and forge any event, and the URLs that carry them land in runtime.json.
"""

import os
import re
import secrets
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700
# What `secrets.token_urlsafe` makes: safe in a URL, a NATS config string and an SQL literal.
SAFE = re.compile(r"[A-Za-z0-9_-]{16,}")
# What a folder of Muster's holds: its servers' folders, passwords, config and runtime file.
OURS = ("nats", "pg", "nats.password", "pg.password", "runtime.json", "nats.conf", "jetstream")


class CredentialError(ValueError):
    """A password file holds something Muster cannot use; the message names the file."""


def beside(folder: Path) -> Path:
    """Where the password of the server in `folder` is kept: DATA/nats -> DATA/nats.password."""
    return folder.with_name(f"{folder.name}.password")


def private_dir(path: Path, mode: int = DIR_MODE) -> Path:
    """`path`, made if missing, for its owner alone (`mode`). A folder that exists is narrowed
    only if it is Muster's (it holds what OURS names, or nothing): a data dir set to /tmp or a
    home must not take those away from everyone else."""
    if path.exists() and not (any((path / name).exists() for name in OURS)
                              or not any(path.iterdir())):
        return path
    path.mkdir(parents=True, exist_ok=True, mode=mode)
    path.chmod(mode)  # mkdir's mode passes through the umask, and an older folder keeps its own
    return path


def write_private(path: Path, text: str) -> None:
    """Write `text` to a file no other user can open, not even between create and chmod."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    tmp.replace(path)  # atomic: a crash leaves the old file or the new one, never half of one


def read(path: Path) -> str:
    """The secret in `path`, which must be 16 or more of A-Z a-z 0-9 _ -."""
    path.chmod(FILE_MODE)  # one copied in by hand with a wider mode is narrowed
    found = path.read_text().strip()
    if not SAFE.fullmatch(found):
        raise CredentialError(f"{path} must hold one password of 16 or more letters, digits, "
                              "'-' or '_'; delete it to have a new one made")
    return found


def password(path: Path) -> str:
    """The secret kept in `path`, made now if there is none (URL-safe: it goes in URLs)."""
    if path.exists():
        return read(path)
    made = secrets.token_urlsafe(32)
    write_private(path, made + "\n")
    return made
