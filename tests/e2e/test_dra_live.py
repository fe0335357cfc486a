"""`podtriage explain` live against the real kube-scheduler for DRA and node-declared features.

The harness writes DeviceClasses, ResourceSlices and ResourceClaims itself (no DRA driver or kubelet
is needed for scheduling decisions), lets the scheduler try each pod, and runs the CLI as the
`podtriage-cli` identity. Every pod here is refused by the scheduler, so `explain` must exit 1 and
name the cause; never "fits now" with exit 0.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from .controlplane import ExternalCluster
from .differential import Api, ApiError
from .scenarios import top_cause

pytestmark = pytest.mark.e2e

DRIVER = "gpu.example.com"


def _node(api: Api, name: str, features: list[str] | None = None) -> None:
    api.req("POST", "/api/v1/nodes", {"apiVersion": "v1", "kind": "Node",
                                      "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}}})
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    status: dict[str, Any] = {"capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"},
                              "allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"},
                              "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                              "message": "ok", "lastHeartbeatTime": now, "lastTransitionTime": now}]}
    if features:
        status["declaredFeatures"] = features
    api.req("PATCH", f"/api/v1/nodes/{name}/status", {"status": status}, content_type="application/merge-patch+json")


def _wait(api: Api, ns: str, name: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        p = api.req("GET", f"/api/v1/namespaces/{ns}/pods/{name}")
        if any(c.get("type") == "PodScheduled" and c.get("message") for c in p["status"].get("conditions", [])):
            return p
        assert time.monotonic() < deadline, f"no verdict for {name}: {p['status']}"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def dra_cluster(control_plane):
    if isinstance(control_plane, ExternalCluster):
        pytest.skip("deletes every node: not on an external cluster")
    api = Api(control_plane.api_client())
    control_plane.delete_all_nodes()
    sfx = uuid.uuid4().hex[:6]
    ns = control_plane.ensure_namespace(f"e2e-dra-{sfx}")
    cls = f"gpu-{sfx}"
    created: list[str] = []
    _node(api, f"dra-{sfx}-1")
    _node(api, f"dra-{sfx}-2", features=["RestartAllContainersOnContainerExits"])
    created += [f"/api/v1/nodes/dra-{sfx}-1", f"/api/v1/nodes/dra-{sfx}-2"]
    api.req("POST", "/apis/resource.k8s.io/v1/deviceclasses", {
        "apiVersion": "resource.k8s.io/v1", "kind": "DeviceClass", "metadata": {"name": cls},
        "spec": {"selectors": [{"cel": {"expression": f'device.driver == "{DRIVER}"'}}]}})
    created.append(f"/apis/resource.k8s.io/v1/deviceclasses/{cls}")
    api.req("POST", "/apis/resource.k8s.io/v1/resourceslices", {
        "apiVersion": "resource.k8s.io/v1", "kind": "ResourceSlice", "metadata": {"name": f"dra-{sfx}-1-gpu"},
        "spec": {"driver": DRIVER, "nodeName": f"dra-{sfx}-1",
                 "pool": {"name": f"dra-{sfx}-1", "generation": 1, "resourceSliceCount": 1},
                 "devices": [{"name": "gpu-0", "attributes": {"model": {"string": "a100"}}},
                             {"name": "gpu-1", "attributes": {"model": {"string": "l4"}}}]}})
    created.append(f"/apis/resource.k8s.io/v1/resourceslices/dra-{sfx}-1-gpu")

    def claim(name: str, count: int = 1, cel: str = "") -> None:
        ex: dict[str, Any] = {"deviceClassName": cls, "count": count}
        if cel:
            ex["selectors"] = [{"cel": {"expression": cel}}]
        api.req("POST", f"/apis/resource.k8s.io/v1/namespaces/{ns}/resourceclaims", {
            "apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaim", "metadata": {"name": name, "namespace": ns},
            "spec": {"devices": {"requests": [{"name": "gpu", "exactly": ex}]}}})

    def pod(name: str, **spec: Any) -> None:
        body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns},
                "spec": {"containers": [{"name": "m", "image": "registry.k8s.io/pause:3.10"}],
                         "terminationGracePeriodSeconds": 0, **spec}}
        api.req("POST", f"/api/v1/namespaces/{ns}/pods", body)

    claim("too-many", count=3)
    claim("h100", cel=f'device.attributes["{DRIVER}"].model == "h100"')
    pod("too-many", resourceClaims=[{"name": "g", "resourceClaimName": "too-many"}])
    pod("h100", resourceClaims=[{"name": "g", "resourceClaimName": "h100"}])
    pod("no-claim", resourceClaims=[{"name": "g", "resourceClaimName": "absent"}])
    c = {"name": "m", "image": "registry.k8s.io/pause:3.10", "restartPolicy": "Never",
         "restartPolicyRules": [{"action": "RestartAllContainers", "exitCodes": {"operator": "In", "values": [3]}}]}
    pod("features", restartPolicy="Never", containers=[c], nodeSelector={"kubernetes.io/hostname": f"dra-{sfx}-1"})
    verdicts = {n: _wait(api, ns, n) for n in ("too-many", "h100", "features")}
    try:
        yield ns, verdicts
    finally:
        for name in ("too-many", "h100", "no-claim", "features"):
            api.delete(f"/api/v1/namespaces/{ns}/pods/{name}")
        for path in reversed(created):
            try:
                api.delete(path)
            except ApiError:
                pass


@pytest.mark.parametrize(("pod", "rule", "mentions"), [
    ("too-many", "dra-claim-unsatisfiable", ["too-many"]),
    ("h100", "dra-selector-no-match", ['model == "h100"', "a100 (1), l4 (1)"]),
    ("no-claim", "dra-claim-missing", ["`absent`", "does not exist"]),
    ("features", "node-features-missing", ["RestartAllContainersOnContainerExits"]),
])
def test_explain_names_the_dra_and_feature_causes(dra_cluster, podtriage_cli, pod, rule, mentions):
    ns, verdicts = dra_cluster
    res = podtriage_cli.run("explain", pod, "-n", ns, "-o", "json")
    assert res.returncode == 1, res.describe()
    top = top_cause(res.json())
    assert top["rule"] == rule, res.describe()
    for text in mentions:
        assert text in top["message"], top["message"]
    if pod in verdicts:  # the scheduler's own text is what podtriage predicts
        cond = next(c for c in verdicts[pod]["status"]["conditions"] if c["type"] == "PodScheduled")
        ours = res.json()["pods"][0]["scheduler"]["ours"]["message"]
        assert cond["message"].startswith(ours.rstrip(".")), (cond["message"], ours)
