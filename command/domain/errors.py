"""Errors a command can meet, each with the contract's error code and body; the HTTP status each
answers is the edge's business (infra/web.py)."""

import msgspec


class ErrorBody(msgspec.Struct, frozen=True):
    code: str
    message: str
    field: str | None = None


class ErrorDoc(msgspec.Struct, frozen=True):
    error: ErrorBody


class MusterError(Exception):
    code = "internal"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def doc(self) -> ErrorDoc:
        return ErrorDoc(ErrorBody(code=self.code, message=self.message, field=self.field))


class Invalid(MusterError):
    code = "invalid"


class Unauthorized(MusterError):
    code = "unauthorized"


class Forbidden(MusterError):
    code = "forbidden"


class NotFound(MusterError):
    code = "not_found"


class Conflict(MusterError):
    code = "conflict"


class TimedOut(MusterError):
    code = "timeout"


class TooLarge(MusterError):
    code = "too_large"


class RateLimited(MusterError):
    code = "rate_limited"


class Unavailable(MusterError):
    code = "unavailable"


def from_validation(exc: msgspec.ValidationError | msgspec.DecodeError) -> Invalid:
    """msgspec's message names the JSON path (`... - at `$.room``); keep it, lift the path."""
    text = str(exc)
    field = "$"
    if " - at `" in text:
        field = text.rsplit(" - at `", 1)[1].rstrip("`")
    if "unknown field `" in text:
        name = text.split("unknown field `", 1)[1].split("`", 1)[0]
        field = f"{field}.{name}"
    elif "missing required field `" in text:
        name = text.split("missing required field `", 1)[1].split("`", 1)[0]
        field = f"{field}.{name}"
    return Invalid(text, field=field)
