#!/usr/bin/env bash
# Regenerate the lock files from pyproject.toml (runtime + [test] extra) and requirements/build.in:
#   requirements/test.lock    the newest allowed versions, for Python 3.10+ on every platform (CI, README)
#   requirements/lowest.lock  every direct dependency at its declared lower bound (tools/test-lowest.sh)
#   requirements/runtime.lock the runtime dependencies alone: the container image and the krew zipapp
#   requirements/build.lock   the build backend alone (requirements/build.in): the image's wheel build
# Both carry sha256 hashes; tools/setup.sh installs them with --require-hashes. uv only writes the
# files: it runs from a throwaway venv and nothing else depends on it.
set -euo pipefail
cd "$(dirname "$0")/.."
UV_VERSION=0.13.9
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 -m venv "$tmp/venv"
"$tmp/venv/bin/python" -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
uv="$tmp/venv/bin/uv"
in=(pyproject.toml requirements/build.in --extra test --generate-hashes --quiet)
"$uv" pip compile "${in[@]}" --universal --python-version 3.10 -o requirements/test.lock "$@"
# What ships (deploy/Dockerfile, tools/release/krew.py): the same versions as test.lock, without the test tools.
"$uv" pip compile pyproject.toml --generate-hashes --quiet --universal --python-version 3.10 \
  -c requirements/test.lock -o requirements/runtime.lock "$@"
"$uv" pip compile requirements/build.in --generate-hashes --quiet --universal --python-version 3.10 \
  -c requirements/test.lock -o requirements/build.lock "$@"
# The lowest lock is for this machine's Python (the versions at the bounds predate some wheels).
"$uv" pip compile "${in[@]}" --resolution lowest-direct -o requirements/lowest.lock "$@"
git diff --stat -- requirements/ || true
