#!/usr/bin/env bash
# Create .venv and install podtriage with its test tools from the lock file, so the same commit tests
# the same code on every machine (README quick start, .ci/run).
#
#   bash tools/setup.sh                       # .venv from requirements/test.lock
#   LOCK=requirements/lowest.lock VENV=.venv-lowest bash tools/setup.sh
#
# Every package, the build backend included, comes from the lock with its sha256 (--require-hashes);
# the project itself is installed editable without dependencies or build isolation, so nothing is
# resolved at install time. Regenerate the locks with tools/lock.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
lock="${LOCK:-requirements/test.lock}"
venv="${VENV:-.venv}"
python="${PYTHON:-python3}"
[ -f "$lock" ] || { echo "setup.sh: lock file $lock not found" >&2; exit 1; }

"$python" -m venv "$venv"
# Quiet, but pip's own errors (a hash mismatch, an unreachable index) still reach stderr.
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r "$lock"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
# Fails here, not in the middle of the tests, when the lock misses a dependency.
out="$("$venv/bin/python" -m pip check --disable-pip-version-check)" || { echo "setup.sh: $out" >&2; exit 1; }
