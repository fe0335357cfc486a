#!/usr/bin/env python3
"""Generate a realistic synthetic cluster as one `kubectl get -o json` style List.

Nodes come in pools the way real fleets do (general purpose in 3 zones and 2 sizes, memory
optimised, tainted GPU and infra pools, a few arm64 nodes, some cordoned or NotReady). Pods
come from many Deployments/StatefulSets, bound within each node's capacity; a share is Pending
for a mix of causes (untolerated GPU taint, selector on a label nobody has, too large, a missing
PVC, anti-affinity, a deprecated zone label), each with a FailedScheduling event.

    python benchmarks/generate_cluster.py --nodes 5000 --pods 150000 --pending 10000 --seed 1 -o FILE
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import uuid
from typing import Any

T = "2026-11-20T10:00:00Z"

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


def rid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


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
        alloc = {"cpu": f"{CPU_M[pool[2]] - 90}m", "memory": f"{MEM_MI[pool[3]] - 700}Mi", "pods": "110",
                 "ephemeral-storage": "95551679124", **pool[6]}
        nodes.append({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "uid": rid(rng), "labels": labels, "creationTimestamp": T},
            "spec": {"taints": taints, **({"unschedulable": True} if unschedulable else {})},
            "status": {"allocatable": alloc, "capacity": alloc,
                       "conditions": [{"type": "Ready", "status": ready, "reason": "KubeletReady",
                                       "lastTransitionTime": T}]},
        })
    return nodes


def pod_obj(ns: str, name: str, owner: tuple[str, str], labels: dict, cpu_m: int, mem_mi: int, rng: random.Random,
            node: str = "", spec_extra: dict | None = None, gpu: int = 0) -> dict[str, Any]:
    res: dict[str, Any] = {"requests": {"cpu": f"{cpu_m}m", "memory": f"{mem_mi}Mi"}}
    if gpu:
        res["limits"] = {"nvidia.com/gpu": str(gpu)}
    spec: dict[str, Any] = {"containers": [{"name": "app", "image": f"registry.example.com/{ns}/{labels['app']}:1.0",
                                            "resources": res}],
                            "schedulerName": "default-scheduler",
                            "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists",
                                             "effect": "NoExecute", "tolerationSeconds": 300}]}
    if node:
        spec["nodeName"] = node
    spec.update(spec_extra or {})
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": ns, "uid": rid(rng), "labels": labels, "creationTimestamp": T,
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": owner[0], "name": owner[1],
                                              "uid": rid(rng), "controller": True}]},
            "spec": spec, "status": {"phase": "Running" if node else "Pending"}}


CAUSES = ["gpu-taint", "selector-absent", "too-large", "pvc-missing", "deprecated-zone", "infra-taint"]


def generate(n_nodes: int, n_pods: int, n_pending: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    nodes = make_nodes(n_nodes, rng)
    # remaining millicores and pod slots per node ("3910m" -> 3910)
    free = {n["metadata"]["name"]: [int(n["status"]["allocatable"]["cpu"][:-1]), 110] for n in nodes}
    schedulable = [n["metadata"]["name"] for n in nodes if not n["spec"]["taints"]]
    items: list[dict[str, Any]] = list(nodes)
    namespaces = [f"team-{i:03d}" for i in range(max(10, n_pods // 1500))]
    running = n_pods - n_pending
    workloads: list[tuple[str, str, int, int]] = []
    made = 0
    while made < running:
        ns = rng.choice(namespaces)
        app = f"svc-{len(workloads):05d}"
        replicas = min(rng.choice([1, 2, 3, 3, 5, 10, 20]), running - made)
        cpu_m = rng.choice([50, 100, 100, 250, 250, 500, 1000])
        mem = rng.choice([64, 128, 256, 512, 1024])
        workloads.append((ns, app, cpu_m, mem))
        rs = f"{app}-{rng.getrandbits(32):08x}"
        for r in range(replicas):
            for _ in range(8):
                node = rng.choice(schedulable)
                if free[node][0] >= cpu_m and free[node][1] > 0:
                    break
            free[node][0] -= cpu_m
            free[node][1] -= 1
            items.append(pod_obj(ns, f"{rs}-{r:05d}", ("ReplicaSet", rs), {"app": app}, cpu_m, mem, rng, node))
            made += 1
    counts = {c: 0 for c in CAUSES}
    for i in range(n_pending):
        cause = CAUSES[i % len(CAUSES)]
        counts[cause] += 1
        ns = rng.choice(namespaces)
        app = f"pending-{cause}-{i % 97:02d}"
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
        p = pod_obj(ns, f"{rs}-{i:05d}", ("ReplicaSet", rs), {"app": app}, cpu_m, 256, rng, "", extra, gpu)
        p["status"]["conditions"] = [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                                      "message": f"0/{n_nodes} nodes are available: (synthetic)",
                                      "lastTransitionTime": T}]
        items.append(p)
        items.append({"apiVersion": "v1", "kind": "Event",
                      "metadata": {"name": f"{p['metadata']['name']}.1", "namespace": ns, "uid": rid(rng)},
                      "involvedObject": {"kind": "Pod", "name": p["metadata"]["name"], "namespace": ns,
                                         "uid": p["metadata"]["uid"]},
                      "reason": "FailedScheduling", "type": "Warning", "count": 3,
                      "message": f"0/{n_nodes} nodes are available: (synthetic)",
                      "firstTimestamp": T, "lastTimestamp": T, "source": {"component": "default-scheduler"}})
    for ns in namespaces:
        items.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": {
            "kubernetes.io/metadata.name": ns}}})
    return {"apiVersion": "v1", "kind": "List", "metadata": {"generator": "podtriage benchmarks",
                                                             "pendingByCause": counts}, "items": items}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nodes", type=int, default=5000)
    ap.add_argument("--pods", type=int, default=150000)
    ap.add_argument("--pending", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("-o", "--output", required=True)
    a = ap.parse_args(argv)
    if a.pending > a.pods:
        ap.error("--pending cannot exceed --pods")
    doc = generate(a.nodes, a.pods, a.pending, a.seed)
    with open(a.output, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
    print(f"wrote {a.output}: {a.nodes} nodes, {a.pods} pods ({a.pending} pending)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
