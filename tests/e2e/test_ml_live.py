"""GPU and ML workloads live: Kueue's, KServe's and the GPU Operator's real CRDs (sigs.k8s.io/kueue
v0.17.0, github.com/kserve/kserve v0.15.2, github.com/NVIDIA/gpu-operator's ClusterPolicy; vendored in
crds/, versions in crds/VERSIONS) in the real kube-apiserver, objects written as their controllers would
leave them, and GPU pools refused by the real kube-scheduler: a device plugin that runs and advertises
0 GPUs; a ClusterPolicy that disables the device plugin and GPU feature discovery.

The objects are those of the offline fixture cases (tools/fixtures/make_issue16_cases.py builds
both), so the CRDs' schemas also check that the fixtures are objects Kueue would accept.
"""

from __future__ import annotations

import copy
import gzip
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from .controlplane import ExternalCluster
from .differential import Api, ApiError
from .scenarios import top_cause

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools" / "fixtures"))
import make_issue16_cases as mk  # noqa: E402

pytestmark = pytest.mark.e2e

CRDS = Path(__file__).parent / "crds"
KUEUE = "/apis/kueue.x-k8s.io/v1beta2"
GPU_OPERATOR = "/apis/nvidia.com/v1/clusterpolicies"


def _install_crds(api: Api) -> None:
    names = []
    for path in sorted(CRDS.glob("*.yaml.gz")):
        crd = yaml.safe_load(gzip.decompress(path.read_bytes()))
        names.append(crd["metadata"]["name"])
        try:
            api.req("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
        except ApiError as e:
            if "409" not in str(e):
                raise
    deadline = time.monotonic() + 60
    for name in names:
        while True:
            crd = api.req("GET", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}")
            if any(c["type"] == "Established" and c["status"] == "True" for c in (crd.get("status") or {}).get("conditions") or []):
                break
            assert time.monotonic() < deadline, f"CRD {name} not established: {crd.get('status')}"
            time.sleep(0.2)
    # the discovery cache of the API server serves the new groups after a moment
    deadline = time.monotonic() + 30
    for path in (f"{KUEUE}/clusterqueues", "/apis/serving.kserve.io/v1beta1/inferenceservices", GPU_OPERATOR,
                 "/apis/scheduling.x-k8s.io/v1alpha1/podgroups"):
        while True:
            try:
                api.req("GET", path)
                break
            except ApiError:
                assert time.monotonic() < deadline
                time.sleep(0.3)


def _clean(obj: dict) -> dict:
    """What a client sends: no uid, timestamps, finalizers (no Kueue controller would remove them) or status."""
    obj = copy.deepcopy(obj)
    meta = obj["metadata"]
    for k in ("uid", "creationTimestamp", "finalizers", "generation", "resourceVersion"):
        meta.pop(k, None)
    obj.pop("status", None)
    return obj


def _create(api: Api, path: str, obj: dict) -> dict:
    """POST the object, then its status (as its controller writes it), returns what the server holds."""
    created = api.req("POST", path, _clean(obj))
    if obj.get("status"):
        name = created["metadata"]["name"]
        created = api.req("PATCH", f"{path}/{name}/status", {"status": obj["status"]},
                          content_type="application/merge-patch+json")
    return created


@pytest.fixture(scope="module")
def kueue_cluster(control_plane):
    if isinstance(control_plane, ExternalCluster):
        pytest.skip("installs CRDs: not on an external cluster")
    api = Api(control_plane.api_client())
    _install_crds(api)
    sfx = uuid.uuid4().hex[:6]
    ns = control_plane.ensure_namespace(f"e2e-kueue-{sfx}")
    flavor, cq = f"a100-{sfx}", f"team-{sfx}"
    cleanup = [f"{KUEUE}/resourceflavors/{flavor}", f"{KUEUE}/clusterqueues/{cq}"]
    for i in (1, 2):  # a GPU pool with room: what holds the pods back is the queue, not the nodes
        _gpu_node(api, f"kueue-{sfx}-{i}", gpus=8)
        cleanup.insert(0, f"/api/v1/nodes/kueue-{sfx}-{i}")
    _create(api, f"{KUEUE}/resourceflavors", mk.flavor(flavor, {"nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB"}))
    _create(api, f"{KUEUE}/clusterqueues", mk.cluster_queue(
        cq, {flavor: {"cpu": "256", "memory": "2Ti", "nvidia.com/gpu": "8"}},
        {flavor: {"cpu": "64", "memory": "512Gi", "nvidia.com/gpu": "8"}}, pending=2, admitted=1))
    _create(api, f"{KUEUE}/namespaces/{ns}/localqueues", mk.local_queue("team-a-gpu", ns, cq, pending=2))
    # A Job of 4 x 4 GPUs (never fits a quota of 8), created suspended with its queue label.
    job = mk.job("llm-pretrain", ns, parallelism=4, gpus=4, queue="team-a-gpu")
    del job["spec"]["selector"], job["spec"]["manualSelector"]
    job["spec"]["template"]["metadata"]["labels"] = {}
    created = api.req("POST", f"/apis/batch/v1/namespaces/{ns}/jobs", _clean(job))
    msg = (f"couldn't assign flavors to pod set main: insufficient quota for nvidia.com/gpu in flavor {flavor}, "
           "previously considered podsets requests (0) + current podset request (16) > maximum capacity (8)")
    wl = mk.workload_for_job(created, "team-a-gpu", ("Pending", msg, ""))
    wl["spec"]["podSets"][0]["template"]["metadata"] = {}
    _create(api, f"{KUEUE}/namespaces/{ns}/workloads", wl)
    # A serving pod gated by Kueue, whose Workload waits for quota (8 of 8 reserved).
    pod = mk.gated_pod("triton-0", ns, "team-a-gpu", gpus=2)
    made = api.req("POST", f"/api/v1/namespaces/{ns}/pods", _clean(pod))
    msg = f"couldn't assign flavors to pod set main: insufficient unused quota for nvidia.com/gpu in flavor {flavor}, 2 more needed"
    _create(api, f"{KUEUE}/namespaces/{ns}/workloads", mk.workload_for_pod(made, "team-a-gpu", ("Pending", msg, "")))
    # A pod gated by Kueue's webhook with no Workload at all: Kueue's controller is not running.
    api.req("POST", f"/api/v1/namespaces/{ns}/pods", _clean(mk.gated_pod("embedder-0", ns, "team-a-gpu")))
    try:
        yield ns, cq, flavor
    finally:
        control_plane.force_delete_pods(ns)
        for path in [f"{KUEUE}/namespaces/{ns}/workloads", f"/apis/batch/v1/namespaces/{ns}/jobs/llm-pretrain"]:
            try:
                if path.endswith("workloads"):
                    for w in api.req("GET", path)["items"]:
                        api.delete(f"{path}/{w['metadata']['name']}")
                else:
                    api.delete(path)
            except ApiError:
                pass
        for path in reversed(cleanup):
            try:
                api.delete(path)
            except ApiError:
                pass


@pytest.mark.parametrize(("target", "rule", "mentions"), [
    ("job/llm-pretrain", "kueue-request-exceeds-quota", ["needs 16 `nvidia.com/gpu`", "at most 8"]),
    ("triton-0", "kueue-quota-exhausted", ["nvidia.com/gpu 8 of 8 nominal used", "insufficient unused quota"]),
    ("embedder-0", "kueue-no-workload", ["no Kueue Workload exists"]),
])
def test_explain_follows_kueue_queues(kueue_cluster, podtriage_cli, target, rule, mentions):
    ns, cq, flavor = kueue_cluster
    res = podtriage_cli.run("explain", target, "-n", ns, "-o", "json")
    assert res.returncode == 1, res.describe()
    top = top_cause(res.json())
    assert top["rule"] == rule, res.describe()
    assert top["category"] == "queue-admission"
    for text in mentions:
        assert text in top["message"], top["message"]
    if rule != "kueue-no-workload":
        assert f"ClusterQueue `{cq}`" in top["message"] and flavor in top["message"]
    # Kueue's objects were read, so nothing about them is reported missing
    assert not [m for m in res.json()["missing"] if "kueue" in m or "workloads" in m], res.json()["missing"]


# --------------------------------------------------------------------------------------------
# A GPU pool whose device plugin runs and finds no GPU


def _gpu_node(api: Api, name: str, gpus: int | None = 0, drop: tuple[str, ...] = ()) -> None:
    doc = mk.gpu_node(name, gpus=gpus)
    for key in drop:
        doc["metadata"]["labels"].pop(key, None)
    api.req("POST", "/api/v1/nodes", {"apiVersion": "v1", "kind": "Node",
                                      "metadata": {"name": name, "labels": doc["metadata"]["labels"]},
                                      "spec": {"taints": doc["spec"]["taints"]}})
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    status: dict[str, Any] = {"capacity": doc["status"]["capacity"], "allocatable": doc["status"]["allocatable"],
                              "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                              "message": "ok", "lastHeartbeatTime": now, "lastTransitionTime": now}]}
    api.req("PATCH", f"/api/v1/nodes/{name}/status", {"status": status}, content_type="application/merge-patch+json")


def test_gpu_plugin_running_but_no_devices(clean_nodes, control_plane, podtriage_cli):
    """Two GPU nodes advertise nvidia.com/gpu: 0 while the device plugin's pods run on them: the
    answer is what is below the plugin, never "install the device plugin"."""
    api = Api(control_plane.api_client())
    sfx = uuid.uuid4().hex[:6]
    ops = control_plane.ensure_namespace(f"e2e-gpu-operator-{sfx}")
    ns = control_plane.ensure_namespace(f"e2e-ml-{sfx}")
    nodes = [f"gpu-{sfx}-1", f"gpu-{sfx}-2"]
    for n in nodes:
        _gpu_node(api, n)
    ds = mk.daemonset("nvidia-device-plugin-daemonset", ops, "nvidia-device-plugin-daemonset",
                      image="nvcr.io/nvidia/k8s-device-plugin:v0.17.4",
                      node_selector={"nvidia.com/gpu.deploy.device-plugin": "true"},
                      tolerations=[mk.GPU_TOLERATION], desired=2, ready=2)
    ds["spec"]["template"]["spec"]["priorityClassName"] = "system-node-critical"
    api.req("POST", f"/apis/apps/v1/namespaces/{ops}/daemonsets", _clean(ds))
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    try:
        for i, n in enumerate(nodes):
            p = mk.operand(ds, n, f"x{i}q7z")
            body = _clean(p)
            del body["metadata"]["ownerReferences"]  # no DaemonSet controller here to own it
            made = api.req("POST", f"/api/v1/namespaces/{ops}/pods", body)
            c = made["spec"]["containers"][0]
            api.req("PATCH", f"/api/v1/namespaces/{ops}/pods/{made['metadata']['name']}/status", {"status": {
                "phase": "Running", "startTime": now,
                "conditions": [{"type": t, "status": "True", "lastTransitionTime": now}
                               for t in ("PodScheduled", "Initialized", "ContainersReady", "Ready")],
                "containerStatuses": [{"name": c["name"], "image": c["image"], "imageID": "", "ready": True,
                                       "restartCount": 0, "started": True, "state": {"running": {"startedAt": now}}}]}},
                content_type="application/merge-patch+json")
        target = _clean(mk.gpu_pod("triton-0", ns))
        target["spec"]["containers"][0]["resources"]["requests"].update(cpu="1", memory="1Gi")
        target["spec"]["terminationGracePeriodSeconds"] = 0
        api.req("POST", f"/api/v1/namespaces/{ns}/pods", target)
        deadline = time.monotonic() + 45
        while True:
            p = api.req("GET", f"/api/v1/namespaces/{ns}/pods/triton-0")
            cond = next((c for c in p["status"].get("conditions", []) if c["type"] == "PodScheduled"), None)
            if cond and cond.get("message"):
                break
            assert time.monotonic() < deadline, p["status"]
            time.sleep(0.2)
        assert "Insufficient nvidia.com/gpu" in cond["message"], cond
        res = podtriage_cli.run("explain", "triton-0", "-n", ns, "-o", "json")
        assert res.returncode == 1, res.describe()
        doc = res.json()
        top = top_cause(doc)
        assert top["rule"] == "accelerator-plugin-sees-no-devices", res.describe()
        assert "Running and ready" in top["message"] and nodes[0] in top["message"]
        assert "missing or not running" not in " ".join(c["message"] for c in doc["rootCauses"])
        assert cond["message"].startswith(doc["pods"][0]["scheduler"]["ours"]["message"].rstrip("."))
    finally:
        control_plane.force_delete_pods(ns)
        control_plane.force_delete_pods(ops)
        try:
            api.delete(f"/apis/apps/v1/namespaces/{ops}/daemonsets/nvidia-device-plugin-daemonset")
        except ApiError:
            pass


def test_inference_service_without_a_runtime(control_plane, podtriage_cli):
    """An InferenceService KServe could not find a runtime for: no Deployment, no pod, and the answer
    is KServe's own failure from the object's status (written through the real CRD's status subresource)."""
    if isinstance(control_plane, ExternalCluster):
        pytest.skip("installs CRDs: not on an external cluster")
    api = Api(control_plane.api_client())
    _install_crds(api)
    ns = control_plane.ensure_namespace(f"e2e-kserve-{uuid.uuid4().hex[:6]}")
    docs = [d for d in mk.CASES["kserve-no-runtime"] if d.get("kind") == "InferenceService"]
    path = f"/apis/serving.kserve.io/v1beta1/namespaces/{ns}/inferenceservices"
    isvc = copy.deepcopy(docs[0])
    isvc["metadata"]["namespace"] = ns
    _create(api, path, isvc)
    try:
        res = podtriage_cli.run("explain", "isvc/llama3", "-n", ns, "-o", "json")
        assert res.returncode == 1, res.describe()
        top = top_cause(res.json())
        assert top["rule"] == "inference-service-no-predictor", res.describe()
        assert "NoSupportingRuntime" in top["message"] and "huggingface" in top["message"]
        assert res.json()["target"] == {"kind": "InferenceService", "namespace": ns, "name": "llama3"}
    finally:
        api.delete(f"{path}/llama3")


def _wait_unschedulable(api: Api, ns: str, name: str) -> str:
    deadline = time.monotonic() + 45
    while True:
        p = api.req("GET", f"/api/v1/namespaces/{ns}/pods/{name}")
        cond = next((c for c in p["status"].get("conditions", []) if c["type"] == "PodScheduled"), None)
        if cond and cond.get("message"):
            return str(cond["message"])
        assert time.monotonic() < deadline, p["status"]
        time.sleep(0.2)


def test_cluster_policy_disables_the_device_plugin_and_feature_discovery(clean_nodes, control_plane, podtriage_cli):
    """The GPU Operator's ClusterPolicy (the real CRD) as the operator leaves it, with the device plugin
    and GPU feature discovery disabled: the nodes advertise no nvidia.com/gpu and carry no
    nvidia.com/gpu.product. A pod requesting a GPU and one selecting the GPU model are refused by the
    real scheduler; the answers name the ClusterPolicy field and the patch that re-enables it."""
    api = Api(control_plane.api_client())
    _install_crds(api)
    sfx = uuid.uuid4().hex[:6]
    ns = control_plane.ensure_namespace(f"e2e-ml-{sfx}")
    nodes = [f"gpu-{sfx}-1", f"gpu-{sfx}-2"]
    for n in nodes:  # no plugin ever registered nvidia.com/gpu; no GFD ever labelled the product
        _gpu_node(api, n, gpus=None, drop=("nvidia.com/gpu.product", "nvidia.com/gpu.count"))
    policy = mk.cluster_policy(disabled=("devicePlugin", "gfd"))
    _create(api, GPU_OPERATOR, policy)
    try:
        held = api.req("GET", f"{GPU_OPERATOR}/cluster-policy")
        assert held["spec"]["devicePlugin"] == {"enabled": False} and held["status"]["state"] == "ready"
        gpu = _clean(mk.gpu_pod("triton-0", ns))
        gpu["spec"]["containers"][0]["resources"]["requests"].update(cpu="1", memory="1Gi")
        by_model = _clean(mk.gpu_pod("bench-0", ns, spec={"nodeSelector": {
            "nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"}, "tolerations": [mk.GPU_TOLERATION]}))
        c = by_model["spec"]["containers"][0]
        c["resources"] = {"requests": {"cpu": "1", "memory": "1Gi"}}
        for body in (gpu, by_model):
            body["spec"]["terminationGracePeriodSeconds"] = 0
            api.req("POST", f"/api/v1/namespaces/{ns}/pods", body)
        assert "Insufficient nvidia.com/gpu" in _wait_unschedulable(api, ns, "triton-0")
        assert "didn't match Pod's node affinity/selector" in _wait_unschedulable(api, ns, "bench-0")

        res = podtriage_cli.run("explain", "triton-0", "-n", ns, "-o", "json")
        assert res.returncode == 1, res.describe()
        top = top_cause(res.json())
        assert top["rule"] == "accelerator-component-disabled", res.describe()
        assert "`spec.devicePlugin.enabled: false`" in top["message"] and nodes[0] in top["message"], top["message"]
        assert '"devicePlugin":{"enabled":true}' in top["fix"], top["fix"]
        assert not [m for m in res.json()["missing"] if "clusterpolicies" in m], res.json()["missing"]

        res = podtriage_cli.run("explain", "bench-0", "-n", ns, "-o", "json")
        assert res.returncode == 1, res.describe()
        top = top_cause(res.json())
        assert top["rule"] == "node-selector-gpu-feature-label-absent", res.describe()
        assert "`spec.gfd.enabled: false`" in top["message"] and "nvidia.com/gpu.product" in top["message"]
        assert '"gfd":{"enabled":true}' in top["fix"] and "kubectl label nodes" not in top["fix"], top["fix"]
    finally:
        control_plane.force_delete_pods(ns)
        api.delete(f"{GPU_OPERATOR}/cluster-policy")


def test_hpa_added_replicas_that_stay_pending(clean_nodes, control_plane, podtriage_cli):
    """A Triton Deployment an HPA scaled from 2 to 6 replicas (2 GPUs each) on a pool of 8 GPUs: the
    real scheduler places 4 and refuses 2. The answer for the Deployment: the pool is full of its own
    replicas (capacity, never "scale down the holders"), and the HPA named as the origin of the
    replicas (min/max/current/desired), its maxReplicas as the owner's second option."""
    api = Api(control_plane.api_client())
    sfx = uuid.uuid4().hex[:6]
    ns = control_plane.ensure_namespace(f"e2e-hpa-{sfx}")
    for i in (1, 2):
        _gpu_node(api, f"gpu-{sfx}-{i}", gpus=4)
    dep, rs = mk.gpu_deployment("triton", ns, "7c9d5f8b6", replicas=6, gpus=2)
    made = api.req("POST", f"/apis/apps/v1/namespaces/{ns}/deployments", _clean(dep))
    rs_body = _clean(rs)
    rs_body["metadata"]["ownerReferences"][0]["uid"] = made["metadata"]["uid"]
    made_rs = api.req("POST", f"/apis/apps/v1/namespaces/{ns}/replicasets", rs_body)
    hpa = mk.hpa("triton", ns, "triton", low=2, high=10, current=6, desired=6)
    _create(api, f"/apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers", hpa)
    try:
        for i in range(6):  # what the ReplicaSet controller creates (no controller-manager runs here)
            body = _clean(mk.gpu_pod(f"triton-7c9d5f8b6-{i}x{sfx[:3]}", ns, gpus=2, owner=("ReplicaSet", rs["metadata"]["name"]),
                                     labels={"app": "triton", "pod-template-hash": "7c9d5f8b6"}))
            body["metadata"]["ownerReferences"][0]["uid"] = made_rs["metadata"]["uid"]
            body["spec"]["terminationGracePeriodSeconds"] = 0
            api.req("POST", f"/api/v1/namespaces/{ns}/pods", body)
        deadline = time.monotonic() + 60
        while True:
            pods = api.req("GET", f"/api/v1/namespaces/{ns}/pods")["items"]
            bound = [p for p in pods if p["spec"].get("nodeName")]
            refused = [p for p in pods if any(c["type"] == "PodScheduled" and c.get("reason") == "Unschedulable"
                                              for c in p["status"].get("conditions", []))]
            if len(bound) == 4 and len(refused) == 2:
                break
            assert time.monotonic() < deadline, (len(bound), len(refused))
            time.sleep(0.3)
        res = podtriage_cli.run("explain", "deployment/triton", "-n", ns, "-o", "json")
        assert res.returncode == 1, res.describe()
        doc = res.json()
        top = top_cause(doc)
        assert top["rule"] == "accelerator-exhausted-by-own-replicas", res.describe()
        assert "scale down" not in top["fix"], top["fix"]
        [ctx] = [c for c in doc["rootCauses"] if c["rule"] == "hpa-replicas-pending"]
        assert not ctx["blocking"]
        assert "HorizontalPodAutoscaler triton scaled deployment/triton to 6 desired replicas (minReplicas 2, " \
               "maxReplicas 10, current 6): 4 placed, 2 Pending" in ctx["message"], ctx["message"]
        assert '"maxReplicas":4' in ctx["fix"], ctx["fix"]
        assert not [m for m in doc["missing"] if "horizontalpodautoscalers" in m], doc["missing"]
    finally:
        control_plane.force_delete_pods(ns)
        for path in (f"/apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers/triton",
                     f"/apis/apps/v1/namespaces/{ns}/replicasets/{rs['metadata']['name']}",
                     f"/apis/apps/v1/namespaces/{ns}/deployments/triton"):
            try:
                api.delete(path)
            except ApiError:
                pass


def test_podgroup_short_of_its_min_member(clean_nodes, control_plane, podtriage_cli):
    """A coscheduling PodGroup (scheduler-plugins' real CRD) asking minMember 4 for a Job that runs 3
    workers. The scheduler-plugins scheduler is not built here, so no scheduler event exists: the
    answer comes from the PodGroup read live and the group's pods, and names the gap and the fix."""
    api = Api(control_plane.api_client())
    _install_crds(api)
    sfx = uuid.uuid4().hex[:6]
    ns = control_plane.ensure_namespace(f"e2e-gang-{sfx}")
    for i in (1, 2, 3, 4):
        _gpu_node(api, f"gpu-{sfx}-{i}", gpus=4)
    job = mk.job("llm-train", ns, parallelism=3, gpus=4, suspend=False)
    del job["spec"]["selector"], job["spec"]["manualSelector"]
    job["spec"]["template"]["metadata"]["labels"] = {"scheduling.x-k8s.io/pod-group": "llm-train"}
    job["spec"]["template"]["spec"]["schedulerName"] = mk.SP_SCHEDULER
    made = api.req("POST", f"/apis/batch/v1/namespaces/{ns}/jobs", _clean(job))
    pg_path = f"/apis/scheduling.x-k8s.io/v1alpha1/namespaces/{ns}/podgroups"
    _create(api, pg_path, mk.pod_group("llm-train", ns, 4))
    try:
        job["metadata"]["uid"] = made["metadata"]["uid"]
        for p in mk.gang_workers(job, 3, "llm-train"):
            body = _clean(p)
            body["metadata"]["ownerReferences"][0]["uid"] = made["metadata"]["uid"]
            body["spec"]["terminationGracePeriodSeconds"] = 0
            api.req("POST", f"/api/v1/namespaces/{ns}/pods", body)
        held = api.req("GET", f"{pg_path}/llm-train")
        assert held["spec"]["minMember"] == 4 and held["status"]["phase"] == "Pending"
        res = podtriage_cli.run("explain", "job/llm-train", "-n", ns, "-o", "json")
        assert res.returncode == 1, res.describe()
        doc = res.json()
        rules = [c["rule"] for c in doc["rootCauses"]]
        top = top_cause(doc)
        assert top["rule"] == "podgroup-min-member-unmet", rules
        assert "needs minMember 4 pods, but only 3 carry its label (1 missing)" in top["message"], top["message"]
        assert '"minMember":3' in top["fix"] and "job/llm-train" in top["fix"], top["fix"]
        assert not [m for m in doc["missing"] if "podgroups" in m], doc["missing"]
    finally:
        control_plane.force_delete_pods(ns)
        for path in (f"{pg_path}/llm-train", f"/apis/batch/v1/namespaces/{ns}/jobs/llm-train"):
            try:
                api.delete(path)
            except ApiError:
                pass


def test_kueue_flavor_affinity_mismatch_on_the_flavor_s_nodes(kueue_cluster, control_plane, podtriage_cli):
    """A ClusterQueue whose only flavor (h100) is refused by Kueue for a pod that still selects the A100
    model: the answer evaluates the pod as admitted on the flavor's nodes and names the one change."""
    ns, _, _ = kueue_cluster
    api = Api(control_plane.api_client())
    sfx = uuid.uuid4().hex[:6]
    docs = mk.CASES["kueue-flavor-affinity-mismatch"]
    pool = f"h100-{sfx}"
    flavor, cq, lq = f"h100-{sfx}", f"team-h-{sfx}", "team-h-gpu"
    nodes = [f"h100-{sfx}-{i}" for i in (1, 2)]
    cleanup = [f"/api/v1/nodes/{n}" for n in nodes] + [f"{KUEUE}/resourceflavors/{flavor}",
                                                       f"{KUEUE}/clusterqueues/{cq}"]
    try:
        for n in nodes:
            doc = mk.gpu_node(n, gpus=8, product="NVIDIA-H100-80GB-HBM3", labels={"pool": pool})
            api.req("POST", "/api/v1/nodes", {"apiVersion": "v1", "kind": "Node", "metadata": {
                "name": n, "labels": doc["metadata"]["labels"]}, "spec": {"taints": doc["spec"]["taints"]}})
            api.req("PATCH", f"/api/v1/nodes/{n}/status", {"status": {
                "capacity": doc["status"]["capacity"], "allocatable": doc["status"]["allocatable"],
                "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "ok"}]}},
                content_type="application/merge-patch+json")
        _create(api, f"{KUEUE}/resourceflavors", mk.flavor(flavor, {"pool": pool}))
        _create(api, f"{KUEUE}/clusterqueues", mk.cluster_queue(
            cq, {flavor: {"cpu": "256", "memory": "2Ti", "nvidia.com/gpu": "16"}}, pending=1))
        _create(api, f"{KUEUE}/namespaces/{ns}/localqueues", mk.local_queue(lq, ns, cq, pending=1))
        pod = copy.deepcopy(next(d for d in docs if d["kind"] == "Pod"))
        pod["metadata"].update(name="h100-triton-0", namespace=ns)
        pod["metadata"]["labels"][mk.QUEUE_LABEL] = lq
        made = api.req("POST", f"/api/v1/namespaces/{ns}/pods", _clean(pod))
        msg = f"couldn't assign flavors to pod set main: flavor {flavor} doesn't match node affinity"
        _create(api, f"{KUEUE}/namespaces/{ns}/workloads", mk.workload_for_pod(made, lq, ("Pending", msg, "")))
        res = podtriage_cli.run("explain", "h100-triton-0", "-n", ns, "-o", "json")
        assert res.returncode == 1, res.describe()
        top = top_cause(res.json())
        assert top["rule"] == "kueue-flavor-unusable", res.describe()
        assert f"flavor {flavor}: on 2 of its 2 node(s)" in top["message"], top["message"]
        assert "fails only on nodeSelector nvidia.com/gpu.product=NVIDIA-A100-SXM4-80GB" in top["message"]
    finally:
        for path in [f"/api/v1/namespaces/{ns}/pods/h100-triton-0"] + list(reversed(cleanup)):
            try:
                api.delete(path)
            except ApiError:
                pass
