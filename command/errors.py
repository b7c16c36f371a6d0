"""Errors a command can meet, each carrying the HTTP status and the contract's error body."""

import msgspec


class ErrorBody(msgspec.Struct, frozen=True):
    code: str
    message: str
    field: str | None = None


class ErrorDoc(msgspec.Struct, frozen=True):
    error: ErrorBody


class MusterError(Exception):
    status = 500
    code = "internal"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def doc(self) -> ErrorDoc:
        return ErrorDoc(ErrorBody(code=self.code, message=self.message, field=self.field))


class Invalid(MusterError):
    status, code = 400, "invalid"


class Unauthorized(MusterError):
    status, code = 401, "unauthorized"


class Forbidden(MusterError):
    status, code = 403, "forbidden"


class NotFound(MusterError):
    status, code = 404, "not_found"


class Conflict(MusterError):
    status, code = 409, "conflict"


class TimedOut(MusterError):
    status, code = 408, "timeout"


class TooLarge(MusterError):
    status, code = 413, "too_large"


class RateLimited(MusterError):
    status, code = 429, "rate_limited"


class Unavailable(MusterError):
    status, code = 503, "unavailable"


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
