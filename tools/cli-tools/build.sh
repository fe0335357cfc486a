#!/usr/bin/env bash
# Build (or reuse) the command-line tools the packaging and deployment tests drive, from the pinned
# Go module in this directory: helm (chart lint/template/install), kubectl (the krew plugin route,
# `kubectl kustomize`), krew with validate-krew-manifest, and the Prometheus Pushgateway.
#
#   bash tools/cli-tools/build.sh            # build if needed, print the cache dir
#   PODTRIAGE_TOOLS_CACHE=/some/dir bash tools/cli-tools/build.sh
#   bash tools/cli-tools/build.sh --force    # rebuild even if the cache is warm
#
# Output: <cache>/bin/{helm,kubectl,krew,validate-krew-manifest,pushgateway} and <cache>/stamp.
# Cache dir: $PODTRIAGE_TOOLS_CACHE, else <repo>/.cache/cli-tools (git-ignored); CI (.ci/run) uses
# ~/.cache/podtriage/cli-tools so that a later run on the same machine reuses it.
# The cache is reused when the stamp matches the sha256 of go.mod, go.sum and this script plus the
# Go version; otherwise everything is rebuilt. go.sum pins every module: nothing is resolved here.
# The last line printed on stdout is the absolute cache dir.
set -euo pipefail

# Keep in sync with go.mod (the tests print them; tests/deploy check the binaries report them).
HELM_VERSION="v4.3.2"
KUBECTL_VERSION="v1.37.2"
KREW_VERSION="v0.4.4"
PUSHGATEWAY_VERSION="v1.11.5"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cache="${PODTRIAGE_TOOLS_CACHE:-$repo/.cache/cli-tools}"
force=0
[[ "${1:-}" == "--force" ]] && force=1

die() { echo "cli-tools/build.sh: ERROR: $*" >&2; exit 1; }
log() { echo "cli-tools/build.sh: $*" >&2; }

command -v go >/dev/null 2>&1 || die "Go toolchain not found in PATH (need Go >= 1.26)"

for pin in "helm.sh/helm/v4 ${HELM_VERSION}" "k8s.io/kubernetes ${KUBECTL_VERSION}" \
           "sigs.k8s.io/krew ${KREW_VERSION}" "github.com/prometheus/pushgateway ${PUSHGATEWAY_VERSION}"; do
  grep -qE "^[[:space:]]*${pin//./\\.}( // indirect)?$" "$here/go.mod" \
    || die "build.sh pins '${pin}', go.mod does not: keep them in sync"
done

mkdir -p "$cache" || die "cannot create cache dir $cache"
cache="$(cd "$cache" && pwd)"

export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false"
go_version="$(go env GOVERSION)"
inputs_hash="$(cat "$here/go.mod" "$here/go.sum" "$here/build.sh" | sha256sum | cut -d' ' -f1)"
want_stamp="helm=${HELM_VERSION} kubectl=${KUBECTL_VERSION} krew=${KREW_VERSION} pushgateway=${PUSHGATEWAY_VERSION} go=${go_version} inputs=${inputs_hash}"

bins=(helm kubectl krew validate-krew-manifest pushgateway)
cache_ok() {
  [[ -f "$cache/stamp" ]] || return 1
  [[ "$(head -n1 "$cache/stamp")" == "$want_stamp" ]] || return 1
  local b
  for b in "${bins[@]}"; do [[ -x "$cache/bin/$b" ]] || return 1; done
}

# Serialise concurrent invocations (parallel pytest sessions, two CI jobs on one machine).
exec 9>"$cache/.lock"
flock 9

if [[ $force -eq 0 ]] && cache_ok; then
  log "cache is warm: $cache ($(head -n1 "$cache/stamp"))"
  echo "$cache"
  exit 0
fi

log "building helm ${HELM_VERSION}, kubectl ${KUBECTL_VERSION}, krew ${KREW_VERSION} and pushgateway ${PUSHGATEWAY_VERSION} with ${go_version} into $cache"
start=$(date +%s)

# The version strings each tool prints (`helm version`, `kubectl version --client`, `krew version`),
# as their own release builds set them.
build_date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
kver="${KUBECTL_VERSION#v}"
kube_ld="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  kube_ld+=" -X ${pkg}.gitVersion=${KUBECTL_VERSION} -X ${pkg}.gitMajor=${kver%%.*}"
  kmin="${kver#*.}"; kube_ld+=" -X ${pkg}.gitMinor=${kmin%%.*} -X ${pkg}.gitTreeState=clean"
  kube_ld+=" -X ${pkg}.buildDate=${build_date}"
done
helm_ld="-s -w -X helm.sh/helm/v4/internal/version.version=${HELM_VERSION} -X helm.sh/helm/v4/internal/version.gitTreeState=clean"
krew_ld="-s -w -X sigs.k8s.io/krew/internal/version.gitTag=${KREW_VERSION}"
pgw_ld="-s -w -X github.com/prometheus/common/version.Version=${PUSHGATEWAY_VERSION#v}"

tmp="$cache/bin.new"
rm -rf "$tmp"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
( cd "$here" \
  && go build -trimpath -ldflags "$kube_ld" -o "$tmp/kubectl" k8s.io/kubernetes/cmd/kubectl \
  && go build -trimpath -ldflags "$helm_ld" -o "$tmp/helm" helm.sh/helm/v4/cmd/helm \
  && go build -trimpath -ldflags "$krew_ld" -o "$tmp/" sigs.k8s.io/krew/cmd/krew \
       sigs.k8s.io/krew/cmd/validate-krew-manifest \
  && go build -trimpath -ldflags "$pgw_ld" -o "$tmp/pushgateway" github.com/prometheus/pushgateway
) || die "go build failed in $here (see the go output above; is the module proxy reachable and Go >= 1.26?)"

for b in "${bins[@]}"; do [[ -x "$tmp/$b" ]] || die "build produced no $tmp/$b"; done
"$tmp/helm" version --short >/dev/null 2>&1 || die "built helm does not run"
"$tmp/kubectl" version --client >/dev/null 2>&1 || die "built kubectl does not run"
"$tmp/pushgateway" --version >/dev/null 2>&1 || die "built pushgateway does not run"

rm -rf "$cache/bin"
mv "$tmp" "$cache/bin"
trap - EXIT
elapsed=$(( $(date +%s) - start ))
{
  echo "$want_stamp"
  echo "built=${build_date} seconds=${elapsed}"
} > "$cache/stamp"

log "build took ${elapsed}s"
log "  $("$cache/bin/helm" version --short 2>&1 | head -n1)"
log "  $("$cache/bin/kubectl" version --client 2>&1 | head -n1)"
log "  krew $("$cache/bin/krew" version 2>/dev/null | grep -i gitTag | awk '{print $2}')"
log "  pushgateway $("$cache/bin/pushgateway" --version 2>&1 | head -n1)"
echo "$cache"
