#!/usr/bin/env bash
# Vendors the CRD manifests the e2e tests install into the real kube-apiserver (tests/e2e/crds/),
# taken from the projects' published Go modules through the Go module proxy, gzip'd (the Workload
# CRD alone is 1.4 MB of generated schema). The versions and module checksums are written next to
# them (tests/e2e/crds/VERSIONS); rerun after changing a version below, and commit the result.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=tests/e2e/crds
KUEUE=sigs.k8s.io/kueue@v0.17.0
mkdir -p "$OUT"
json=$(go mod download -json "$KUEUE")
dir=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])' <<<"$json")
sum=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["Sum"])' <<<"$json")
for kind in workloads localqueues clusterqueues resourceflavors; do
  gzip -9n <"$dir/config/components/crd/bases/kueue.x-k8s.io_$kind.yaml" >"$OUT/kueue.x-k8s.io_$kind.yaml.gz"
done
KSERVE=github.com/kserve/kserve@v0.15.2
kjson=$(go mod download -json "$KSERVE")
kdir=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])' <<<"$kjson")
ksum=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["Sum"])' <<<"$kjson")
gzip -9n <"$kdir/config/crd/full/serving.kserve.io_inferenceservices.yaml" >"$OUT/serving.kserve.io_inferenceservices.yaml.gz"
# The GPU Operator tags its releases v2x.y.z without a /v2x module path, so the proxy serves it only by
# pseudo-version: this one (2024-04-29) is the commit other modules require; its CRD is the one of the
# operator's v24.3 line (the ClusterPolicy fields read here are unchanged since v1.9).
GPUOP=github.com/NVIDIA/gpu-operator@v1.8.3-0.20240429200431-0fe1e8db32b0
gjson=$(go mod download -json "$GPUOP")
gdir=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])' <<<"$gjson")
gsum=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["Sum"])' <<<"$gjson")
gzip -9n <"$gdir/config/crd/bases/nvidia.com_clusterpolicies.yaml" >"$OUT/nvidia.com_clusterpolicies.yaml.gz"
# scheduler-plugins (Coscheduling's PodGroup): the proxy lists no versions of it; this exact release is served.
SP=sigs.k8s.io/scheduler-plugins@v0.34.7
sjson=$(go mod download -json "$SP")
sdir=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])' <<<"$sjson")
ssum=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["Sum"])' <<<"$sjson")
gzip -9n <"$sdir/config/crd/bases/scheduling.x-k8s.io_podgroups.yaml" >"$OUT/scheduling.x-k8s.io_podgroups.yaml.gz"
cat >"$OUT/VERSIONS" <<TXT
# module@version  module sum (go.sum h1:)  files
$KUEUE  $sum  config/components/crd/bases/kueue.x-k8s.io_{workloads,localqueues,clusterqueues,resourceflavors}.yaml
$KSERVE  $ksum  config/crd/full/serving.kserve.io_inferenceservices.yaml
$GPUOP  $gsum  config/crd/bases/nvidia.com_clusterpolicies.yaml
$SP  $ssum  config/crd/bases/scheduling.x-k8s.io_podgroups.yaml
TXT
echo "vendored $KUEUE, $KSERVE, $GPUOP and $SP CRDs into $OUT"
