#!/usr/bin/env bash
# Build (or reuse) a real kube-apiserver, kube-scheduler and etcd for the
# podtriage e2e test suite, from the pinned Go module in this directory.
#
#   bash tools/k8s/build.sh            # build if needed, print the cache dir
#   PODTRIAGE_K8S_CACHE=/some/dir bash tools/k8s/build.sh
#   bash tools/k8s/build.sh --force    # rebuild even if the cache is warm
#
# Output: <cache>/bin/{kube-apiserver,kube-scheduler,etcd} and <cache>/stamp.
# Cache dir: $PODTRIAGE_K8S_CACHE, else <repo>/.cache/k8s (git-ignored).
# The cache is reused when the stamp matches the sha256 of go.mod, go.sum and
# this script plus the Go version; otherwise everything is rebuilt.
# The last line printed on stdout is the absolute cache dir.
set -euo pipefail

# Keep these in sync with go.mod (require k8s.io/kubernetes + staging replaces).
KUBE_VERSION="v1.37.2"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cache="${PODTRIAGE_K8S_CACHE:-$repo/.cache/k8s}"
force=0
[[ "${1:-}" == "--force" ]] && force=1

die() { echo "build.sh: ERROR: $*" >&2; exit 1; }
log() { echo "build.sh: $*" >&2; }

command -v go >/dev/null 2>&1 || die "Go toolchain not found in PATH (need Go >= 1.26 to build Kubernetes ${KUBE_VERSION})"

grep -q "^require k8s.io/kubernetes ${KUBE_VERSION}\$\|^	k8s.io/kubernetes ${KUBE_VERSION}\b" "$here/go.mod" \
  || die "KUBE_VERSION=${KUBE_VERSION} in build.sh does not match the k8s.io/kubernetes version in $here/go.mod"

mkdir -p "$cache" || die "cannot create cache dir $cache"
cache="$(cd "$cache" && pwd)"

export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false"
go_version="$(go env GOVERSION)"
inputs_hash="$(cat "$here/go.mod" "$here/go.sum" "$here/build.sh" | sha256sum | cut -d' ' -f1)"
want_stamp="kubernetes=${KUBE_VERSION} go=${go_version} inputs=${inputs_hash}"

bins=(kube-apiserver kube-scheduler etcd)
cache_ok() {
  [[ -f "$cache/stamp" ]] || return 1
  [[ "$(head -n1 "$cache/stamp")" == "$want_stamp" ]] || return 1
  local b
  for b in "${bins[@]}"; do [[ -x "$cache/bin/$b" ]] || return 1; done
}

# Serialise concurrent invocations (e.g. parallel pytest sessions).
exec 9>"$cache/.lock"
flock 9

if [[ $force -eq 0 ]] && cache_ok; then
  log "cache is warm: $cache ($(head -n1 "$cache/stamp"))"
  echo "$cache"
  exit 0
fi

log "building Kubernetes ${KUBE_VERSION} (kube-apiserver, kube-scheduler) and etcd with ${go_version} into $cache"
log "this takes several minutes on a cold Go build cache"
start=$(date +%s)

etcd_version="$(cd "$here" && go list -m -f '{{.Version}}' go.etcd.io/etcd/server/v3)" \
  || die "cannot resolve the etcd version from $here/go.mod (module download failed?)"

ver="${KUBE_VERSION#v}"
major="${ver%%.*}"
minor="${ver#*.}"; minor="${minor%%.*}"
build_date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X ${pkg}.gitVersion=${KUBE_VERSION}"
  ldflags+=" -X ${pkg}.gitMajor=${major}"
  ldflags+=" -X ${pkg}.gitMinor=${minor}"
  ldflags+=" -X ${pkg}.gitCommit="
  ldflags+=" -X ${pkg}.gitTreeState=clean"
  ldflags+=" -X ${pkg}.buildDate=${build_date}"
done

tmp="$cache/bin.new"
rm -rf "$tmp"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
# (set -e does not apply inside a subshell tested with ||, hence the &&.)
( cd "$here" \
  && go build -trimpath -ldflags "$ldflags" -o "$tmp/" \
       k8s.io/kubernetes/cmd/kube-apiserver \
       k8s.io/kubernetes/cmd/kube-scheduler \
  && go build -trimpath -ldflags "-s -w" -o "$tmp/etcd" go.etcd.io/etcd/server/v3
) || die "go build failed in $here (see the go output above; is the module proxy reachable and Go >= 1.26?)"

for b in "${bins[@]}"; do [[ -x "$tmp/$b" ]] || die "build produced no $tmp/$b"; done
"$tmp/kube-apiserver" --version >/dev/null 2>&1 || die "built kube-apiserver does not run"
"$tmp/etcd" --version >/dev/null 2>&1 || die "built etcd does not run"

rm -rf "$cache/bin"
mv "$tmp" "$cache/bin"
trap - EXIT
elapsed=$(( $(date +%s) - start ))
{
  echo "$want_stamp"
  echo "etcd=${etcd_version}"
  echo "built=${build_date} seconds=${elapsed}"
} > "$cache/stamp"

log "cold build took ${elapsed}s"
for b in "${bins[@]}"; do
  log "  $(du -h "$cache/bin/$b" | cut -f1)  bin/$b  ($("$cache/bin/$b" --version 2>&1 | head -n1))"
done
echo "$cache"
