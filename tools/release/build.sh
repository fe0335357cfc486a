#!/usr/bin/env bash
# Build every release artifact into dist/ (or $1), from this checkout, with the locked tools of .venv
# (tools/setup.sh):
#   podtriage-X.tar.gz, podtriage-X-py3-none-any.whl   python -m build, twine check --strict
#   podtriage-X.tgz                                     helm package deploy/helm/podtriage (helm lint first)
#   krew/  kubectl-podtriage_<os>_<arch>.tar.gz, SHA256SUMS, podtriage.yaml   (tools/release/krew.py)
#   image/podtriage-X/   the container image's build context (the unpacked sdist) and the docker command
#   SHA256SUMS           every file above
#
#   bash tools/release/build.sh [OUTDIR]
#   KREW_PLATFORMS="linux/amd64" bash tools/release/build.sh     # fewer krew platforms (each takes ~2 min)
#
# helm comes from tools/cli-tools/build.sh (Go modules), like in the tests.
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${1:-dist}"
py=.venv/bin/python
[ -x "$py" ] || { echo "release: run tools/setup.sh first (the locked build, twine and pex)" >&2; exit 1; }
rm -rf "$out"
mkdir -p "$out"

echo "== sdist and wheel" >&2
"$py" -m build --no-isolation --outdir "$out" . >&2
"$py" -m twine check --strict "$out"/podtriage-*.tar.gz "$out"/podtriage-*.whl >&2
sdist=$(ls "$out"/podtriage-*.tar.gz)
wheel=$(ls "$out"/podtriage-*.whl)
version=$(basename "$wheel" | cut -d- -f2)

echo "== Helm chart" >&2
tools="$(bash tools/cli-tools/build.sh)"
"$tools/bin/helm" lint --strict deploy/helm/podtriage >&2
"$tools/bin/helm" package deploy/helm/podtriage --destination "$out" >&2

echo "== krew archives and manifest" >&2
platforms=()
for p in ${KREW_PLATFORMS:-}; do platforms+=(--platform "$p"); done
"$py" tools/release/krew.py --wheel "$wheel" --out "$out/krew" "${platforms[@]}" >&2

echo "== container image context (the unpacked sdist)" >&2
mkdir -p "$out/image"
tar -xzf "$sdist" -C "$out/image"

(cd "$out" && find . -type f ! -name SHA256SUMS ! -path './image/*' | sort | xargs sha256sum) > "$out/SHA256SUMS"
cat >&2 <<EOF

Release $version in $out/ (checksums in $out/SHA256SUMS). Next:
  twine upload $sdist $wheel
  docker build -f $out/image/podtriage-$version/deploy/Dockerfile -t ghcr.io/podtriage/podtriage:$version $out/image/podtriage-$version
  attach $out/krew/*.tar.gz to the GitHub release v$version; submit $out/krew/podtriage.yaml to krew-index
  helm push $out/podtriage-$version.tgz oci://ghcr.io/podtriage/charts
EOF
