#!/usr/bin/env bash
# Build (or reuse) promtool from the pinned Go module in this directory (github.com/prometheus/
# prometheus/cmd/promtool), for the alert rules' tests: `promtool check rules` and `promtool test
# rules` on deploy/prometheus/podtriage-rules.yaml and tests/deploy/alerts/*.yaml.
#
#   bash tools/promtool/build.sh            # build if needed, print the cache dir
#   PODTRIAGE_PROMTOOL_CACHE=/some/dir bash tools/promtool/build.sh
#   bash tools/promtool/build.sh --force    # rebuild even if the cache is warm
#
# Output: <cache>/bin/promtool and <cache>/stamp. Cache dir: $PODTRIAGE_PROMTOOL_CACHE, else
# <repo>/.cache/promtool (git-ignored); CI (.ci/run) uses ~/.cache/podtriage/promtool so that a later
# run on the same machine reuses it. The cache is reused when the stamp matches the sha256 of go.mod,
# go.sum and this script plus the Go version. go.sum pins every module: nothing is resolved here.
# The last line printed on stdout is the absolute cache dir.
set -euo pipefail

# Keep in sync with go.mod (prometheus v0.316.0 is Prometheus 3.16.0; tests check `promtool --version`).
PROMETHEUS_MODULE_VERSION="v0.316.0"
PROMETHEUS_VERSION="3.16.0"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cache="${PODTRIAGE_PROMTOOL_CACHE:-$repo/.cache/promtool}"
force=0
[[ "${1:-}" == "--force" ]] && force=1

die() { echo "promtool/build.sh: ERROR: $*" >&2; exit 1; }
log() { echo "promtool/build.sh: $*" >&2; }

command -v go >/dev/null 2>&1 || die "Go toolchain not found in PATH (need Go >= 1.26.7)"
grep -qE "^[[:space:]]*github\.com/prometheus/prometheus ${PROMETHEUS_MODULE_VERSION//./\\.}( // indirect)?$" "$here/go.mod" \
  || die "build.sh pins prometheus ${PROMETHEUS_MODULE_VERSION}, go.mod does not: keep them in sync"

mkdir -p "$cache" || die "cannot create cache dir $cache"
cache="$(cd "$cache" && pwd)"

export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false"
go_version="$(go env GOVERSION)"
inputs_hash="$(cat "$here/go.mod" "$here/go.sum" "$here/build.sh" | sha256sum | cut -d' ' -f1)"
want_stamp="promtool=${PROMETHEUS_VERSION} module=${PROMETHEUS_MODULE_VERSION} go=${go_version} inputs=${inputs_hash}"

cache_ok() {
  [[ -f "$cache/stamp" ]] || return 1
  [[ "$(head -n1 "$cache/stamp")" == "$want_stamp" ]] || return 1
  [[ -x "$cache/bin/promtool" ]]
}

# Serialise concurrent invocations (parallel pytest sessions, two CI jobs on one machine).
exec 9>"$cache/.lock"
flock 9

if [[ $force -eq 0 ]] && cache_ok; then
  log "cache is warm: $cache ($(head -n1 "$cache/stamp"))"
  echo "$cache"
  exit 0
fi

log "building promtool ${PROMETHEUS_VERSION} (${PROMETHEUS_MODULE_VERSION}) with ${go_version} into $cache"
start=$(date +%s)
build_date="$(date -u +%Y%m%d-%H:%M:%S)"
# The version string `promtool --version` prints, as Prometheus' release builds set it.
ld="-s -w -X github.com/prometheus/common/version.Version=${PROMETHEUS_VERSION}"
ld+=" -X github.com/prometheus/common/version.Branch=HEAD -X github.com/prometheus/common/version.BuildDate=${build_date}"

tmp="$cache/bin.new"
rm -rf "$tmp"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
( cd "$here" && go build -trimpath -ldflags "$ld" -o "$tmp/promtool" github.com/prometheus/prometheus/cmd/promtool ) \
  || die "go build failed in $here (see the go output above; is the module proxy reachable and Go >= 1.26.7?)"
"$tmp/promtool" --version >/dev/null 2>&1 || die "built promtool does not run"

rm -rf "$cache/bin"
mv "$tmp" "$cache/bin"
trap - EXIT
elapsed=$(( $(date +%s) - start ))
{
  echo "$want_stamp"
  echo "built=${build_date} seconds=${elapsed}"
} > "$cache/stamp"

log "build took ${elapsed}s"
log "  $("$cache/bin/promtool" --version 2>&1 | head -n1)"
echo "$cache"
