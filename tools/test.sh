#!/usr/bin/env bash
# The project's test command (README): unit tests, fixture cases and the e2e suite against a real
# kube-apiserver + kube-scheduler. Expects the venv from the README quick start (.venv, made by
# tools/setup.sh from the lock file); VENV=DIR runs in another one (tools/test-lowest.sh, test-latest.sh).
set -uo pipefail
cd "$(dirname "$0")/.."
py="${VENV:-.venv}/bin/python"
[ -x "$py" ] || py=python3
if [ "$#" -eq 0 ]; then
  # Lint and type-check first: cheap, and a red check fails the run like a red test.
  "$py" -m ruff check . || exit 1
  "$py" -m mypy || exit 1
fi
"$py" -m pytest -q "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests: failing on purpose" >&2
  exit 1
fi
exit "$rc"
