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
# prometheus-operator: the ServiceMonitor and PrometheusRule the chart renders (watch.serviceMonitor,
# prometheusRule), checked against the real schemas in tests/e2e/test_deploy.py. A subfolder: the
# other e2e tests install every *.yaml.gz of $OUT itself.
PROMOP=github.com/prometheus-operator/prometheus-operator@v0.85.0
pjson=$(go mod download -json "$PROMOP")
pdir=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])' <<<"$pjson")
psum=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["Sum"])' <<<"$pjson")
mkdir -p "$OUT/prometheus-operator"
for kind in servicemonitors prometheusrules; do
  gzip -9n <"$pdir/example/prometheus-operator-crd/monitoring.coreos.com_$kind.yaml" >"$OUT/prometheus-operator/monitoring.coreos.com_$kind.yaml.gz"
done
cat >"$OUT/VERSIONS" <<TXT
# module@version  module sum (go.sum h1:)  files
$KUEUE  $sum  config/components/crd/bases/kueue.x-k8s.io_{workloads,localqueues,clusterqueues,resourceflavors}.yaml
$KSERVE  $ksum  config/crd/full/serving.kserve.io_inferenceservices.yaml
$PROMOP  $psum  example/prometheus-operator-crd/monitoring.coreos.com_{servicemonitors,prometheusrules}.yaml (in prometheus-operator/)
TXT
echo "vendored $KUEUE and $KSERVE CRDs into $OUT"
