"""Bearer tokens: random, stored only as a SHA-256 hash, checked for role and site.

Intake must keep accepting presses while PostgreSQL is away, so every token seen is cached in
memory and the cache is refreshed in the background; a miss asks the database once.
"""

import asyncio
import contextlib
import hashlib
import hmac
import logging
import secrets
import time
from datetime import UTC, datetime

import asyncpg
import msgspec

from command.domain.errors import Conflict, Forbidden, Unauthorized
from command.domain.events import Actor
from command.domain.types import ROLES

log = logging.getLogger("muster.auth")
PREFIX = "mst_"
ACTOR_KIND = {"device": "device", "dispatch": "integration"}
# A dispatch token may be bound to a dispatch area (`area:NAME`) rather than to one site: it
# sends EIDOs for every site whose [dispatch] area is NAME, and for no other.
AREA = "area:"


class Token(msgspec.Struct, frozen=True):
    id: int
    name: str
    role: str
    site: str
    hash: bytes
    expires_at: datetime | None = None
    revoked_at: datetime | None = None

    def actor(self) -> Actor:
        return Actor(kind=ACTOR_KIND.get(self.role, "user"), id=self.name, role=self.role,  # type: ignore[arg-type]
                     token_id=self.id)

    def allows_site(self, site: str, area: str | None = None) -> bool:
        """Bound to all sites, to `site`, or to the dispatch area `site` belongs to."""
        return self.site in ("*", site) or (area is not None and self.site == AREA + area)


def digest(secret: str) -> bytes:
    # A header's bytes that are not UTF-8 arrive as surrogates: a wrong token, not a crash.
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).digest()


def new_secret() -> str:
    return PREFIX + secrets.token_urlsafe(24)  # 192 bits


async def create(pool: asyncpg.Pool, role: str, site: str, name: str | None = None,
                 expires_at: datetime | None = None) -> tuple[str, Token]:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    if site.startswith(AREA) and (role != "dispatch" or not site.removeprefix(AREA)):
        raise ValueError(f"{site!r}: only a dispatch token may be bound to a dispatch area, "
                         "named as area:NAME")
    secret = new_secret()
    shown = "all" if site == "*" else site.replace(":", "-")
    name = name or f"{role}-{shown}-{secrets.token_hex(3)}"
    try:
        row = await pool.fetchrow(
            "INSERT INTO tokens(name, role, site, hash, expires_at) VALUES ($1,$2,$3,$4,$5) "
            "RETURNING id", name, role, site, digest(secret), expires_at)
    except asyncpg.UniqueViolationError as exc:
        if exc.constraint_name != "tokens_site_name":  # names are unique: the audit reads them
            raise
        raise Conflict(f"a token named {name!r} already exists for site {site!r}",
                       field="name") from exc
    return secret, Token(row["id"], name, role, site, digest(secret), expires_at)


_COLUMNS = "id, name, role, site, hash, expires_at, revoked_at"


class TokenStore:
    def __init__(self, pool: asyncpg.Pool, refresh_s: float = 2.0) -> None:
        self.pool = pool
        self.refresh_s = refresh_s
        self._by_hash: dict[bytes, Token] = {}
        self._misses: dict[bytes, float] = {}
        self._pending: dict[bytes, asyncio.Future[Token | None]] = {}
        self._used: set[int] = set()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        with contextlib.suppress(OSError, asyncpg.PostgresError):
            await self._reload()
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _reload(self) -> None:
        rows = await self.pool.fetch(f"SELECT {_COLUMNS} FROM tokens")
        self._by_hash = {bytes(r["hash"]): Token(**dict(r, hash=bytes(r["hash"]))) for r in rows}
        if self._used:
            used, self._used = list(self._used), set()
            await self.pool.execute(
                "UPDATE tokens SET last_used_at = now() WHERE id = ANY($1::bigint[])", used)

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_s)
            try:
                await self._reload()
            except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
                log.warning("token refresh failed, keeping the cached tokens: %s", exc)

    def peek(self, secret: str) -> Token | None:
        """A cached, currently valid token for `secret`, without asking the database."""
        token = self._by_hash.get(digest(secret))
        if token is None or token.revoked_at is not None:
            return None
        if token.expires_at is not None and token.expires_at <= datetime.now(UTC):
            return None
        return token

    async def authenticate(self, header: str | None) -> Token:
        if not header or not header.startswith("Bearer "):
            raise Unauthorized("a bearer token is needed: Authorization: Bearer TOKEN")
        return await self.check(header[7:].strip())

    async def _fetch(self, h: bytes) -> Token | None:
        try:
            row = await self.pool.fetchrow(f"SELECT {_COLUMNS} FROM tokens WHERE hash=$1", h)
        except (TimeoutError, OSError, asyncpg.PostgresError):
            return None  # the database is away: not a miss to remember
        if row is None:
            if len(self._misses) > 10_000:  # a flood of forged tokens must not grow memory
                self._misses.clear()
            self._misses[h] = time.monotonic()
            return None
        token = Token(**dict(row, hash=bytes(row["hash"])))
        self._by_hash[h] = token
        return token

    async def _lookup(self, h: bytes) -> Token | None:
        """Ask the database once per unknown hash, however many requests wait on it."""
        if time.monotonic() - self._misses.get(h, -1e9) < self.refresh_s:
            return None
        pending = self._pending.get(h)
        if pending is None:
            pending = self._pending[h] = asyncio.ensure_future(self._fetch(h))
            pending.add_done_callback(lambda _: self._pending.pop(h, None))
        return await asyncio.shield(pending)

    async def check(self, secret: str) -> Token:
        h = digest(secret)
        token = self._by_hash.get(h) or await self._lookup(h)
        if token is None or not hmac.compare_digest(token.hash, h):
            raise Unauthorized("the token is not valid")
        if token.revoked_at is not None:
            raise Unauthorized("the token was revoked")
        if token.expires_at is not None and token.expires_at <= datetime.now(UTC):
            raise Unauthorized("the token has expired")
        self._used.add(token.id)
        return token


def authorize(token: Token, roles: tuple[str, ...], site: str | None,
              area: str | None = None) -> None:
    """403 unless the token's role is one of `roles` and it is bound to `site`, to all sites,
    or (where the route honours areas) to the dispatch `area` of `site`."""
    if token.role not in roles:
        raise Forbidden(f"the {token.role} role may not do this; it needs: {', '.join(roles)}")
    if site is not None and not token.allows_site(site, area):
        raise Forbidden("this token is not bound to this site" if not token.site.startswith(AREA)
                        else "this site is not in this token's dispatch area")


class TokenInfo(msgspec.Struct, frozen=True):
    """What `muster token list` shows: never the secret, nor its hash."""

    id: int
    name: str
    role: str
    site: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


async def listing(pool: asyncpg.Pool) -> list[TokenInfo]:
    rows = await pool.fetch("SELECT id, name, role, site, created_at, expires_at, revoked_at, "
                            "last_used_at FROM tokens ORDER BY id")
    return [TokenInfo(**dict(r)) for r in rows]


async def revoke(pool: asyncpg.Pool, name_or_id: str) -> int:
    """Revoke tokens by name (or numeric id); how many were revoked now."""
    ident = int(name_or_id) if name_or_id.isdigit() else -1
    result = await pool.execute(
        "UPDATE tokens SET revoked_at = now() WHERE (name = $1 OR id = $2) "
        "AND revoked_at IS NULL", name_or_id, ident)
    return int(result.split()[-1])
