"""Muster's own view of the run, from `/metrics` (on its metrics address, runtime.json's
`metrics_url`, not the API's port): its intake histogram, and its loop lag.

The client sees HTTP, auth and scheduling on top of intake; the server's histogram splits the
two. A histogram only knows its buckets, so its percentiles are upper bounds ("≤ 5 ms").
Both are histograms read once before and once after the load: a poll during it would be load.
"""

import math
import re

import aiohttp

INTAKE = "muster_intake_latency_seconds"
LOOP_DELAY = "muster_event_loop_delay_seconds"

Buckets = dict[float, float]


async def scrape(http: aiohttp.ClientSession, metrics: str,
                 names: tuple[str, ...] = (INTAKE, LOOP_DELAY)) -> dict[str, Buckets]:
    """Each histogram's cumulative counts by upper bound; empty when the server has none."""
    try:
        async with http.get(metrics) as resp:
            text = await resp.text() if resp.status == 200 else ""
    except (aiohttp.ClientError, TimeoutError):
        text = ""
    found: dict[str, Buckets] = {}
    for name in names:
        bucket = re.compile(rf'^{name}_bucket\{{le="([^"]+)"\}} ([0-9.e+-]+)$', re.MULTILINE)
        found[name] = {float(le): float(count) for le, count in bucket.findall(text)}
    return found


async def counter(http: aiohttp.ClientSession, metrics: str, name: str) -> float:
    """A counter's value now (0 when absent), e.g. intake's append conflicts."""
    try:
        async with http.get(metrics) as resp:
            text = await resp.text() if resp.status == 200 else ""
    except (aiohttp.ClientError, TimeoutError):
        return 0.0
    found = re.search(rf"^{name} ([0-9.e+-]+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def bound(before: Buckets, after: Buckets, q: float) -> tuple[int, float | None]:
    """How many were observed between the scrapes, and the bucket bound of their q-th
    percentile in ms (None when nothing was observed; inf past the last bucket)."""
    bounds = sorted(after)
    cumulative = [after[b] - before.get(b, 0.0) for b in bounds]
    total = int(cumulative[-1]) if cumulative else 0
    if total == 0:
        return 0, None
    rank = max(1, math.ceil(q / 100 * total))
    for upper, count in zip(bounds, cumulative, strict=True):
        if count >= rank:
            return total, upper * 1000 if math.isfinite(upper) else math.inf
    return total, math.inf
