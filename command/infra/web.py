"""The HTTP plumbing both sides serve through: JSON answers, the contract's error body for every
failure, body limits, the middlewares (errors, no-store, CORS, rate limits) in their one order,
and the app.

The domain's errors name what went wrong; the HTTP status each one answers is decided here.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from aiohttp import web

from command.domain.errors import (
    Conflict,
    Forbidden,
    Invalid,
    MusterError,
    NotFound,
    RateLimited,
    TimedOut,
    TooLarge,
    Unauthorized,
    Unavailable,
    from_validation,
)
from command.infra.auth import TokenStore
from command.infra.ratelimit import Limits

log = logging.getLogger("muster.http")
MAX_BODY = 64 * 1024  # a command; a note of 2,000 characters fits many times over
MAX_SITE_FILE = 4 * 1024 * 1024  # a site file with a large school's whole roster
BODY_TIMEOUT_S = web.AppKey("body_timeout_s", float)
_json = msgspec.json.Encoder()

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Each error's HTTP status (CONTRACT §2); an error of no listed kind is a 500.
STATUS: dict[type[MusterError], int] = {
    Invalid: 400, Unauthorized: 401, Forbidden: 403, NotFound: 404, TimedOut: 408,
    Conflict: 409, TooLarge: 413, RateLimited: 429, Unavailable: 503,
}


def status_of(exc: MusterError) -> int:
    return next((STATUS[k] for k in type(exc).__mro__ if k in STATUS), 500)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None,
                  ) -> web.Response:
    return web.Response(body=_json.encode(body), status=status, headers=headers,
                        content_type="application/json")


def error_response(exc: MusterError) -> web.Response:
    status = status_of(exc)
    retry = {"Retry-After": "1"} if status == 429 else None  # a 429 says when (RFC 6585)
    return json_response(exc.doc(), status=status, headers=retry)


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure answers the contract's error body; nothing internal leaks. It runs both
    outermost (what the other middlewares raise) and innermost (what they see is an answer)."""
    try:
        return await handler(request)
    except MusterError as exc:
        return error_response(exc)
    except web.HTTPRequestEntityTooLarge:
        return error_response(TooLarge(f"the body is larger than {MAX_SITE_FILE} bytes"))
    except web.HTTPException as exc:
        if exc.status >= 400:
            code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status, "http_error")
            body = {"error": {"code": code, "message": exc.reason, "field": None}}
            return json_response(body, status=exc.status)
        raise
    except TimeoutError:
        return error_response(Unavailable("a dependency did not answer in time"))
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        body = {"error": {"code": "internal", "message": "internal error", "field": None}}
        return json_response(body, status=500)


EXEMPT = ("/healthz", "/readyz")
EMERGENCY_ROLES = ("device", "commander")


def bearer(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    return header[7:].strip() if header.startswith("Bearer ") else request.query.get("token", "")


def rate_limit_middleware(limits: Limits, tokens: TokenStore) -> Any:
    """429 with Retry-After past a token's or an address's rate; presses keep their own floor."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in EXEMPT:
            return await handler(request)
        press = request.method == "POST" and request.path.endswith("/alerts")
        token = tokens.peek(bearer(request))
        if token is None and press and bearer(request) and limits.may_look_up(
                request.remote or "?"):
            # A button's first press must not find its floor unknown behind a flood.
            with contextlib.suppress(Unauthorized):
                token = await tokens.check(bearer(request))
        emergency = token is not None and token.role in EMERGENCY_ROLES and press
        wait = limits.check(token.hash.hex() if token else None, request.remote or "?",
                            emergency)
        if wait is not None:
            exc = RateLimited(f"too many requests; retry in {wait} s")
            return json_response(exc.doc(), status=429, headers={"Retry-After": str(wait)})
        return await handler(request)

    return middleware


@web.middleware
async def no_store_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answers under /v1 carry names, guardians and door codes: no cache, shared or private,
    may keep them."""
    response = await handler(request)
    if request.path.startswith("/v1/") and not response.prepared:
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"  # HTTP/1.0 caches know only this
    return response


def cors_middleware(origins: tuple[str, ...]) -> Any:
    """CORS closed unless origins are configured; then only those, never a wildcard."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        allowed = origin is not None and origin in origins
        if request.method == "OPTIONS" and allowed:
            response: web.StreamResponse = web.Response(status=204, headers={
                "Access-Control-Allow-Methods": "GET, POST, PUT",
                "Access-Control-Allow-Headers": "Authorization, Content-Type",
                "Access-Control-Max-Age": "600"})
        else:
            response = await handler(request)
        if allowed:
            response.headers["Access-Control-Allow-Origin"] = origin  # type: ignore[assignment]
            response.headers["Vary"] = "Origin"
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response

    return middleware


async def read_body(request: web.Request, limit: int = MAX_BODY) -> bytes:
    if request.content_length is not None and request.content_length > limit:
        raise TooLarge(f"the body is larger than {limit} bytes")
    timeout = request.config_dict.get(BODY_TIMEOUT_S, 30.0)
    try:
        async with asyncio.timeout(timeout):  # a body sent a byte at a time holds a connection
            body = await request.read()
    except TimeoutError:
        raise TimedOut(f"the body did not arrive within {timeout:g} s") from None
    if len(body) > limit:  # a chunked body has no length to check up front
        raise TooLarge(f"the body is larger than {limit} bytes")
    return body


def decode(decoder: msgspec.json.Decoder, body: bytes) -> Any:
    try:
        return decoder.decode(body or b"{}")
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise from_validation(exc) from None
    except UnicodeDecodeError:
        raise Invalid("the body is not valid UTF-8", field="$") from None


Middleware = Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]


def ordered_middlewares(cors: Middleware | None = None,
                        rate_limit: Middleware | None = None) -> list[Middleware]:
    """The app's middlewares, outermost first: this one list is the order every app serves in.

    errors   answers what any middleware below raises in the contract's error body;
    no-store keeps whatever is under /v1 out of every cache;
    CORS     closed unless origins are configured;
    rate     429 past a token's or an address's rate;
    errors   again, innermost: CORS and the rate limiter see every handler's failure as an answer.
    """
    declared = [errors_middleware, no_store_middleware, cors, rate_limit, errors_middleware]
    return [m for m in declared if m is not None]


def make_app(routes: list[web.RouteDef], middlewares: list[Middleware] | None = None,
             on_cleanup: list[Callable[..., Any]] | None = None,
             body_timeout_s: float = 30.0) -> web.Application:
    """An app serving `routes` through `middlewares` (by default `ordered_middlewares()`)."""
    chosen = ordered_middlewares() if middlewares is None else middlewares
    app = web.Application(middlewares=chosen, client_max_size=MAX_SITE_FILE)
    app[BODY_TIMEOUT_S] = body_timeout_s
    app.add_routes(routes)
    for cb in on_cleanup or []:
        app.on_cleanup.append(cb)
    return app
