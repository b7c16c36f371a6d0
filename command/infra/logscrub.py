"""aiohttp's own log lines, without secrets and without floods.

When aiohttp's parser refuses a request it logs the raw bytes, `Authorization` header and
`?token=` included: a bearer token in a log file is a token anyone reading the logs can use.
And one log line with a traceback per malformed request lets a flood of them fill the disk.
"""

import logging
import re
import time

# The value of an Authorization header (up to the end of its line, raw or repr'd), a bearer
# credential anywhere, and a token in a query string.
_SECRETS = re.compile(
    r"(?i)(authorization[ \t]*:[ \t]*)(?:(?!\\r|\\n)[^\r\n'\"])*"
    r"|(bearer[ \t]+)[^\s'\"\\,;&]+"
    r"|(\btoken=)[^\s'\"\\&#;]*")
REDACTED = "[redacted]"
LOGGERS = ("aiohttp.server", "aiohttp.web", "aiohttp.access", "aiohttp.websocket",
           "aiohttp.internal")


def scrub(text: str) -> str:
    return _SECRETS.sub(lambda m: (m[1] or m[2] or m[3]) + REDACTED, text)


class Scrub(logging.Filter):
    """Redacts secrets from a record's message and traceback, and lets at most `burst` records
    (None: all) through per `every_s`; the first one after a spell says how many were dropped."""

    def __init__(self, burst: int | None = 20, every_s: float = 60.0) -> None:
        super().__init__()
        self.burst = burst
        self.every_s = every_s
        self.window_start = float("-inf")
        self.passed = 0
        self.dropped = 0

    def filter(self, record: logging.LogRecord) -> bool:
        now = time.monotonic()
        if now - self.window_start >= self.every_s:
            self.window_start, self.passed = now, 0
        if self.burst is not None and self.passed >= self.burst:
            self.dropped += 1
            return False
        self.passed += 1
        message = scrub(record.getMessage())
        if self.dropped:
            message = f"({self.dropped} similar lines dropped) {message}"
            self.dropped = 0
        record.msg, record.args = message, ()
        if record.exc_info:
            # Formatted here, once: the exception's text holds the raw request bytes.
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        return True


def install(burst: int = 20, every_s: float = 60.0) -> None:
    """Put one Scrub on each of aiohttp's loggers (once, however many servers start); only the
    server's, where every refused request lands, is rate-limited."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, Scrub) for f in logger.filters):
            logger.addFilter(Scrub(burst if name == "aiohttp.server" else None, every_s))
