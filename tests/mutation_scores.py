"""Per-file mutation scores of the pure core from mutmut's results (README "Mutation testing").

Run from the repository after `mutmut run`: `python tests/mutation_scores.py [mutants-dir]`.
A mutant counts as caught when a test failed (killed) or hung (timeout); "no tests" and
"survived" are changes no unit test notices. Not a test module: pytest does not collect it.
"""

import json
import sys
from collections import Counter
from pathlib import Path

from mutmut.stats import status_by_exit_code

FILES = ("command/domain/site_state.py", "command/domain/decide.py",
         "command/domain/reunification_rules.py", "command/domain/policy.py",
         "command/domain/accounting.py", "command/domain/alert_rules.py", "command/domain/board.py",
         "command/domain/board_case.py", "command/domain/board_render.py",
         "command/domain/redact.py")
CAUGHT = ("killed", "timeout")


def counts(meta: Path) -> Counter[str]:
    codes = json.loads(meta.read_text())["exit_code_by_key"]
    return Counter(status_by_exit_code[code] for code in codes.values())


def main(root: Path) -> int:
    print(f"{'file':<28}{'killed':>8}{'timeout':>9}{'survived':>10}{'no tests':>10}"
          f"{'other':>7}{'total':>7}{'score':>9}")
    overall: Counter[str] = Counter()
    for name in FILES:
        meta = root / f"{name}.meta"
        if not meta.is_file():
            print(f"{name:<28}  no results at {meta}")
            continue
        c = counts(meta)
        overall += c
        print(row(name, c))
    print(row("all", overall))
    return 0


def row(name: str, c: Counter[str]) -> str:
    total = sum(c.values())
    other = total - sum(c[s] for s in (*CAUGHT, "survived", "no tests"))
    score = 100 * sum(c[s] for s in CAUGHT) / total if total else 0.0
    return (f"{name:<28}{c['killed']:>8}{c['timeout']:>9}{c['survived']:>10}{c['no tests']:>10}"
            f"{other:>7}{total:>7}{score:>8.1f}%")


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "mutants")))
