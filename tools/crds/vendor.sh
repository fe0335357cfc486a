#!/usr/bin/env bash
# Vendors the CRD manifests the e2e tests install into the real kube-apiserver (tests/e2e/crds/),
# taken from the projects' published Go modules through the Go module proxy, gzip'd (the Workload
# CRD alone is 1.4 MB of generated schema). The versions and module checksums are written next to
# them (tests/e2e/crds/VERSIONS); rerun after changing a version below, and commit the result.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=tests/e2e/crds
mkdir -p "$OUT"
versions=("# module@version  module sum (go.sum h1:)  files")

# vendor MODULE@VERSION SUBDIR_OF_OUT FILE... : gzip each FILE (a path inside the module) into
# $OUT/SUBDIR (. for $OUT itself) and record the module, its sum and the files in VERSIONS.
vendor() {
  local mod="$1" sub="$2"; shift 2
  local json dir sum f
  json=$(go mod download -json "$mod")
  dir=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])' <<<"$json")
  sum=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["Sum"])' <<<"$json")
  mkdir -p "$OUT/$sub"
  for f in "$@"; do
    gzip -9n <"$dir/$f" >"$OUT/$sub/$(basename "$f").gz"
  done
  local where=""
  [[ "$sub" != "." ]] && where=" (in $sub/)"
  versions+=("$mod  $sum  $*$where")
}

KUEUE=sigs.k8s.io/kueue@v0.17.0
vendor "$KUEUE" . config/components/crd/bases/kueue.x-k8s.io_{workloads,localqueues,clusterqueues,resourceflavors}.yaml
KSERVE=github.com/kserve/kserve@v0.15.2
vendor "$KSERVE" . config/crd/full/serving.kserve.io_inferenceservices.yaml
# The GPU Operator tags its releases v2x.y.z without a /v2x module path, so the proxy serves it only by
# pseudo-version: this one (2024-04-29) is the commit other modules require; its CRD is the one of the
# operator's v24.3 line (the ClusterPolicy fields read here are unchanged since v1.9).
GPUOP=github.com/NVIDIA/gpu-operator@v1.8.3-0.20240429200431-0fe1e8db32b0
vendor "$GPUOP" . config/crd/bases/nvidia.com_clusterpolicies.yaml
# scheduler-plugins (Coscheduling's PodGroup): the proxy lists no versions of it; this exact release is served.
SP=sigs.k8s.io/scheduler-plugins@v0.34.7
vendor "$SP" . config/crd/bases/scheduling.x-k8s.io_podgroups.yaml
# prometheus-operator: the ServiceMonitor and PrometheusRule the chart renders (watch.serviceMonitor,
# prometheusRule), checked against the real schemas in tests/e2e/test_deploy.py. A subfolder: the
# other e2e tests install every *.yaml.gz of $OUT itself.
PROMOP=github.com/prometheus-operator/prometheus-operator@v0.85.0
vendor "$PROMOP" prometheus-operator example/prometheus-operator-crd/monitoring.coreos.com_{servicemonitors,prometheusrules}.yaml

printf '%s\n' "${versions[@]}" >"$OUT/VERSIONS"
echo "vendored $KUEUE, $KSERVE, $GPUOP, $SP and $PROMOP CRDs into $OUT"
