#!/usr/bin/env bash
# Drift, seen before it reaches main: resolve the newest versions pyproject.toml allows today (no lock),
# install them into .venv-latest and run the test command there. Arguments go to pytest.
# When this fails and the locked run passes, a new release broke something: fix it, or narrow the
# range, then refresh the lock with tools/lock.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv-latest
python3 -m venv --clear "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade --upgrade-strategy eager -e '.[test]'
"$venv/bin/python" -m pip list --disable-pip-version-check --format=freeze | grep -v '^podtriage=='
VENV="$venv" bash tools/test.sh "$@"
