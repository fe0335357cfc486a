#!/usr/bin/env bash
# Are the declared lower bounds true? Install every direct dependency at its lowest allowed version
# (requirements/lowest.lock) into .venv-lowest and run the test command there. Arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
LOCK=requirements/lowest.lock VENV=.venv-lowest bash tools/setup.sh
VENV=.venv-lowest bash tools/test.sh "$@"
