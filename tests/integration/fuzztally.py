"""How many hostile inputs the fuzz suites tried, and what came of them, for the long run.

`MUSTER_FUZZ_EXAMPLES=N` sets the cases per route of tests/integration/test_fuzz.py (150 by
default); the other suites scale their own defaults by the same ratio. `MUSTER_FUZZ_TALLY=path`
appends one JSON line per suite there, and `python -m tests.integration.fuzztally path` sums
them: the numbers a closing note reports (cases, 5xx answers, rejected inputs that wrote).
"""

import json
import os
import sys
from collections import Counter
from typing import Any

DEFAULT = 150  # test_fuzz's cases per route, the unit MUSTER_FUZZ_EXAMPLES is given in


def examples(default: int) -> int:
    """A suite's cases per route or operation: its default, scaled by MUSTER_FUZZ_EXAMPLES."""
    wanted = os.environ.get("MUSTER_FUZZ_EXAMPLES")
    return max(1, default * int(wanted) // DEFAULT) if wanted else default


def record(suite: str, cases: int, statuses: Counter[tuple[str, int]], written: int,
           seconds: float) -> dict[str, Any]:
    """Print (and append to MUSTER_FUZZ_TALLY) one suite's totals; `written` counts rejected
    inputs that nonetheless wrote to the stream."""
    line = {"suite": suite, "cases": cases,
            "server_errors": sum(n for (_, status), n in statuses.items() if status >= 500),
            "rejected_that_wrote": written, "seconds": round(seconds, 1)}
    print(f"\nfuzz tally: {json.dumps(line)}")
    path = os.environ.get("MUSTER_FUZZ_TALLY")
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps(line) + "\n")
    return line


def total(path: str) -> dict[str, Any]:
    lines = [json.loads(text) for text in open(path, encoding="utf-8") if text.strip()]
    keys = ("cases", "server_errors", "rejected_that_wrote", "seconds")
    return {"suites": len(lines), **{k: round(sum(line[k] for line in lines), 1) for k in keys}}


if __name__ == "__main__":
    print(json.dumps(total(sys.argv[1])))
