#!/bin/sh
# The image's build step (deploy/Dockerfile): install podtriage from the unpacked sdist SRC into a
# virtualenv at PREFIX, which the image's final stage copies as it is.
#   1. a throwaway venv with the build backend from requirements/build.lock (by hash)
#   2. podtriage's wheel, built from SRC with it: no network, no build isolation
#   3. PREFIX: a venv without pip (nor setuptools, whatever the base Python bundles), given the
#      runtime dependencies from requirements/runtime.lock (by hash) and the wheel by the build
#      venv's pip (--python), then checked: pip check, the CLI runs, the rule catalogue loads
set -eu
src=${1:?usage: install.sh SRC PREFIX}
prefix=${2:?usage: install.sh SRC PREFIX}
python=${PYTHON:-python3}
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$python" -m venv "$work/build"
pip="$work/build/bin/python -m pip"
$pip install --quiet --require-hashes --no-deps -r "$src/requirements/build.lock"
$pip wheel --quiet --no-deps --no-build-isolation --wheel-dir "$work/wheels" "$src"

"$python" -m venv --without-pip "$prefix"
$pip --python "$prefix/bin/python" install --quiet --require-hashes --no-deps -r "$src/requirements/runtime.lock"
$pip --python "$prefix/bin/python" install --quiet --no-deps "$work"/wheels/podtriage-*.whl
$pip --python "$prefix/bin/python" check
"$prefix/bin/podtriage" --version
"$prefix/bin/podtriage" rules list > /dev/null
