"""Short full collections: whatever survives a slow one is moved out of the collector's sight.

A full collection walks every tracked object. Site files imported at run time are most of them
(each component folds its own copy of every roster: 50 schools are ~550,000 objects), so without
this every full pass stalled the loop for 200-350 ms. Freezing right after a full pass moves
only objects it found reachable; the next passes walk what is new since. The cost: cyclic
garbage among frozen objects is never collected, so freezing waits for a pass that was slow,
which takes ~100,000 long-lived objects more, not a fixed clock.
"""

import asyncio
import contextlib
import gc
import time
from typing import Any

SLOW_S = 0.02  # a full pass longer than this is worth one freeze


class FreezeSurvivors:
    """A `gc.callbacks` entry for one event loop; `install()` and `remove()` around its run."""

    def __init__(self, loop: asyncio.AbstractEventLoop, slow_s: float = SLOW_S) -> None:
        self.loop = loop
        self.slow_s = slow_s
        self.freezes = 0
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if info.get("generation") != 2:
            return
        if phase == "start":
            self._started = time.perf_counter()
        elif time.perf_counter() - self._started > self.slow_s:
            # Not from inside the collector: once it has returned, from the loop.
            with contextlib.suppress(RuntimeError):  # the loop is closed: nothing to keep short
                self.loop.call_soon_threadsafe(self._freeze)

    def _freeze(self) -> None:
        gc.freeze()
        self.freezes += 1

    def install(self) -> None:
        gc.callbacks.append(self)

    def remove(self) -> None:
        with contextlib.suppress(ValueError):
            gc.callbacks.remove(self)
