"""Token-bucket rate limits per token and per address, with a floor for emergency presses.

A flood from one token or address is answered 429 with `Retry-After`; it never spends another
token's allowance, and a device's or commander's press has a bucket of its own that no flood of
other requests (even from the same address) can drain.
"""

import math
import time
from collections import OrderedDict
from typing import NamedTuple


class Rate(NamedTuple):
    per_second: float
    burst: float


class Bucket:
    __slots__ = ("at", "tokens")

    def __init__(self, burst: float, now: float) -> None:
        self.tokens = burst
        self.at = now


class Limiter:
    """Buckets by key; the least recently used are forgotten past `size`, so memory is bounded."""

    def __init__(self, rate: Rate, size: int = 50_000) -> None:
        self.rate = rate
        self.size = size
        self.buckets: OrderedDict[str, Bucket] = OrderedDict()

    def take(self, key: str, now: float | None = None) -> float | None:
        """Spend one request; None if allowed, else the seconds until one is allowed."""
        now = time.monotonic() if now is None else now
        bucket = self.buckets.pop(key, None) or Bucket(self.rate.burst, now)
        bucket.tokens = min(self.rate.burst,
                            bucket.tokens + (now - bucket.at) * self.rate.per_second)
        bucket.at = now
        self.buckets[key] = bucket
        if len(self.buckets) > self.size:
            self.buckets.popitem(last=False)
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return None
        return (1 - bucket.tokens) / self.rate.per_second


class Limits:
    """Per-second rates (burst three seconds' worth); a rate of 0 turns that limit off."""

    def __init__(self, per_token: float = 100, per_address: float = 200,
                 emergency: float = 20) -> None:
        self.token = Limiter(Rate(per_token, 3 * per_token)) if per_token else None
        self.address = Limiter(Rate(per_address, 3 * per_address)) if per_address else None
        self.emergency = Limiter(Rate(emergency, 3 * emergency)) if emergency else None
        # Presses whose token is not cached yet are looked up in the database before they are
        # limited; these lookups have the emergency floor's rate per address, so a flood of
        # forged tokens cannot turn into a flood of queries.
        self.lookups = Limiter(Rate(emergency, 3 * emergency)) if emergency else None

    def may_look_up(self, address: str) -> bool:
        return self.lookups is None or self.lookups.take(address) is None

    def check(self, token_key: str | None, address: str, emergency: bool) -> int | None:
        """None when the request may go on, else whole seconds for `Retry-After`."""
        wait = self._check(token_key, address, emergency)
        return None if wait is None else max(1, math.ceil(wait))

    def _check(self, token_key: str | None, address: str, emergency: bool) -> float | None:
        if emergency and token_key is not None:
            return self.emergency.take(token_key) if self.emergency else None
        wait = self.address.take(address) if self.address else None
        if wait is None and token_key is not None and self.token:
            wait = self.token.take(token_key)
        return wait
