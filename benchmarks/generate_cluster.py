#!/usr/bin/env python3
"""Generate a realistic synthetic cluster as one `kubectl get -o json` style List.

Nodes come in pools the way real fleets do (general purpose in 3 zones and 2 sizes, memory
optimised, tainted GPU and infra pools, a few arm64 nodes, some cordoned or NotReady). Every
node runs the usual DaemonSets (kube-proxy, the CNI agent). The other pods come from many
Deployments and are bound only where they fit: each node's cpu, memory and pod slots are
tracked, so the cluster is busy (~70% of cpu requested) but never overcommitted. A share of
the pods is Pending for a mix of causes (untolerated GPU taint, selector on a label nobody has,
too large, a missing PVC, a deprecated zone label, an untolerated infra taint), each with a
FailedScheduling event. With --full, pods also carry what the API server returns for them:
service account, the projected token volume, an env reference to a ConfigMap, ports, and for
running pods the conditions and container statuses, roughly what `podtriage snapshot` keeps of
a real pod (kubectl's own output adds managedFields and the like, several times the size).

With --distinct-pending, no two Pending pods share a scheduling shape, as in batch and ML clusters:
bare pods with their own cpu and memory requests (the six causes above), the pods of an agent
DaemonSet rolled out with a request that does not fit on the busiest nodes (each pinned to its
node by `matchFields`, as the DaemonSet controller does), and Jobs with their own node selector,
tolerations and requests (a queue label no node has, or more GPUs than any node holds).

    python benchmarks/generate_cluster.py --nodes 5000 --pods 150000 --pending 10000 --seed 1 -o FILE

150k pods take a few seconds: the objects are plain dicts, garbage collection is paused while
they are built, and the file is written with one `json.dumps` (json.dump streams through the
pure-Python encoder and is several times slower).
"""

from __future__ import annotations

import argparse
import bisect
import gc
import json
import random
import sys
from typing import Any

T = "2026-11-20T10:00:00Z"
T_START = "2026-11-20T10:00:04Z"

POOLS = [
    # name, share, cpu, memory, labels, taints, extra allocatable
    ("general-m", 0.45, "4", "16Gi", {"node.kubernetes.io/instance-type": "m6i.xlarge"}, [], {}),
    ("general-l", 0.25, "8", "32Gi", {"node.kubernetes.io/instance-type": "m6i.2xlarge"}, [], {}),
    ("memory", 0.12, "8", "64Gi", {"node.kubernetes.io/instance-type": "r6i.2xlarge", "workload": "memory"}, [], {}),
    ("gpu", 0.06, "32", "256Gi", {"node.kubernetes.io/instance-type": "p4d.24xlarge", "accelerator": "a100"},
     [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}], {"nvidia.com/gpu": "8"}),
    ("infra", 0.07, "4", "16Gi", {"node-role.kubernetes.io/infra": ""},
     [{"key": "dedicated", "value": "infra", "effect": "NoSchedule"}], {}),
    ("arm", 0.05, "4", "16Gi", {"node.kubernetes.io/instance-type": "m7g.xlarge"}, [], {}),
]
ZONES = ["us-east-1a", "us-east-1b", "us-east-1c"]
CPU_M = {"4": 4000, "8": 8000, "32": 32000}
MEM_MI = {"16Gi": 16384, "32Gi": 32768, "64Gi": 65536, "256Gi": 262144}
MAX_PODS = 110
# DaemonSets on every node: name, namespace, cpu millicores, memory MiB
DAEMONSETS = [("kube-proxy", "kube-system", 100, 128), ("aws-node", "kube-system", 25, 64)]
# Deployment pod sizes: mean ~125m cpu and ~330Mi, so 30 pods/node use ~70% of the cpu.
CPU_CHOICES = [10, 25, 50, 50, 100, 100, 100, 150, 250, 400]
MEM_CHOICES = [64, 128, 128, 256, 256, 512, 1024]
DEFAULT_TOLERATIONS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
]

CAUSES = ["gpu-taint", "selector-absent", "too-large", "pvc-missing", "deprecated-zone", "infra-taint"]
# --distinct-pending adds these: an agent DaemonSet's pods on nodes too full for them, and Jobs
# with a queue selector no node matches or more GPUs than any node has.
DISTINCT_CAUSES = ["daemonset-no-room", "job-queue-selector", "job-gpu-too-large"]
AGENT_DS = ("security-agent", "kube-system", 1000, 256)  # name, namespace, cpu millicores, memory MiB
# Why the generator made a pod Pending, on the pod itself, so an audit can be checked against it
# (benchmarks/check_generated_causes.py).
CAUSE_ANNOTATION = "benchmarks.podtriage.dev/pending-cause"
# What kube-scheduler tolerates for every pod: the NoExecute tolerations admission adds.
_TOLERATED = {("node.kubernetes.io/not-ready", "NoExecute"), ("node.kubernetes.io/unreachable", "NoExecute")}


def fit_message(nodes: list[dict[str, Any]], free: dict[str, list[int]], cpu_m: int, mem_mi: int, gpu: int,
                selector: dict[str, str], claim: str = "") -> str:
    """The FailedScheduling text kube-scheduler prints for a pod of this shape (as 1.37 does):
    the first failing filter per node, in the default plugin order, as a string-sorted histogram.
    Written from the generator's own bookkeeping, not from podtriage's emulation."""
    n = len(nodes)
    if claim:  # VolumeBinding's PreFilter rejects the pod before any node is filtered
        return f'0/{n} nodes are available: persistentvolumeclaim "{claim}" not found.'
    hist: dict[str, int] = {}
    for node in nodes:
        name, spec = node["metadata"]["name"], node["spec"]
        labels = node["metadata"]["labels"]
        reasons: list[str] = []
        untolerated = [t for t in spec.get("taints", ()) if t["effect"] in ("NoSchedule", "NoExecute")
                       and (t["key"], t["effect"]) not in _TOLERATED]
        if spec.get("unschedulable"):
            reasons = ["node(s) were unschedulable"]
        elif untolerated:
            t = untolerated[0]
            reasons = [f"node(s) had untolerated taint {{{t['key']}: {t.get('value', '')}}}"]
        elif any(labels.get(k) != v for k, v in selector.items()):
            reasons = ["node(s) didn't match Pod's node affinity/selector"]
        else:
            f = free[name]
            have_gpu = int(node["status"]["allocatable"].get("nvidia.com/gpu", "0"))
            if f[2] <= 0:
                reasons.append("Too many pods")
            if cpu_m > f[0]:
                reasons.append("Insufficient cpu")
            if mem_mi > f[1]:
                reasons.append("Insufficient memory")
            if gpu > have_gpu:
                reasons.append("Insufficient nvidia.com/gpu")
        for r in reasons:
            hist[r] = hist.get(r, 0) + 1
    items = sorted(f"{c} {r}" for r, c in hist.items())
    return f"0/{n} nodes are available: {', '.join(items)}." if items else f"0/{n} nodes are available."


def tolerates(tolerations: list[dict[str, Any]], taint: dict[str, Any]) -> bool:
    for t in tolerations:
        if t.get("effect") and t["effect"] != taint["effect"]:
            continue
        if t.get("operator") == "Exists":
            if not t.get("key") or t["key"] == taint["key"]:
                return True
        elif t.get("key") == taint["key"] and t.get("value", "") == taint.get("value", ""):
            return True
    return False


class FitMessages:
    """fit_message for thousands of distinct pod shapes: the taint and selector stage is computed
    once per (selector, tolerations), and the resource stage counts nodes short of each resource
    with a binary search over their sorted free amounts (same text as fit_message)."""

    def __init__(self, nodes: list[dict[str, Any]], free: dict[str, list[int]]) -> None:
        self.nodes, self.free = nodes, free
        self._stage1: dict[Any, tuple[dict[str, int], list[list[int]], int]] = {}

    def _first_stage(self, selector: dict[str, str], tolerations: list[dict[str, Any]]) -> \
            tuple[dict[str, int], list[list[int]], int]:
        key = (tuple(sorted(selector.items())), json.dumps(tolerations, sort_keys=True))
        got = self._stage1.get(key)
        if got is not None:
            return got
        hist: dict[str, int] = {}
        cpu, mem, gpu = [], [], []
        full = 0
        for node in self.nodes:
            name, spec = node["metadata"]["name"], node["spec"]
            labels = node["metadata"]["labels"]
            untolerated = [t for t in spec.get("taints", ()) if t["effect"] in ("NoSchedule", "NoExecute")
                           and not tolerates(tolerations, t)]
            unschedulable = spec.get("unschedulable") and not tolerates(
                tolerations, {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"})
            reason = ""
            if unschedulable:
                reason = "node(s) were unschedulable"
            elif untolerated:
                t = untolerated[0]
                reason = f"node(s) had untolerated taint {{{t['key']}: {t.get('value', '')}}}"
            elif any(labels.get(k) != v for k, v in selector.items()):
                reason = "node(s) didn't match Pod's node affinity/selector"
            if reason:
                hist[reason] = hist.get(reason, 0) + 1
                continue
            f = self.free[name]
            cpu.append(f[0])
            mem.append(f[1])
            gpu.append(int(node["status"]["allocatable"].get("nvidia.com/gpu", "0")))
            full += f[2] <= 0
        got = self._stage1[key] = (hist, [sorted(cpu), sorted(mem), sorted(gpu)], full)
        return got

    def message(self, cpu_m: int, mem_mi: int, gpu: int, selector: dict[str, str],
                tolerations: list[dict[str, Any]]) -> str:
        hist, (cpu, mem, gpus), full = self._first_stage(selector, tolerations)
        hist = dict(hist)
        # nodes short of a resource: those whose free amount is below the request
        for reason, count in (("Too many pods", full), ("Insufficient cpu", bisect.bisect_left(cpu, cpu_m)),
                              ("Insufficient memory", bisect.bisect_left(mem, mem_mi)),
                              ("Insufficient nvidia.com/gpu", bisect.bisect_left(gpus, gpu))):
            if count:
                hist[reason] = count
        items = sorted(f"{c} {r}" for r, c in hist.items())
        n = len(self.nodes)
        return f"0/{n} nodes are available: {', '.join(items)}." if items else f"0/{n} nodes are available."


def rid(rng: random.Random) -> str:
    """A random (seeded) UUIDv4 string, without the cost of uuid.UUID."""
    x = rng.getrandbits(128)
    x = (x & ~(0xF000 << 64) & ~(0xC000 << 48)) | (0x4000 << 64) | (0x8000 << 48)
    h = f"{x:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def make_nodes(n: int, rng: random.Random) -> list[dict[str, Any]]:
    nodes = []
    weights = [p[1] for p in POOLS]
    for i in range(n):
        pool = rng.choices(POOLS, weights)[0]
        name = f"ip-10-{i // 250}-{i % 250}-{rng.randint(1, 254)}.ec2.internal"
        zone = ZONES[i % 3]
        arch = "arm64" if pool[0] == "arm" else "amd64"
        labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": arch,
                  "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": arch,
                  "topology.kubernetes.io/zone": zone, "topology.kubernetes.io/region": "us-east-1",
                  "eks.amazonaws.com/nodegroup": pool[0], **pool[4]}
        taints = [dict(t) for t in pool[5]]
        unschedulable = rng.random() < 0.01
        ready = "False" if rng.random() < 0.005 else "True"
        if unschedulable:
            taints.append({"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"})
        if ready == "False":
            taints.append({"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"})
        alloc = {"cpu": f"{CPU_M[pool[2]] - 90}m", "memory": f"{MEM_MI[pool[3]] - 700}Mi", "pods": str(MAX_PODS),
                 "ephemeral-storage": "95551679124", **pool[6]}
        capacity = {"cpu": pool[2], "memory": pool[3], "pods": str(MAX_PODS), "ephemeral-storage": "104845292Ki",
                    **pool[6]}
        nodes.append({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "uid": rid(rng), "labels": labels, "creationTimestamp": T},
            "spec": {"taints": taints, "providerID": f"aws:///{zone}/i-{rng.getrandbits(60):015x}",
                     **({"unschedulable": True} if unschedulable else {})},
            "status": {"allocatable": alloc, "capacity": capacity,
                       "conditions": [
                           {"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory",
                            "lastTransitionTime": T},
                           {"type": "DiskPressure", "status": "False", "reason": "KubeletHasNoDiskPressure",
                            "lastTransitionTime": T},
                           {"type": "PIDPressure", "status": "False", "reason": "KubeletHasSufficientPID",
                            "lastTransitionTime": T},
                           {"type": "Ready", "status": ready,
                            "reason": "KubeletReady" if ready == "True" else "KubeletNotReady",
                            "lastTransitionTime": T}],
                       "nodeInfo": {"architecture": arch, "kubeletVersion": "v1.37.2", "osImage": "Bottlerocket OS",
                                    "containerRuntimeVersion": "containerd://2.1.0"}},
        })
    return nodes


def pod_obj(ns: str, name: str, owner: tuple[str, str, str], labels: dict, cpu_m: int, mem_mi: int,
            rng: random.Random, node: str = "", spec_extra: dict | None = None, gpu: int = 0,
            tolerations: list | None = None, full: bool = False) -> dict[str, Any]:
    res: dict[str, Any] = {"requests": {"cpu": f"{cpu_m}m", "memory": f"{mem_mi}Mi"}}
    if gpu:
        res["limits"] = {"nvidia.com/gpu": str(gpu)}
    elif mem_mi >= 256:
        res["limits"] = {"memory": f"{mem_mi * 2}Mi"}
    app = labels.get("app") or labels.get("k8s-app", "x")
    image = f"registry.example.com/{ns}/{app}:1.0"
    token = f"kube-api-access-{rng.getrandbits(20):05x}"
    container: dict[str, Any] = {"name": "app", "image": image, "resources": res}
    spec: dict[str, Any] = {
        "containers": [container], "schedulerName": "default-scheduler",
        "tolerations": tolerations if tolerations is not None else DEFAULT_TOLERATIONS, "volumes": [],
    }
    if full:
        container["ports"] = [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
        container["env"] = [{"name": "DB_HOST", "valueFrom": {"configMapKeyRef": {"name": f"{app}-config",
                                                                                  "key": "db_host"}}}]
        spec.update({"serviceAccountName": "default", "preemptionPolicy": "PreemptLowerPriority", "priority": 0})
        spec["volumes"].append({"name": token, "projected": {"defaultMode": 420, "sources": [
            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
            {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}}]}})
    if node:
        spec["nodeName"] = node
    extra = dict(spec_extra or {})
    spec["volumes"] += extra.pop("volumes", [])
    if not spec["volumes"]:
        del spec["volumes"]
    spec.update(extra)
    qos = "Burstable"
    status: dict[str, Any] = {"phase": "Running" if node else "Pending"}
    if full:
        status["qosClass"] = qos
    if node and full:
        status.update({
            "startTime": T_START,
            "conditions": [{"type": t, "status": "True", "lastTransitionTime": T_START}
                           for t in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady",
                                     "PodScheduled")],
            "containerStatuses": [{"name": "app", "image": image, "ready": True,
                                   "started": True, "restartCount": 0,
                                   "state": {"running": {"startedAt": T_START}}}],
        })
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": ns, "uid": rid(rng), "labels": labels, "creationTimestamp": T,
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": owner[0], "name": owner[1],
                                              "uid": owner[2], "controller": True}]},
            "spec": spec, "status": status}


class _Placer:
    """Binds pods to untainted nodes with room for them (cpu, memory, pod slots)."""

    def __init__(self, nodes: list[dict[str, Any]], rng: random.Random) -> None:
        self.rng = rng
        self.free: dict[str, list[int]] = {}
        for n in nodes:
            a = n["status"]["allocatable"]
            self.free[n["metadata"]["name"]] = [int(a["cpu"][:-1]), int(a["memory"][:-2]), MAX_PODS]
        self.schedulable = [n["metadata"]["name"] for n in nodes if not n["spec"]["taints"]]
        self.cursor = 0

    def take(self, node: str, cpu_m: int, mem_mi: int) -> None:
        f = self.free[node]
        f[0] -= cpu_m
        f[1] -= mem_mi
        f[2] -= 1

    def fits(self, node: str, cpu_m: int, mem_mi: int) -> bool:
        f = self.free[node]
        return f[0] >= cpu_m and f[1] >= mem_mi and f[2] > 0

    def place(self, cpu_m: int, mem_mi: int) -> str | None:
        if not self.schedulable:
            return None
        for _ in range(12):
            node = self.rng.choice(self.schedulable)
            if self.fits(node, cpu_m, mem_mi):
                self.take(node, cpu_m, mem_mi)
                return node
        # Busy cluster: first fit from a moving cursor, so nothing is ever overcommitted.
        n = len(self.schedulable)
        for k in range(n):
            node = self.schedulable[(self.cursor + k) % n]
            if self.fits(node, cpu_m, mem_mi):
                self.cursor = (self.cursor + k) % n
                self.take(node, cpu_m, mem_mi)
                return node
        return None


def generate(n_nodes: int, n_pods: int, n_pending: int, seed: int, full: bool = False,
             distinct: bool = False) -> dict[str, Any]:
    """The cluster as one List. `full` adds what real pods also carry (status conditions and
    container statuses, the service-account token volume, ports, env references): about 2.5x
    the bytes; the default keeps the fields the scheduler filters read. `distinct`: no two
    Pending pods share a scheduling shape (see the module docstring)."""
    rng = random.Random(seed)
    nodes = make_nodes(n_nodes, rng)
    placer = _Placer(nodes, rng)
    items: list[dict[str, Any]] = list(nodes)
    namespaces = [f"team-{i:03d}" for i in range(max(10, n_pods // 1500))]
    running = n_pods - n_pending
    made = 0
    # DaemonSet pods first: one per node (while the pod budget lasts), tolerating every taint.
    for ds, ns, cpu_m, mem in DAEMONSETS:
        ds_uid = rid(rng)
        for n in nodes:
            if made >= running:
                break
            name = n["metadata"]["name"]
            placer.take(name, cpu_m, mem)
            items.append(pod_obj(ns, f"{ds}-{rng.getrandbits(25):05x}", ("DaemonSet", ds, ds_uid),
                                 {"k8s-app": ds}, cpu_m, mem, rng, name, tolerations=[{"operator": "Exists"}],
                                 full=full))
            made += 1
    unplaced = 0
    workloads = 0
    while made < running:
        ns = rng.choice(namespaces)
        app = f"svc-{workloads:05d}"
        workloads += 1
        replicas = min(rng.choice([1, 2, 3, 3, 5, 10, 20]), running - made)
        cpu_m = rng.choice(CPU_CHOICES)
        mem = rng.choice(MEM_CHOICES)
        rs = f"{app}-{rng.getrandbits(32):08x}"
        rs_uid = rid(rng)
        for r in range(replicas):
            node = placer.place(cpu_m, mem)
            made += 1
            if node is None:
                unplaced += 1
                continue
            items.append(pod_obj(ns, f"{rs}-{r:05d}", ("ReplicaSet", rs, rs_uid), {"app": app}, cpu_m, mem, rng,
                                 node, full=full))
    if unplaced:
        print(f"warning: {unplaced} running pods did not fit anywhere and were left out", file=sys.stderr)
    counts = {c: 0 for c in CAUSES}
    app_namespace: dict[str, str] = {}
    messages: dict[str, str] = {}
    if distinct:
        counts.update({c: 0 for c in DISTINCT_CAUSES})
        items += distinct_pending(nodes, placer, namespaces, n_pending, rng, full, counts)
    for i in range(0 if distinct else n_pending):
        cause = CAUSES[i % len(CAUSES)]
        counts[cause] += 1
        app = f"pending-{cause}-{i % 97:02d}"
        # A workload's pods live in one namespace (a ReplicaSet cannot span namespaces).
        ns = app_namespace.setdefault(app, rng.choice(namespaces))
        rs = f"{app}-{(i % 97):08x}"
        extra: dict[str, Any] = {}
        gpu, cpu_m = 0, 250
        if cause == "gpu-taint":
            gpu = 1
        elif cause == "selector-absent":
            extra["nodeSelector"] = {"gpu-node": "true"}
        elif cause == "too-large":
            cpu_m = 64000
        elif cause == "pvc-missing":
            extra["volumes"] = [{"name": "data", "persistentVolumeClaim": {"claimName": f"data-{app}"}}]
        elif cause == "deprecated-zone":
            extra["nodeSelector"] = {"failure-domain.beta.kubernetes.io/zone": "us-east-1a"}
        elif cause == "infra-taint":
            extra["nodeSelector"] = {"node-role.kubernetes.io/infra": ""}
        p = pod_obj(ns, f"{rs}-{i:05d}", ("ReplicaSet", rs, f"00000000-0000-4000-8000-{i % 97:012d}"),
                    {"app": app}, cpu_m, 256, rng, "", extra, gpu, full=full)
        p["metadata"]["annotations"] = {CAUSE_ANNOTATION: cause}
        claim = f"data-{app}" if cause == "pvc-missing" else ""
        key = claim or cause
        if key not in messages:  # every pod of a cause has the same shape (the claim aside)
            messages[key] = fit_message(nodes, placer.free, cpu_m, 256, gpu, extra.get("nodeSelector", {}), claim)
        message = messages[key]
        p["status"]["conditions"] = [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                                      "message": message, "lastTransitionTime": T}]
        items.append(p)
        items.append({"apiVersion": "v1", "kind": "Event",
                      "metadata": {"name": f"{p['metadata']['name']}.1", "namespace": ns, "uid": rid(rng)},
                      "involvedObject": {"kind": "Pod", "name": p["metadata"]["name"], "namespace": ns,
                                         "uid": p["metadata"]["uid"]},
                      "reason": "FailedScheduling", "type": "Warning", "count": 3,
                      "message": message,
                      "firstTimestamp": T, "lastTimestamp": T, "source": {"component": "default-scheduler"}})
    # Storage: a default class and bound claims, so PersistentVolumeClaims count as read and the
    # pending pods' missing claims are reported as missing (not as unknown).
    items.append({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                  "metadata": {"name": "gp3", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
                  "provisioner": "ebs.csi.aws.com", "volumeBindingMode": "WaitForFirstConsumer"})
    for i in range(max(1, n_pods // 100)):
        ns = namespaces[i % len(namespaces)]
        pv_name = f"pvc-{rid(rng)}"
        zone = ZONES[i % 3]
        items.append({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                      "metadata": {"name": f"data-db-{i:05d}", "namespace": ns, "uid": rid(rng)},
                      "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "gp3", "volumeName": pv_name,
                               "resources": {"requests": {"storage": "20Gi"}}},
                      "status": {"phase": "Bound"}})
        items.append({"apiVersion": "v1", "kind": "PersistentVolume",
                      "metadata": {"name": pv_name, "uid": rid(rng)},
                      "spec": {"capacity": {"storage": "20Gi"}, "accessModes": ["ReadWriteOnce"],
                               "storageClassName": "gp3", "csi": {"driver": "ebs.csi.aws.com"},
                               "claimRef": {"kind": "PersistentVolumeClaim", "namespace": ns,
                                            "name": f"data-db-{i:05d}"},
                               "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                                   {"key": "topology.kubernetes.io/zone", "operator": "In", "values": [zone]}]}]}}},
                      "status": {"phase": "Bound"}})
    for ns in ["kube-system", *namespaces]:
        items.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": {
            "kubernetes.io/metadata.name": ns}}})
    return {"apiVersion": "v1", "kind": "List", "metadata": {"generator": "podtriage benchmarks",
                                                             "pendingByCause": counts}, "items": items}


def _pending(p: dict[str, Any], cause: str, message: str, rng: random.Random) -> list[dict[str, Any]]:
    """The Pending pod, marked with its cause and the scheduler's condition, and its event."""
    meta = p["metadata"]
    meta["annotations"] = {CAUSE_ANNOTATION: cause}
    p["status"]["conditions"] = [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                                  "message": message, "lastTransitionTime": T}]
    event = {"apiVersion": "v1", "kind": "Event",
             "metadata": {"name": f"{meta['name']}.1", "namespace": meta["namespace"], "uid": rid(rng)},
             "involvedObject": {"kind": "Pod", "name": meta["name"], "namespace": meta["namespace"],
                                "uid": meta["uid"]},
             "reason": "FailedScheduling", "type": "Warning", "count": 3, "message": message,
             "firstTimestamp": T, "lastTimestamp": T, "source": {"component": "default-scheduler"}}
    return [p, event]


def distinct_pending(nodes: list[dict[str, Any]], placer: _Placer, namespaces: list[str], n_pending: int,
                     rng: random.Random, full: bool, counts: dict[str, int]) -> list[dict[str, Any]]:
    """`n_pending` Pending pods of which no two share a scheduling shape: a fifth are an agent
    DaemonSet's pods on nodes too full for it, two fifths the pods of Jobs (1-4 each) with their own
    selector, tolerations and requests, the rest bare pods with their own requests."""
    out: list[dict[str, Any]] = []
    fits = FitMessages(nodes, placer.free)
    n = len(nodes)
    # The DaemonSet: its pods on the untainted nodes with less free cpu than it asks for (its pods
    # on the other nodes would be Running; they are left out to keep the pod count).
    ds, ds_ns, ds_cpu, ds_mem = AGENT_DS
    ds_uid = rid(rng)
    full_nodes = [name for name in placer.schedulable
                  if placer.free[name][0] < ds_cpu and placer.free[name][1] >= ds_mem and placer.free[name][2] > 0]
    n_ds = min(n_pending // 5, len(full_nodes))
    ds_tolerations = [{"operator": "Exists"}]
    for name in full_nodes[:n_ds]:
        affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [name]}]}]}}}
        p = pod_obj(ds_ns, f"{ds}-{rng.getrandbits(25):07x}", ("DaemonSet", ds, ds_uid), {"k8s-app": ds},
                    ds_cpu, ds_mem, rng, "", {"affinity": affinity}, tolerations=ds_tolerations, full=full)
        # NodeAffinity's PreFilter keeps only the pinned node: the others are not filtered
        items = sorted(["1 Insufficient cpu", f"{n - 1} node(s) didn't satisfy plugin(s) [NodeAffinity]"]) \
            if n > 1 else ["1 Insufficient cpu"]
        out += _pending(p, "daemonset-no-room", f"0/{n} nodes are available: {', '.join(items)}.", rng)
        counts["daemonset-no-room"] += 1
    # Jobs: each its own queue (a label no node has) or the GPU pool with more GPUs than a node holds.
    n_job_pods = (n_pending * 2) // 5
    made, j = 0, 0
    while made < n_job_pods:
        ns = namespaces[j % len(namespaces)]
        job = f"train-{j:05d}"
        job_uid = rid(rng)
        cpu_m, mem = 500 + j, 1024 + (j % 7) * 512
        gpu = 0
        tolerations = DEFAULT_TOLERATIONS + [{"key": f"batch.example.com/team-{j % 50:02d}", "operator": "Exists",
                                              "effect": "NoSchedule"}]
        if j % 2:
            cause, selector = "job-queue-selector", {"batch.example.com/queue": f"queue-{j:05d}"}
        else:
            cause, selector = "job-gpu-too-large", {"accelerator": "a100"}
            gpu = 9 + j % 8
            tolerations = tolerations + [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
        message = fits.message(cpu_m, mem, gpu, selector, tolerations)
        for r in range(min(1 + j % 4, n_job_pods - made)):
            p = pod_obj(ns, f"{job}-{rng.getrandbits(25):07x}", ("Job", job, job_uid),
                        {"batch.kubernetes.io/job-name": job, "app": job}, cpu_m, mem, rng, "",
                        {"nodeSelector": selector, "restartPolicy": "Never"}, gpu, tolerations, full=full)
            p["metadata"]["ownerReferences"][0]["apiVersion"] = "batch/v1"
            out += _pending(p, cause, message, rng)
            counts[cause] += 1
            made += 1
        j += 1
    # Bare pods, each with its own cpu and memory request, for the six causes of the default mix.
    for i in range(n_pending - n_ds - made):
        cause = CAUSES[i % len(CAUSES)]
        ns = namespaces[i % len(namespaces)]
        name = f"adhoc-{cause}-{i:05d}"
        cpu_m, mem = 100 + i % 400, 128 + i // 400
        extra: dict[str, Any] = {}
        gpu, claim = 0, ""
        if cause == "gpu-taint":
            gpu = 1
        elif cause == "selector-absent":
            extra["nodeSelector"] = {"gpu-node": "true"}
        elif cause == "too-large":
            cpu_m = 64000 + i
        elif cause == "pvc-missing":
            claim = f"data-pending-pvc-missing-{i:05d}"
            extra["volumes"] = [{"name": "data", "persistentVolumeClaim": {"claimName": claim}}]
        elif cause == "deprecated-zone":
            extra["nodeSelector"] = {"failure-domain.beta.kubernetes.io/zone": "us-east-1a"}
        elif cause == "infra-taint":
            extra["nodeSelector"] = {"node-role.kubernetes.io/infra": ""}
        p = pod_obj(ns, name, ("", "", ""), {"app": name}, cpu_m, mem, rng, "", extra, gpu, full=full)
        del p["metadata"]["ownerReferences"]
        message = f'0/{n} nodes are available: persistentvolumeclaim "{claim}" not found.' if claim else \
            fits.message(cpu_m, mem, gpu, extra.get("nodeSelector", {}), DEFAULT_TOLERATIONS)
        out += _pending(p, cause, message, rng)
        counts[cause] += 1
    return out


def write(doc: dict[str, Any], path: str) -> None:
    text = json.dumps(doc, separators=(",", ":"))
    with open(path, "w") as f:
        f.write(text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nodes", type=int, default=5000)
    ap.add_argument("--pods", type=int, default=150000)
    ap.add_argument("--pending", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--full", action="store_true",
                    help="pods as a `podtriage snapshot` of a real cluster holds them (status, token volume, "
                         "env refs, ports): ~2.5x larger")
    ap.add_argument("--distinct-pending", action="store_true",
                    help="no two Pending pods alike: bare pods with their own requests, an agent DaemonSet that does "
                         "not fit on full nodes, Jobs with their own selectors and tolerations")
    ap.add_argument("-o", "--output", required=True)
    a = ap.parse_args(argv)
    if a.pending > a.pods:
        ap.error("--pending cannot exceed --pods")
    gc.disable()  # millions of dicts, no cycles: collections would only rescan them
    write(generate(a.nodes, a.pods, a.pending, a.seed, a.full, a.distinct_pending), a.output)
    print(f"wrote {a.output}: {a.nodes} nodes, {a.pods} pods ({a.pending} pending)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
