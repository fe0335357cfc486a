"""Differential testing: podtriage's Filter emulation against the real kube-scheduler.

A seeded generator (`generate(seed)`) builds a random scenario: 2-12 nodes (zones, disk types,
custom labels, taints of every effect, cordons with and without the unschedulable taint,
NotReady nodes with the not-ready taint, varied cpu/memory/pods/nvidia.com/gpu), pods already
bound to them (requests, labels, host ports, required anti-affinity) and several pending pods
(nodeSelector, required node affinity with every operator and sometimes matchFields, tolerations
with near misses, requests with init containers and sidecars, host ports, topology spread
constraints, pod affinity and anti-affinity).

`DifferentialRunner.run_scenario` creates the objects on a real control plane
(tests/e2e/controlplane.py), lets the real scheduler try each pending pod, one at a time, and
reads the verdict back: the PodScheduled condition's FitError (the FailedScheduling text) or the
node it bound the pod to. The objects *as the API server returned them* (defaults applied, as
podtriage's live collector would read them) go through `SnapshotBuilder` into
`podtriage.scheduler.framework.evaluate`, and `compare` checks:

- pod not scheduled: the scheduler's per-reason node counts (`parse_fit_message(...)`, PreFilter
  included) equal podtriage's, reduced the same way (first failing filter per node, one count
  per printed reason, so "Insufficient cpu" and "Insufficient memory" of one node count once
  each, as in the scheduler's histogram), and the node totals agree;
- pod scheduled: podtriage finds the scheduler's node feasible.

Every pending pod is deleted before the next one is created, so each verdict is taken against
exactly the objects podtriage sees (a bound pod would change the cluster; a Pending one would be
retried, and maybe bound, on later cluster events).

Anything that disagrees must be a podtriage bug or one of the narrow, documented
`LIMITATIONS` below.
"""

from __future__ import annotations

import json
import random
import re
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from podtriage.evidence.messages import FitMessage, parse_fit_message
from podtriage.evidence.timeline import compare_counts
from podtriage.scheduler.framework import ClusterState, Evaluation, evaluate
from podtriage.scheduler.preemption import PostFilter, postfilter
from podtriage.snapshot import SnapshotBuilder

ZONE = "topology.kubernetes.io/zone"
HOST = "kubernetes.io/hostname"
DISK = "disktype"
TIER = "podtriage.io/tier"
CORES = "podtriage.io/cores"
GPU = "nvidia.com/gpu"
UNSCHEDULABLE_TAINT = "node.kubernetes.io/unschedulable"
NOT_READY_TAINT = "node.kubernetes.io/not-ready"
PAUSE = "registry.k8s.io/pause:3.10"
PROBE_LABEL = "podtriage.io/diff-probe"

ZONES = ("zone-a", "zone-b", "zone-c")
TAINT_KEYS = ("dedicated", "gpu", "spot", "example.com/team")
TAINT_VALUES = ("", "a", "b")
EFFECTS = ("NoSchedule", "NoExecute", "PreferNoSchedule")
APPS = ("web", "db", "cache")


# ---------------------------------------------------------------------------------------------
# Scenario


@dataclass
class Scenario:
    """Everything one scenario creates, as Kubernetes manifests (dicts)."""

    seed: int
    name: str  # DNS-1123 prefix for node names and the namespace
    namespace: str
    other_namespace: str | None  # a second namespace holding some bound pods, or None
    nodes: list[dict[str, Any]]  # manifests with spec and status
    bound_pods: list[dict[str, Any]]  # spec.nodeName set
    pending_pods: list[dict[str, Any]]
    family: str = "core"  # which generator made it (tests/e2e/families.py for the others)
    # other objects (PVs, claims, classes, slices, PDBs, ...), created before the bound pods in
    # order; `status` is written through the status subresource; "_delete": deleted once created
    objects: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"seed": self.seed, "name": self.name, "namespace": self.namespace,
                "other_namespace": self.other_namespace, "nodes": self.nodes,
                "bound_pods": self.bound_pods, "pending_pods": self.pending_pods, "family": self.family,
                "objects": self.objects}


def _qty_cpu(milli: int) -> str:
    return f"{milli // 1000}" if milli % 1000 == 0 else f"{milli}m"


def _taint(key: str, value: str, effect: str) -> dict[str, str]:
    t = {"key": key, "effect": effect}
    if value:
        t["value"] = value
    return t


def _gen_node(r: random.Random, name: str) -> dict[str, Any]:
    labels = {HOST: name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"}
    if r.random() < 0.9:
        labels[ZONE] = r.choice(ZONES)
    if r.random() < 0.7:
        labels[DISK] = r.choice(("ssd", "hdd"))
    if r.random() < 0.5:
        labels[TIER] = r.choice(("gold", "silver", "bronze"))
    if r.random() < 0.6:
        labels[CORES] = str(r.choice((2, 4, 8, 16, 32)))
    taints: list[dict[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for _ in range(r.choice((0, 0, 0, 1, 1, 2))):
        key, effect = r.choice(TAINT_KEYS), r.choice(EFFECTS)
        if (key, effect) in seen:
            continue
        seen.add((key, effect))
        taints.append(_taint(key, r.choice(TAINT_VALUES), effect))
    spec: dict[str, Any] = {}
    if r.random() < 0.12:  # cordoned; kubectl cordon's taint only sometimes (no controller here)
        spec["unschedulable"] = True
        if r.random() < 0.5:
            taints.append(_taint(UNSCHEDULABLE_TAINT, "", "NoSchedule"))
    ready = r.random() >= 0.1
    if not ready:
        taints.append(_taint(NOT_READY_TAINT, "", "NoSchedule"))
        if r.random() < 0.5:
            taints.append(_taint(NOT_READY_TAINT, "", "NoExecute"))
    if taints:
        spec["taints"] = taints
    alloc = {
        "cpu": r.choice(("500m", "1", "2", "4", "8")),
        "memory": r.choice(("512Mi", "1Gi", "4Gi", "8Gi", "16Gi")),
        "pods": str(r.choice((1, 2, 3, 5, 10, 110, 110))),
        "ephemeral-storage": "50Gi",
    }
    gpu = r.choice((None, None, None, 0, 1, 2, 4))
    if gpu is not None:
        alloc[GPU] = str(gpu)
    conds = [{"type": t, "status": "False", "reason": reason, "message": "ok"} for t, reason in (
        ("MemoryPressure", "KubeletHasSufficientMemory"), ("DiskPressure", "KubeletHasNoDiskPressure"),
        ("PIDPressure", "KubeletHasSufficientPID"))]
    conds.append({"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "ready"} if ready
                 else {"type": "Ready", "status": "False", "reason": "KubeletNotReady",
                       "message": "container runtime network not ready"})
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": labels},
        "spec": spec,
        "status": {"capacity": dict(alloc), "allocatable": alloc, "conditions": conds,
                   "addresses": [{"type": "Hostname", "address": name}]},
    }


def _resources(r: random.Random, gpu_ok: bool) -> dict[str, Any]:
    req: dict[str, str] = {}
    lim: dict[str, str] = {}
    cpu = r.choice((0, 0, 100, 250, 500, 1000, 1500, 2000, 3000, 6000))
    if cpu:
        req["cpu"] = _qty_cpu(cpu)
    mem = r.choice((None, None, "64Mi", "256Mi", "1Gi", "2Gi", "6Gi", "12Gi"))
    if mem:
        req["memory"] = mem
    if gpu_ok and r.random() < 0.2:
        g = str(r.choice((1, 1, 2, 3)))
        req[GPU] = lim[GPU] = g  # extended resources: requests must equal limits
    if r.random() < 0.1 and "cpu" in req:
        # limits only: the API server defaults requests to limits
        lim["cpu"] = req.pop("cpu")
    out: dict[str, Any] = {}
    if req:
        out["requests"] = req
    if lim:
        out["limits"] = lim
    return out


def _ports(r: random.Random) -> list[dict[str, Any]]:
    port: dict[str, Any] = {"containerPort": r.choice((80, 8080, 9090)), "hostPort": r.choice((8080, 9090))}
    if r.random() < 0.3:
        port["protocol"] = "UDP"
    if r.random() < 0.25:
        port["hostIP"] = r.choice(("127.0.0.1", "127.0.0.2"))
    return [port]


def _container(name: str, resources: dict[str, Any], ports: list[dict[str, Any]] | None = None,
               restart_policy: str | None = None) -> dict[str, Any]:
    c: dict[str, Any] = {"name": name, "image": PAUSE, "resources": resources}
    if ports:
        c["ports"] = ports
    if restart_policy:
        c["restartPolicy"] = restart_policy
    return c


def _labels(r: random.Random) -> dict[str, str]:
    labels = {}
    if r.random() < 0.85:
        labels["app"] = r.choice(APPS)
    if r.random() < 0.5:
        labels["tier"] = r.choice(("fe", "be"))
    return labels


def _affinity_term(r: random.Random, *, allow_negative: bool, other_ns: str | None = None) -> dict[str, Any]:
    term = _affinity_term_core(r, allow_negative=allow_negative)
    if allow_negative:  # only for pending pods (see _gen_bound_pod)
        x = r.random()
        if x < 0.1:
            term["namespaceSelector"] = {}  # every namespace
        elif x < 0.2 and other_ns:
            term["namespaces"] = [other_ns]
        elif x < 0.25 and other_ns:
            term["namespaces"] = [other_ns]
            term["namespaceSelector"] = {"matchLabels": {"kubernetes.io/metadata.name": other_ns}}
        y = r.random()
        if y < 0.1:
            term["matchLabelKeys"] = ["tier"]
        elif y < 0.2:
            term["mismatchLabelKeys"] = ["tier"]
    return term


def _affinity_term_core(r: random.Random, *, allow_negative: bool) -> dict[str, Any]:
    if allow_negative and r.random() < 0.25:
        sel = {"matchExpressions": [{"key": "app", "operator": r.choice(("In", "NotIn")),
                                     "values": r.sample(APPS, r.choice((1, 2)))}]}
    elif r.random() < 0.2:
        sel = {"matchExpressions": [{"key": "app", "operator": "In", "values": r.sample(APPS, 2)}]}
    else:
        sel = {"matchLabels": {"app": r.choice(APPS)}}
    return {"labelSelector": sel, "topologyKey": r.choice((ZONE, ZONE, HOST))}


def _gen_bound_pod(r: random.Random, name: str, ns: str, node: str, gpu_ok: bool) -> dict[str, Any]:
    ports = _ports(r) if r.random() < 0.15 else None
    spec: dict[str, Any] = {
        "nodeName": node,
        "containers": [_container("main", _resources(r, gpu_ok), ports)],
        "tolerations": [{"operator": "Exists"}],
    }
    if r.random() < 0.08:  # a sidecar holding a host port
        spec["initContainers"] = [_container("sidecar", _resources(r, False), _ports(r), "Always")]
    if r.random() < 0.15:
        # Only positive selectors: they must not match the barrier probe pod (see _barrier).
        spec["affinity"] = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            _affinity_term(r, allow_negative=False)]}}
    pod: dict[str, Any] = {"apiVersion": "v1", "kind": "Pod",
                           "metadata": {"name": name, "namespace": ns, "labels": _labels(r)}, "spec": spec}
    x = r.random()
    if x < 0.06:
        pod["status"] = {"phase": r.choice(("Succeeded", "Failed"))}  # terminal: frees the node
    elif x < 0.11:
        pod["metadata"]["finalizers"] = [HOLD_FINALIZER]  # deleted but held: terminating
    return pod


HOLD_FINALIZER = "podtriage.io/hold"
DEALLOCATED = "deallocation of ResourceClaim completed"
DEALLOCATION_RETRY_WAIT = 15.0  # seconds; the retry follows the claim update after the pod's backoff
KEEP_LABEL = "podtriage.io/keep-nominated"  # (tests/e2e/families.py) a preemptor left nominated
_NODE_AFFINITY_KEYS = (ZONE, DISK, TIER, CORES, "podtriage.io/missing")


def _node_requirement(r: random.Random) -> dict[str, Any]:
    key = r.choice(_NODE_AFFINITY_KEYS)
    op = r.choice(("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"))
    values = {ZONE: ZONES + ("zone-x",), DISK: ("ssd", "hdd", "nvme"), TIER: ("gold", "silver", "bronze"),
              CORES: ("2", "4", "8", "16", "32"), "podtriage.io/missing": ("yes",)}[key]
    if op in ("Gt", "Lt"):
        return {"key": CORES if r.random() < 0.8 else key, "operator": op,
                "values": [str(r.choice((1, 3, 8, 20, 40)))]}
    if op in ("Exists", "DoesNotExist"):
        return {"key": key, "operator": op}
    return {"key": key, "operator": op, "values": r.sample(values, min(len(values), r.choice((1, 1, 2))))}


def _gen_tolerations(r: random.Random, nodes: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    taints = [t for n in nodes for t in n["spec"].get("taints", [])]
    out: list[dict[str, Any]] = []
    for _ in range(r.choice((1, 1, 2, 3))):
        kind = r.random()
        if kind < 0.05:
            out.append({"operator": "Exists"})  # tolerates everything, even a cordon
            continue
        if kind < 0.12:
            out.append({"key": UNSCHEDULABLE_TAINT, "operator": "Exists", "effect": "NoSchedule"})
            continue
        if kind < 0.18:
            out.append({"key": NOT_READY_TAINT, "operator": "Exists"})
            continue
        if not taints:
            out.append({"key": r.choice(TAINT_KEYS), "operator": "Exists"})
            continue
        t = r.choice(taints)
        tol: dict[str, Any]
        miss = r.random()
        if miss < 0.45:  # exact
            tol = {"key": t["key"], "operator": "Equal", "value": t.get("value", ""), "effect": t["effect"]}
        elif miss < 0.6:  # wrong value
            tol = {"key": t["key"], "operator": "Equal", "value": (t.get("value", "") or "x") + "z",
                   "effect": t["effect"]}
        elif miss < 0.75:  # wrong effect
            other = [e for e in EFFECTS if e != t["effect"]]
            tol = {"key": t["key"], "operator": "Exists", "effect": r.choice(other)}
        elif miss < 0.88:  # any effect
            tol = {"key": t["key"], "operator": "Exists"}
        else:  # Equal without a value against a taint that may have one
            tol = {"key": t["key"], "operator": "Equal", "effect": t["effect"]}
        if "effect" in tol and tol["effect"] == "NoExecute" and r.random() < 0.3:
            tol["tolerationSeconds"] = 30
        out.append(tol)
    return out


def _gen_spread(r: random.Random) -> list[dict[str, Any]]:
    out = []
    keys = r.sample((ZONE, HOST), r.choice((1, 1, 2)))
    for key in keys:
        c: dict[str, Any] = {
            "maxSkew": r.choice((1, 1, 2)),
            "topologyKey": key,
            "whenUnsatisfiable": "DoNotSchedule" if r.random() < 0.9 else "ScheduleAnyway",
            "labelSelector": {"matchLabels": {"app": r.choice(APPS)}},
        }
        shape = r.random()
        if shape < 0.08:
            c["labelSelector"] = {}  # empty: upstream counts no existing pod, the pod self-matches
        elif shape < 0.12:
            del c["labelSelector"]  # nil: matches nothing (matchLabelKeys would be rejected)
        elif shape < 0.16:
            c["labelSelector"] = {}
            c["matchLabelKeys"] = ["app"]  # {} + the pod's app value, when it has one
        elif shape < 0.3:
            c["matchLabelKeys"] = ["tier"]  # merged into the selector by the API server
        if r.random() < 0.3:
            c["minDomains"] = r.choice((2, 3, 4))
            c["whenUnsatisfiable"] = "DoNotSchedule"  # minDomains requires DoNotSchedule
        if r.random() < 0.15:
            c["nodeAffinityPolicy"] = "Ignore"
        if r.random() < 0.2:
            c["nodeTaintsPolicy"] = "Honor"
        out.append(c)
    return out


def _gen_pending_pod(r: random.Random, name: str, ns: str, nodes: Sequence[dict[str, Any]],
                     gpu_ok: bool, other_ns: str | None) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [], "terminationGracePeriodSeconds": 0}
    ports = _ports(r) if r.random() < 0.15 else None
    spec["containers"].append(_container("main", _resources(r, gpu_ok), ports))
    if r.random() < 0.2:
        spec["containers"].append(_container("helper", _resources(r, False)))
    if r.random() < 0.25:
        inits = []
        for i in range(r.choice((1, 2))):
            sidecar = r.random() < 0.4
            inits.append(_container(f"init{i}", _resources(r, False),
                                    _ports(r) if sidecar and r.random() < 0.2 else None,
                                    "Always" if sidecar else None))
        spec["initContainers"] = inits
    if r.random() < 0.04:
        # Pod-level resources (PodLevelResources, beta and on since 1.34): they replace the
        # containers' aggregate for cpu/memory, which they must cover (API validation).
        from podtriage import convert
        from podtriage.scheduler.framework import effective_requests

        agg = effective_requests(convert.pod({"metadata": {"name": name, "namespace": ns}, "spec": spec}))
        cpu = max(agg.get("cpu", 0), r.choice((500, 1500, 3000)))
        mem = max(agg.get("memory", 0), r.choice((1, 3, 6)) * 2**30)
        spec["resources"] = {"requests": {"cpu": _qty_cpu(cpu), "memory": str(mem)}}
    if r.random() < 0.3:
        sel_keys = r.sample((ZONE, DISK, TIER), r.choice((1, 1, 2)))
        vals = {ZONE: ZONES + ("zone-x",), DISK: ("ssd", "hdd"), TIER: ("gold", "silver", "nowhere")}
        spec["nodeSelector"] = {k: r.choice(vals[k]) for k in sel_keys}
    affinity: dict[str, Any] = {}
    if r.random() < 0.3:
        terms = []
        for _ in range(r.choice((1, 1, 2))):
            terms.append({"matchExpressions": [_node_requirement(r) for _ in range(r.choice((1, 1, 2)))]})
        if r.random() < 0.15:
            # DaemonSet-style: matchFields metadata.name (one value per requirement, API rule),
            # which NodeAffinity's PreFilter turns into a PreFilterResult.
            names = [n["metadata"]["name"] for n in nodes] + ["no-such-node"]
            fterms: list[dict[str, Any]] = []
            for _ in range(r.choice((1, 1, 2))):
                fterm: dict[str, Any] = {"matchFields": [{"key": "metadata.name", "operator": "In",
                                                          "values": [r.choice(names)]}]}
                if r.random() < 0.15:  # a second name in the same term: ANDed, usually a conflict
                    fterm["matchFields"].append({"key": "metadata.name", "operator": "In",
                                                 "values": [r.choice(names)]})
                if r.random() < 0.4:
                    fterm["matchExpressions"] = [_node_requirement(r)]
                fterms.append(fterm)
            terms = fterms + (terms if r.random() < 0.25 else [])
        affinity["nodeAffinity"] = {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}}
    if r.random() < 0.25:
        affinity["podAffinity"] = {"requiredDuringSchedulingIgnoredDuringExecution": [
            _affinity_term(r, allow_negative=True, other_ns=other_ns) for _ in range(r.choice((1, 1, 2)))]}
    if r.random() < 0.25:
        affinity["podAntiAffinity"] = {"requiredDuringSchedulingIgnoredDuringExecution": [
            _affinity_term(r, allow_negative=True, other_ns=other_ns) for _ in range(r.choice((1, 1, 2)))]}
    if affinity:
        spec["affinity"] = affinity
    if r.random() < 0.5:
        spec["tolerations"] = _gen_tolerations(r, nodes)
    if r.random() < 0.4:
        spec["topologySpreadConstraints"] = _gen_spread(r)
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": ns, "labels": _labels(r)}, "spec": spec}


def generate(seed: int, pending_per_scenario: int = 6) -> Scenario:
    """A random scenario, fully determined by `seed`."""
    r = random.Random(seed)
    name = f"d{seed}"
    ns = f"diff-{seed}"
    other_ns = f"diff-{seed}-o" if r.random() < 0.25 else None
    nodes = [_gen_node(r, f"{name}-n{i}") for i in range(r.randint(2, 12))]
    gpu_ok = any(GPU in n["status"]["allocatable"] for n in nodes) or r.random() < 0.3
    bound: list[dict[str, Any]] = []
    for n in nodes:
        for j in range(r.choice((0, 0, 1, 1, 2, 3))):
            pod_ns = other_ns if other_ns and r.random() < 0.3 else ns
            bound.append(_gen_bound_pod(r, f"{n['metadata']['name']}-b{j}", pod_ns, n["metadata"]["name"], gpu_ok))
    if r.random() < 0.4:
        # Crowd one zone (and so some hosts) with pods of one app: topology spread skew.
        hot_app = r.choice(APPS)
        zone = r.choice(ZONES)
        for n in nodes:
            if n["metadata"]["labels"].get(ZONE) == zone:
                for j in range(r.choice((1, 2, 3))):
                    bound.append({"apiVersion": "v1", "kind": "Pod",
                                  "metadata": {"name": f"{n['metadata']['name']}-h{j}", "namespace": ns,
                                               "labels": {"app": hot_app}},
                                  "spec": {"nodeName": n["metadata"]["name"],
                                           "containers": [_container("main", {})],
                                           "tolerations": [{"operator": "Exists"}]}})
    # The barrier probe (see DifferentialRunner._barrier) goes to the last node: give it room.
    last = nodes[-1]["status"]
    last["allocatable"]["pods"] = last["capacity"]["pods"] = "110"
    pending = [_gen_pending_pod(r, f"p{i}", ns, nodes, gpu_ok, other_ns) for i in range(pending_per_scenario)]
    return Scenario(seed=seed, name=name, namespace=ns, other_namespace=other_ns, nodes=nodes,
                    bound_pods=bound, pending_pods=pending)


# ---------------------------------------------------------------------------------------------
# Reduction and comparison


def scheduler_counts(fm: FitMessage) -> dict[str, int]:
    """The scheduler's histogram as `reason key -> count` (PreFilter rejection = every node).

    Keys are reason codes, `insufficient:<resource>` per resource; nodes reported as "didn't
    satisfy plugin(s) [NodeAffinity]" (outside NodeAffinity's PreFilterResult) count as
    node-affinity, which is how podtriage reports them.
    """
    out: dict[str, int] = {}
    for code, n in fm.node_counts().items():
        if code in ("insufficient", "absent-nodes", "preemption-not-helpful", "no-preemption-victims"):
            continue
        out[code] = out.get(code, 0) + n
    for rc in fm.reasons:
        if rc.count is None:
            continue
        if rc.code == "insufficient":
            key = f"insufficient:{rc.details.get('resource', '')}"
            out[key] = out.get(key, 0) + rc.count
        elif rc.code == "absent-nodes":
            plugins = rc.details.get("plugins", [])
            key = "node-affinity" if plugins == ["NodeAffinity"] else f"absent-nodes:{','.join(plugins)}"
            out[key] = out.get(key, 0) + rc.count
    return out


def podtriage_counts(ev: Evaluation) -> dict[str, int]:
    """podtriage's verdicts reduced like the scheduler's histogram: first failing plugin per node,
    one count per distinct printed reason; a PreFilter rejection counts for every node."""
    return ev.code_counts(by_resource=True)


@dataclass
class Comparison:
    """One pending pod: the real scheduler's verdict against podtriage's."""

    seed: int
    pod: str
    scheduled_node: str  # "" when not scheduled
    message: str  # the scheduler's FitError ("" when scheduled)
    scheduler: dict[str, int]
    ours: dict[str, int]
    total_scheduler: int | None
    total_ours: int
    feasible: tuple[str, ...]
    problems: list[str]
    limitation: str = ""  # name of the documented limitation that excuses the problems
    timeline_disagreements: list[str] = field(default_factory=list)  # compare_counts' view
    first_failures: dict[str, list[str]] = field(default_factory=dict)  # node -> plugin: message
    family: str = "core"
    verdict: str = ""  # scheduled | unschedulable | error | gated (no attempt)
    postfilter_checked: bool = False  # the PostFilter (preemption) text was compared
    postfilter_agrees: bool = True
    ours_postfilter: str = ""
    explain_checked: bool = False  # `podtriage explain` was run on the refused pod
    explain_top: str = ""

    @property
    def agrees(self) -> bool:
        return not self.problems

    @property
    def accepted(self) -> bool:
        return self.agrees or bool(self.limitation)

    def describe(self) -> str:
        lines = [f"seed={self.seed} family={self.family} pod={self.pod} verdict={self.verdict}",
                 f"  scheduler: {'scheduled on ' + self.scheduled_node if self.scheduled_node else self.message}",
                 f"  scheduler counts: {json.dumps(self.scheduler, sort_keys=True)} (total {self.total_scheduler})",
                 f"  podtriage counts: {json.dumps(self.ours, sort_keys=True)} (total {self.total_ours})",
                 f"  podtriage feasible: {list(self.feasible)}"]
        if self.postfilter_checked:
            lines.append(f"  podtriage postfilter: {self.ours_postfilter!r}")
        lines += [f"  problem: {p}" for p in self.problems]
        if self.limitation:
            lines.append(f"  excused by limitation: {self.limitation}")
        for node, fs in sorted(self.first_failures.items()):
            lines.append(f"  podtriage {node}: {'; '.join(fs) if fs else 'feasible'}")
        return "\n".join(lines)


@dataclass(frozen=True)
class Limitation:
    """A documented, justified reason podtriage may legitimately differ from the scheduler."""

    name: str
    reason: str
    applies: Callable[[Comparison, Mapping[str, Any]], bool]  # (comparison, pending pod manifest)


# Narrow, documented limitations. Each must name the exact condition it excuses.
# Documented, justified limitations: each must be narrow (a code under a specific condition).
# Empty since pod-level resources (spec.resources) are modelled.
LIMITATIONS: tuple[Limitation, ...] = ()


def compare(seed: int, pod_manifest: Mapping[str, Any], ev: Evaluation, scheduled_node: str,
            message: str, *, verdict: str = "", postfilter: PostFilter | None = None,
            family: str = "core") -> Comparison:
    pod = f"{pod_manifest['metadata']['namespace']}/{pod_manifest['metadata']['name']}"
    ours = podtriage_counts(ev)
    problems: list[str] = []
    sched: dict[str, int] = {}
    total_sched: int | None = None
    timeline: list[str] = []
    verdict = verdict or ("scheduled" if scheduled_node else "unschedulable")
    pf_checked, pf_ok = False, True
    if verdict == "gated":
        if not ev.gated:
            problems.append("the scheduler never tried the pod (held back by a PreEnqueue plugin); podtriage "
                            f"does not predict that: {ev.fit_error()}")
    elif ev.gated:
        problems.append(f"podtriage says the pod is held back before scheduling ({ev.prefilter[0].reason}); the "
                        f"scheduler {'bound it' if scheduled_node else 'tried it: ' + message}")
    elif verdict == "error" and re.match(r'running (PreBind|Reserve|Permit|Bind) plugin', message):
        # the filters found a node (the failure came while binding it): podtriage must find one too
        if not ev.feasible:
            problems.append(f"the scheduler picked a node (then failed to bind: {message}); podtriage finds none")
    elif verdict == "error":
        if ev.error is None:
            problems.append(f"the scheduling attempt failed with an error ({message}); podtriage predicts "
                            f"{ev.fit_error()!r}")
        elif ev.error.plugin not in message:
            problems.append(f"the scheduler's error {message!r} is not the one podtriage predicts ({ev.error.reason})")
    elif ev.error is not None:
        problems.append(f"podtriage predicts a scheduler error ({ev.error.reason}); the scheduler "
                        f"{'bound the pod' if scheduled_node else 'said: ' + message}")
    elif scheduled_node:
        if not ev.feasible:
            problems.append(f"the scheduler bound the pod to {scheduled_node}; podtriage finds no feasible node")
        elif scheduled_node not in ev.feasible:
            problems.append(f"the scheduler bound the pod to {scheduled_node}, which podtriage finds infeasible")
    else:
        fm = parse_fit_message(message)
        if fm is None or fm.total_nodes is None:
            problems.append(f"cannot parse the scheduler's message: {message!r}")
        else:
            sched = scheduler_counts(fm)
            total_sched = fm.total_nodes
            if total_sched != ev.total_nodes:
                problems.append(f"node totals differ: scheduler {total_sched}, podtriage {ev.total_nodes}")
            for key in sorted(set(sched) | set(ours)):
                if sched.get(key, 0) != ours.get(key, 0):
                    problems.append(f"{key}: scheduler {sched.get(key, 0)}, podtriage {ours.get(key, 0)}")
            if ev.feasible:
                problems.append(f"the scheduler found no node; podtriage finds {list(ev.feasible)} feasible")
            # What `podtriage explain` itself concludes (analyze.py): it must see no disagreement either.
            timeline = [f"{d.code}: {d.scheduler_count} vs {d.our_count}"
                        for d in compare_counts(fm, ev.code_counts(), ev.total_nodes)]
            if timeline and not problems:
                problems.append(f"compare_counts(message, Evaluation.code_counts()) reports {timeline}")
            if postfilter is not None:
                pf_checked = True
                pf_problems = compare_postfilter(fm, postfilter)
                pf_ok = not pf_problems
                problems += pf_problems
    first = {v.node: [f"{f.plugin}: {f.message}" for f in v.first] for v in ev.verdicts}
    c = Comparison(seed=seed, pod=pod, scheduled_node=scheduled_node, message=message, scheduler=sched,
                   ours=ours, total_scheduler=total_sched, total_ours=ev.total_nodes, feasible=ev.feasible,
                   problems=problems, timeline_disagreements=timeline, first_failures=first, family=family,
                   verdict=verdict, postfilter_checked=pf_checked, postfilter_agrees=pf_ok,
                   ours_postfilter=postfilter.message if postfilter is not None else "")
    if problems:
        for lim in LIMITATIONS:
            if lim.applies(c, pod_manifest):
                c.limitation = lim.name
                break
    return c


def compare_postfilter(fm: FitMessage, pf: PostFilter) -> list[str]:
    """The scheduler's PostFilter part against podtriage's (tests/e2e: preemption text)."""
    dealloc = "deallocation of ResourceClaim completed"
    if (dealloc in fm.postfilter) != (dealloc in pf.message):
        return [f"DynamicResources PostFilter: scheduler {fm.postfilter!r}, podtriage {pf.message!r}"]
    if fm.preemption_node:
        cand = {c.node: c for c in pf.candidates}
        if fm.preemption_node not in cand:
            return [f"the scheduler preempts on {fm.preemption_node}; podtriage's candidates: {sorted(cand)} "
                    f"({pf.message!r})"]
        if len(cand[fm.preemption_node].victims) != fm.preemption_victims:
            return [f"victims on {fm.preemption_node}: scheduler {fm.preemption_victims}, podtriage "
                    f"{len(cand[fm.preemption_node].victims)} ({list(cand[fm.preemption_node].victims)})"]
        if fm.preemption_node not in pf.best:
            return [f"the scheduler picks {fm.preemption_node}; podtriage ranks {list(pf.best)} best"]
        return []
    if fm.preemption_not_eligible:
        if fm.preemption_not_eligible != pf.not_eligible:
            return [f"preemption not eligible: scheduler {fm.preemption_not_eligible!r}, podtriage {pf.message!r}"]
        return []
    if fm.preemption_not_attempted:
        return [] if pf.message == "not found" else [f"PostFilter: scheduler 'not found', podtriage {pf.message!r}"]
    if fm.preemption is not None:
        ours = parse_fit_message(pf.message.removeprefix("preemption: "))
        if ours is None:
            return [f"preemption: scheduler {fm.postfilter!r}, podtriage {pf.message!r}"]
        theirs_c, ours_c = fm.preemption.node_counts(), ours.node_counts()
        by_res = [(r.reason, r.count) for r in fm.preemption.reasons]
        ours_res = [(r.reason, r.count) for r in ours.reasons]
        if theirs_c != ours_c or sorted(by_res) != sorted(ours_res):
            return [f"preemption histogram: scheduler {fm.postfilter!r}, podtriage {pf.message!r}"]
        return []
    if fm.postfilter.strip().rstrip(".") != pf.message.strip().rstrip("."):
        return [f"PostFilter text: scheduler {fm.postfilter!r}, podtriage {pf.message!r}"]
    return []


def evaluate_objects(nodes: Sequence[Mapping[str, Any]], pods: Sequence[Mapping[str, Any]],
                     namespaces: Sequence[Mapping[str, Any]], pending: Mapping[str, Any],
                     extra: Sequence[Mapping[str, Any]] = (), *, with_postfilter: bool = False,
                     keep_nomination: bool = False) -> Evaluation | tuple[Evaluation, PostFilter]:
    """podtriage's verdict for `pending` against the objects, through the snapshot like any input.

    `extra`: the other objects (claims, slices, PVs, ...) as the API server returned them; every
    kind the families create counts as collected. `with_postfilter`: also the PostFilter outcome.
    """
    b = SnapshotBuilder(source="differential")
    # The pod as it was while Pending: a pod the scheduler bound must not count on its own node,
    # and the nomination its own attempt made is not part of the state it was judged on.
    pending = dict(pending, spec={k: v for k, v in pending["spec"].items() if k != "nodeName"})
    if not keep_nomination and isinstance(pending.get("status"), dict):
        pending["status"] = {k: v for k, v in pending["status"].items() if k != "nominatedNodeName"}
    key = f"{pending['metadata']['namespace']}/{pending['metadata']['name']}"
    others = [p for p in pods if f"{p['metadata']['namespace']}/{p['metadata']['name']}" != key]
    for obj in list(nodes) + others + list(namespaces) + list(extra) + [pending]:
        b.add(obj)
    for kind in ("Node", "Pod", "Namespace") + EXTRA_KINDS:
        b.mark_collected(kind)
    snap = b.build()
    if snap.meta.warnings:
        raise AssertionError(f"snapshot warnings: {snap.meta.warnings}")
    cluster = ClusterState(snap)
    ev = evaluate(snap.pod_by_key[key], cluster)
    if with_postfilter:
        return ev, postfilter(ev, cluster)
    return ev


_RULES: Any = None


def explain_blocked(nodes: Sequence[Mapping[str, Any]], pods: Sequence[Mapping[str, Any]],
                    namespaces: Sequence[Mapping[str, Any]], pending: Mapping[str, Any],
                    extra: Sequence[Mapping[str, Any]] = ()) -> tuple[bool, str]:
    """What `podtriage explain` itself answers for the pod as the scheduler left it (condition
    included): (blocked, top cause). A pod the scheduler refuses must never come out unblocked."""
    global _RULES
    from podtriage.analyze import Explainer
    from podtriage.rulebook import load_rules

    if _RULES is None:
        _RULES = load_rules()
    b = SnapshotBuilder(source="differential")
    key = f"{pending['metadata']['namespace']}/{pending['metadata']['name']}"
    others = [p for p in pods if f"{p['metadata']['namespace']}/{p['metadata']['name']}" != key]
    for obj in list(nodes) + others + list(namespaces) + list(extra) + [pending]:
        b.add(obj)
    for kind in ("Node", "Pod", "Namespace") + EXTRA_KINDS:
        b.mark_collected(kind)
    report = Explainer(b.build(), _RULES).explain(pending["metadata"]["name"], pending["metadata"]["namespace"])
    top = report.root_causes[0].rule if report.root_causes else "(none)"
    return report.blocked, top


# Kinds the scenario families create (and so "collected" in the snapshot podtriage evaluates).
EXTRA_KINDS = ("PersistentVolume", "PersistentVolumeClaim", "StorageClass", "CSINode", "CSIDriver",
               "CSIStorageCapacity", "VolumeAttachment", "DeviceClass", "ResourceSlice", "ResourceClaim",
               "ResourceClaimTemplate", "PriorityClass", "PodDisruptionBudget", "RuntimeClass")


# ---------------------------------------------------------------------------------------------
# Running against a control plane


class ApiError(RuntimeError):
    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status


class Api:
    """Raw JSON calls with the control plane's kubernetes ApiClient's connection pool and
    credentials (keeps every field, even those the Python client's models do not know). Only the
    client's configuration and its urllib3 pool are used, which every supported version of the
    kubernetes package has (its request helpers changed between 29 and 37)."""

    def __init__(self, api_client: Any) -> None:
        self.client = api_client
        cfg = api_client.configuration
        self.base = str(cfg.host).rstrip("/")
        # auth_settings(): where the token is kept differs by version ("authorization", "BearerToken").
        self.auth = str((cfg.auth_settings().get("BearerToken") or {}).get("value") or "")

    def req(self, method: str, path: str, body: Any = None, content_type: str = "application/json",
            query: Sequence[tuple[str, str]] = ()) -> Any:
        url = self.base + path + ("?" + urllib.parse.urlencode(list(query)) if query else "")
        headers = {"Content-Type": content_type, "Accept": "application/json"}
        if self.auth:
            headers["Authorization"] = self.auth
        payload = json.dumps(body).encode() if body is not None else None
        resp = self.client.rest_client.pool_manager.request(method, url, body=payload, headers=headers,
                                                            preload_content=True, timeout=60)
        data = resp.data
        if not 200 <= resp.status <= 299:
            raise ApiError(resp.status, f"{method} {path}: HTTP {resp.status}: {data[:500]!r}")
        return json.loads(data) if data else None

    def delete(self, path: str) -> None:
        try:
            self.req("DELETE", path, body={"gracePeriodSeconds": 0})
        except ApiError as e:
            if e.status != 404:
                raise


@dataclass
class ScenarioResult:
    scenario: Scenario
    comparisons: list[Comparison]
    events: list[dict[str, Any]]  # FailedScheduling events (record mode)
    log_lines: list[str]  # the scheduler's log lines about the scenario's pods (record mode)
    objects: dict[str, Any]  # API objects as returned by the server (record mode)
    seconds: float


class DifferentialRunner:
    """Runs scenarios one after another on one control plane (nodes are cluster-wide)."""

    def __init__(self, control_plane: Any, poll: float = 0.005, pod_timeout: float = 30.0) -> None:
        self.cp = control_plane
        self.api = Api(control_plane.api_client())
        self.poll = poll
        self.pod_timeout = pod_timeout

    # -- setup ---------------------------------------------------------------------------------
    def _ensure_namespace(self, name: str) -> dict[str, Any]:
        try:
            return self.api.req("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                               "metadata": {"name": name}})
        except ApiError as e:
            if e.status != 409:
                raise
            return self.api.req("GET", f"/api/v1/namespaces/{name}")

    def delete_all_nodes(self) -> None:
        for n in self.api.req("GET", "/api/v1/nodes")["items"]:
            self.api.delete(f"/api/v1/nodes/{n['metadata']['name']}")

    def _create_node(self, manifest: Mapping[str, Any]) -> dict[str, Any]:
        body = {k: v for k, v in manifest.items() if k != "status"}
        self.api.req("POST", "/api/v1/nodes", body)
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        status = json.loads(json.dumps(manifest["status"]))
        for c in status["conditions"]:
            c["lastHeartbeatTime"] = c["lastTransitionTime"] = now
        return self.api.req("PATCH", f"/api/v1/nodes/{manifest['metadata']['name']}/status",
                            {"status": status}, content_type="application/merge-patch+json")

    def _create_pod(self, manifest: Mapping[str, Any]) -> dict[str, Any]:
        ns = manifest["metadata"]["namespace"]
        return self.api.req("POST", f"/api/v1/namespaces/{ns}/pods", manifest)

    def _create_bound_pod(self, manifest: Mapping[str, Any]) -> dict[str, Any]:
        """A pod already on its node; terminal (status.phase) or terminating (finalizer + delete)
        when the manifest says so. Returns the object as the API server has it now."""
        ns, name = manifest["metadata"]["namespace"], manifest["metadata"]["name"]
        got = self._create_pod({k: v for k, v in manifest.items() if k != "status"})
        if "status" in manifest:
            got = self.api.req("PATCH", f"/api/v1/namespaces/{ns}/pods/{name}/status",
                               {"status": manifest["status"]}, content_type="application/merge-patch+json")
        if HOLD_FINALIZER in manifest["metadata"].get("finalizers", []):
            got = self.api.req("DELETE", f"/api/v1/namespaces/{ns}/pods/{name}", {"gracePeriodSeconds": 0})
        return got

    def _release(self, pod: Mapping[str, Any]) -> None:
        ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
        if pod["metadata"].get("finalizers"):
            try:
                self.api.req("PATCH", f"/api/v1/namespaces/{ns}/pods/{name}", {"metadata": {"finalizers": None}},
                             content_type="application/merge-patch+json")
            except ApiError as e:
                if e.status != 404:
                    raise
        self.api.delete(f"/api/v1/namespaces/{ns}/pods/{name}")

    def _wait_pod(self, ns: str, name: str, until: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        deadline = time.monotonic() + self.pod_timeout
        while True:
            pod = self.api.req("GET", f"/api/v1/namespaces/{ns}/pods/{name}")
            if until(pod):
                return pod
            if time.monotonic() > deadline:
                raise TimeoutError(f"pod {ns}/{name}: no scheduling verdict after {self.pod_timeout}s: "
                                   f"{json.dumps(pod.get('status'))}")
            time.sleep(self.poll)

    def _barrier(self, scenario: Scenario, last_node: str, probe: str = "probe") -> None:
        """Make sure the scheduler has seen every node and bound pod before the first pending pod.

        Nodes and pods come through different informers, so a pending pod created right after the
        nodes could be tried against a stale node list. The probe tolerates everything and can only
        go to the last node written; once it is bound, the scheduler has processed that node's
        status update and, the node informer being ordered, every node event before it (and the
        bound pods, which were created before the probe on the pod informer).
        """
        ns = scenario.namespace
        body = {"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": probe, "namespace": ns, "labels": {PROBE_LABEL: "1"}},
                "spec": {"containers": [_container("main", {})], "nodeSelector": {HOST: last_node},
                         "tolerations": [{"operator": "Exists"}], "terminationGracePeriodSeconds": 0}}
        self._create_pod(body)
        self._wait_pod(ns, probe, lambda p: bool(p["spec"].get("nodeName")))
        self.api.delete(f"/api/v1/namespaces/{ns}/pods/{probe}")

    # -- one scenario --------------------------------------------------------------------------
    # -- scenario objects (families) -------------------------------------------------------------
    _GLOBALS_READY = False

    def _ensure_globals(self) -> None:
        """Cluster-wide objects every family may use (PriorityClasses, a RuntimeClass), once."""
        if DifferentialRunner._GLOBALS_READY:
            return
        from .families import priority_classes, runtime_class

        for obj in priority_classes() + [runtime_class()]:
            try:
                self.api.req("POST", _collection_path(obj), obj)
            except ApiError as e:
                if e.status != 409:
                    raise
        DifferentialRunner._GLOBALS_READY = True

    def _create_object(self, obj: Mapping[str, Any], uids: Mapping[str, str]) -> dict[str, Any]:
        body = json.loads(json.dumps({k: v for k, v in obj.items() if k not in ("status", "_delete")}))
        for attempt in range(50):
            try:
                got = self.api.req("POST", _collection_path(body), body)
                break
            except ApiError as e:
                if e.status != 409 or attempt == 49:
                    raise
                if attempt == 0:  # a leftover of an interrupted run (names carry the seed)
                    self._delete_object(body)
                time.sleep(0.1)
        if "status" in obj:
            status = json.loads(json.dumps(obj["status"]).replace('"<uid>"', '"__UID__"'))
            for ref in status.get("reservedFor", []):
                if ref.get("uid") == "__UID__":
                    ref["uid"] = uids.get(ref.get("name", ""), "")
            got = self.api.req("PATCH", _object_path(got) + "/status", {"status": status},
                               content_type="application/merge-patch+json")
        if obj.get("_delete"):
            self.api.req("DELETE", _object_path(got), {"gracePeriodSeconds": 0})
            got = self.api.req("GET", _object_path(got))
        return got

    def _delete_object(self, obj: Mapping[str, Any]) -> None:
        path = _object_path(obj)
        try:
            self.api.req("PATCH", path, {"metadata": {"finalizers": None}},
                         content_type="application/merge-patch+json")
        except ApiError as e:
            if e.status != 404:
                raise
        self.api.delete(path)

    def _list_pods(self, namespaces: Sequence[str]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for ns in namespaces:
            for p in self.api.req("GET", f"/api/v1/namespaces/{ns}/pods")["items"]:
                out.append({**p, "apiVersion": "v1", "kind": "Pod"})
        return out

    def _reread(self, objs: Sequence[dict[str, Any]], ns: str = "") -> list[dict[str, Any]]:
        """The objects as they are now (claims get allocated, PVs bound, ...); with `ns`, every
        ResourceClaim there too (the scheduler creates the claims of DRA-backed extended resources)."""
        out = []
        if ns:
            for c in self.api.req("GET", f"/apis/resource.k8s.io/v1/namespaces/{ns}/resourceclaims")["items"]:
                out.append({**c, "apiVersion": "resource.k8s.io/v1", "kind": "ResourceClaim"})
        for o in objs:
            if ns and o.get("kind") == "ResourceClaim":
                continue
            try:
                got = self.api.req("GET", _object_path(o))
            except ApiError as e:
                if e.status == 404:
                    continue
                raise
            out.append({**got, "apiVersion": o.get("apiVersion"), "kind": o.get("kind")})
        return out

    def _not_tried(self, scenario: Scenario, ns: str, name: str) -> dict[str, Any]:
        """A pod podtriage says is held back before scheduling: after a barrier pod was scheduled,
        it still has no PodScheduled condition (or it got one, which the comparison reports)."""
        self._barrier(scenario, scenario.nodes[-1]["metadata"]["name"], probe="probe2")
        time.sleep(0.3)
        return self.api.req("GET", f"/api/v1/namespaces/{ns}/pods/{name}")

    # -- one scenario --------------------------------------------------------------------------
    def run_scenario(self, scenario: Scenario, record: bool = False) -> ScenarioResult:
        """Create the scenario, let the scheduler try each pending pod, compare. With `record`, keep
        the API objects, FailedScheduling events and scheduler log lines (for fixtures)."""
        t0 = time.monotonic()
        self.delete_all_nodes()
        self._ensure_globals()
        namespaces = [self._ensure_namespace(scenario.namespace)]
        if scenario.other_namespace:
            namespaces.append(self._ensure_namespace(scenario.other_namespace))
        ns_names = [n["metadata"]["name"] for n in namespaces]
        for leftover in self._list_pods(ns_names):  # an interrupted earlier run of the same seed
            self._release(leftover)
        late_kinds = ("ResourceClaim",)  # may reference bound pods (status.reservedFor)
        created: list[dict[str, Any]] = []
        bound: list[dict[str, Any]] = []
        kept: list[str] = []
        ns = scenario.namespace
        try:
            return self._run(scenario, record, t0, namespaces, ns_names, late_kinds, created, bound, kept)
        finally:
            for name in kept:
                self.api.delete(f"/api/v1/namespaces/{ns}/pods/{name}")
            for p in bound:
                self._release(p)
            for o in reversed(created):
                if not o.get("metadata", {}).get("namespace"):
                    self._delete_object(o)

    def _run(self, scenario: Scenario, record: bool, t0: float, namespaces: list[dict[str, Any]],
             ns_names: list[str], late_kinds: tuple[str, ...], created: list[dict[str, Any]],
             bound: list[dict[str, Any]], kept: list[str]) -> ScenarioResult:
        for obj in scenario.objects:
            if obj["kind"] not in late_kinds:
                created.append(self._create_object(obj, {}))
        nodes = [self._create_node(n) for n in scenario.nodes]
        for p in scenario.bound_pods:
            bound.append(self._create_bound_pod(p))
        uids = {p["metadata"]["name"]: p["metadata"].get("uid", "") for p in bound}
        for obj in scenario.objects:
            if obj["kind"] in late_kinds:
                created.append(self._create_object(obj, uids))
        self._barrier(scenario, scenario.nodes[-1]["metadata"]["name"])
        if scenario.objects:
            time.sleep(0.3)  # other informers (claims, slices, volumes) catch up
        comparisons = []
        ns = scenario.namespace
        recorded: list[dict[str, Any]] = []

        def decided(p: dict[str, Any]) -> bool:
            if p["spec"].get("nodeName"):
                return True
            conds = p.get("status", {}).get("conditions", [])
            if p.get("status", {}).get("nominatedNodeName") and not any(c.get("type") == "PodScheduled"
                                                                        for c in conds):
                return True  # in its binding cycle (VolumeBinding waits for provisioning: no controller here)
            cond = next((c for c in conds if c.get("type") == "PodScheduled" and c.get("status") == "False"
                         and c.get("reason") in ("Unschedulable", "SchedulerError") and c.get("message")), None)
            if cond is None:
                return False
            if DEALLOCATED in cond["message"]:
                # DynamicResources' PostFilter just deallocated a claim of the pod: the state that
                # message describes is gone and the claim update requeues the pod. Wait for that
                # attempt (compare with what is there now), unless it does not come.
                first = dealloc_seen.setdefault(p["metadata"]["name"], time.monotonic())
                return time.monotonic() - first > DEALLOCATION_RETRY_WAIT
            return True

        dealloc_seen: dict[str, float] = {}

        events: list[dict[str, Any]] = []
        log_lines: list[str] = []
        if True:
            for manifest in scenario.pending_pods:
                name = manifest["metadata"]["name"]
                posted = self._create_pod(manifest)
                extra = self._reread(created, ns) if created else []
                pods_now = self._list_pods(ns_names)
                predicted = evaluate_objects(nodes, pods_now, namespaces, {**posted, "kind": "Pod"}, extra)
                assert isinstance(predicted, Evaluation)
                if predicted.gated:
                    got = self._not_tried(scenario, ns, name)
                    if decided(got):
                        got = got
                    else:
                        got = {**got, "_gated": True}
                else:
                    got = self._wait_pod(ns, name, decided)
                cond = next((c for c in got.get("status", {}).get("conditions", [])
                             if c.get("type") == "PodScheduled"), {})
                node = got["spec"].get("nodeName", "") or \
                    ("" if cond else got.get("status", {}).get("nominatedNodeName", ""))
                msg = "" if node else cond.get("message", "")
                verdict = "gated" if got.get("_gated") else "scheduled" if node else \
                    "error" if cond.get("reason") == "SchedulerError" else "unschedulable"
                keep = (manifest["metadata"].get("labels", {}).get(KEEP_LABEL) == "1"
                        and "found a potential placement" in msg)
                # the state the attempt saw: re-read after the verdict (victims are terminating, not gone)
                extra = self._reread(created, ns) if created else []
                pods_now = self._list_pods(ns_names)
                nominated_by_attempt = "found a potential placement" in msg
                ev, pf = evaluate_objects(nodes, pods_now, namespaces, {**got, "kind": "Pod"}, extra,
                                          with_postfilter=True, keep_nomination=not nominated_by_attempt)
                if keep:
                    kept.append(name)
                else:
                    self.api.delete(f"/api/v1/namespaces/{ns}/pods/{name}")
                cmp = compare(scenario.seed, manifest, ev, node, msg, verdict=verdict,
                              postfilter=pf if verdict == "unschedulable" else None, family=scenario.family)
                if verdict in ("unschedulable", "gated") or (verdict == "error" and not node):
                    # the scheduler refuses the pod: `podtriage explain` must say it is blocked
                    blocked, top = explain_blocked(nodes, pods_now, namespaces, {**got, "kind": "Pod"}, extra)
                    cmp.explain_checked, cmp.explain_top = True, top
                    if not blocked:
                        cmp.problems.append(f"podtriage explain reports the pod as not blocked (top cause {top})")
                comparisons.append(cmp)
                if record:
                    recorded.append({"pod": got, "scheduled_node": node, "message": msg})
            if record:
                events = self.api.req("GET", f"/api/v1/namespaces/{ns}/events",
                                      query=[("fieldSelector", "reason=FailedScheduling")])["items"]
                log_lines = self.cp.scheduler_log_lines(contains=f'pod="{ns}/')
        objects = {"nodes": nodes, "bound_pods": bound, "namespaces": namespaces, "pending": recorded} \
            if record else {}
        return ScenarioResult(scenario=scenario, comparisons=comparisons, events=events, log_lines=log_lines,
                              objects=objects, seconds=time.monotonic() - t0)


_GROUP_PLURAL = {
    "PersistentVolume": ("v1", "persistentvolumes", False), "PersistentVolumeClaim": ("v1", "persistentvolumeclaims", True),
    "StorageClass": ("storage.k8s.io/v1", "storageclasses", False), "CSINode": ("storage.k8s.io/v1", "csinodes", False),
    "CSIDriver": ("storage.k8s.io/v1", "csidrivers", False),
    "CSIStorageCapacity": ("storage.k8s.io/v1", "csistoragecapacities", True),
    "VolumeAttachment": ("storage.k8s.io/v1", "volumeattachments", False),
    "DeviceClass": ("resource.k8s.io/v1", "deviceclasses", False),
    "ResourceSlice": ("resource.k8s.io/v1", "resourceslices", False),
    "ResourceClaim": ("resource.k8s.io/v1", "resourceclaims", True),
    "ResourceClaimTemplate": ("resource.k8s.io/v1", "resourceclaimtemplates", True),
    "PriorityClass": ("scheduling.k8s.io/v1", "priorityclasses", False),
    "PodDisruptionBudget": ("policy/v1", "poddisruptionbudgets", True),
    "RuntimeClass": ("node.k8s.io/v1", "runtimeclasses", False),
}


def _collection_path(obj: Mapping[str, Any]) -> str:
    version, plural, namespaced = _GROUP_PLURAL[obj["kind"]]
    base = "/api/v1" if version == "v1" else f"/apis/{version}"
    ns = obj["metadata"].get("namespace")
    return f"{base}/namespaces/{ns}/{plural}" if namespaced else f"{base}/{plural}"


def _object_path(obj: Mapping[str, Any]) -> str:
    return f"{_collection_path(obj)}/{obj['metadata']['name']}"


@dataclass
class Summary:
    scenarios: int = 0
    comparisons: int = 0
    agreed: int = 0
    excused: int = 0
    scheduled: int = 0
    seconds: float = 0.0
    failures: list[tuple[Scenario, Comparison]] = field(default_factory=list)
    by_limitation: dict[str, int] = field(default_factory=dict)
    codes_seen: dict[str, int] = field(default_factory=dict)
    by_family: dict[str, list[int]] = field(default_factory=dict)  # family -> [comparisons, agreed]
    by_verdict: dict[str, int] = field(default_factory=dict)
    postfilter: list[int] = field(default_factory=lambda: [0, 0])  # [compared, agreed]
    postfilter_kinds: dict[str, int] = field(default_factory=dict)  # what the scheduler's PostFilter said
    explain: list[int] = field(default_factory=lambda: [0, 0])  # [refused pods explained, reported blocked]

    def add(self, res: ScenarioResult) -> None:
        self.scenarios += 1
        self.seconds += res.seconds
        for c in res.comparisons:
            fam = self.by_family.setdefault(c.family, [0, 0])
            fam[0] += 1
            fam[1] += c.agrees
            self.by_verdict[c.verdict] = self.by_verdict.get(c.verdict, 0) + 1
            if c.explain_checked:
                self.explain[0] += 1
                self.explain[1] += not any("not blocked" in p for p in c.problems)
            if c.postfilter_checked:
                self.postfilter[0] += 1
                self.postfilter[1] += c.postfilter_agrees
                kind = ("preempts" if "found a potential placement" in c.message else
                        "not eligible" if "not eligible" in c.message else
                        "not attempted (not found)" if c.message.endswith(" not found") else
                        "no candidate" if "preemption: 0/" in c.message else "other")
                self.postfilter_kinds[kind] = self.postfilter_kinds.get(kind, 0) + 1
            self.comparisons += 1
            self.scheduled += bool(c.scheduled_node)
            for k in c.scheduler:
                self.codes_seen[k] = self.codes_seen.get(k, 0) + 1
            if c.agrees:
                self.agreed += 1
            elif c.limitation:
                self.excused += 1
                self.by_limitation[c.limitation] = self.by_limitation.get(c.limitation, 0) + 1
            else:
                self.failures.append((res.scenario, c))

    @property
    def agreement_rate(self) -> float:
        return self.agreed / self.comparisons if self.comparisons else 1.0

    def report(self) -> str:
        rate = f"{100 * self.agreement_rate:.2f}%"
        per_s = self.comparisons / self.seconds if self.seconds else 0.0
        lines = [
            (f"differential: {self.scenarios} scenarios, {self.comparisons} comparisons "
             f"({self.scheduled} scheduled, {self.comparisons - self.scheduled} unschedulable)"),
            (f"  exact agreement {self.agreed}/{self.comparisons} = {rate}; excused by documented "
             f"limitations: {self.excused} {self.by_limitation or ''}; unexplained: {len(self.failures)}"),
            (f"  time {self.seconds:.1f}s: {per_s:.1f} comparisons/s, "
             f"{self.scenarios / self.seconds if self.seconds else 0:.2f} scenarios/s"),
            f"  scheduler reasons seen (comparisons): {json.dumps(dict(sorted(self.codes_seen.items())))}",
            "  per area: " + ", ".join(f"{f} {a}/{n} = {100 * a / n:.2f}%" for f, (n, a) in sorted(self.by_family.items())),
            f"  verdicts: {json.dumps(dict(sorted(self.by_verdict.items())))}; PostFilter (preemption) text "
            f"{self.postfilter[1]}/{self.postfilter[0]} agree {json.dumps(dict(sorted(self.postfilter_kinds.items())))}",
            f"  podtriage explain on the pods the scheduler refused: {self.explain[1]}/{self.explain[0]} reported "
            "blocked (never 'fits now')",
        ]
        return "\n".join(lines)


def failure_report(scenario: Scenario, c: Comparison) -> str:
    """Everything needed to replay one disagreement: seed, scenario, messages, counts."""
    return (f"{c.describe()}\n  replay: generate({scenario.seed}) (tests/e2e/differential.py)\n"
            f"  scenario: {json.dumps(scenario.to_json(), sort_keys=True)}")


# ---------------------------------------------------------------------------------------------
# Fixtures: real scheduler output, recorded verbatim


def _strip(obj: Mapping[str, Any]) -> dict[str, Any]:
    """An API object without managedFields (noise for podtriage, large in a fixture)."""
    out = json.loads(json.dumps(obj))
    out.get("metadata", {}).pop("managedFields", None)
    return out


def _shape(c: Comparison, message: str) -> tuple[str, ...]:
    fm = parse_fit_message(message)
    if fm is None:
        return ("unparsed",)
    keys = [f"prefilter:{fm.prefilter.code}"] if fm.prefilter else []
    keys += sorted({r.code + (":" + r.details.get("resource", "") if r.code == "insufficient" else "")
                    + (":" + ",".join(r.details.get("plugins", [])) if r.code == "absent-nodes" else "")
                    for r in fm.reasons})
    return tuple(keys)


def write_fixtures(results: Sequence[ScenarioResult], outdir: Any, max_messages: int = 60,
                   max_cases: int = 24) -> dict[str, int]:
    """Write real FailedScheduling texts, scheduler log lines and whole cases to `outdir`.

    - failedscheduling.jsonl: one line per distinct set of reasons: the PodScheduled condition
      message, the FailedScheduling event's message for the same attempt, and the node count;
    - scheduler-log.txt: the scheduler's own log lines for those pods (-v=2);
    - cases/<seed>-<pod>.json: the objects as the API server returned them plus the scheduler's
      verdict, one per reason shape (and every case that ever disagreed), for regression tests.
    """
    from pathlib import Path

    out = Path(outdir)
    (out / "cases").mkdir(parents=True, exist_ok=True)
    seen: dict[tuple[str, ...], tuple[ScenarioResult, int]] = {}
    for res in results:
        for i, c in enumerate(res.comparisons):
            if not c.agrees:  # cases are replayed as regression tests: only verdicts we reproduce
                continue
            shape = ("scheduled",) if c.scheduled_node else _shape(c, c.message)
            if shape not in seen:
                seen[shape] = (res, i)
    # Greedy: shapes bringing reasons not covered yet first, so every reason gets a case.
    order: list[tuple[str, ...]] = []
    covered: set[str] = set()
    rest = sorted(seen)
    while rest:
        best = max(rest, key=lambda sh: (len(set(sh) - covered), -len(sh)))
        order.append(best)
        covered |= set(best)
        rest.remove(best)
    messages, logs, cases = [], [], 0
    for shape in order[: max(max_messages, max_cases)]:
        res, i = seen[shape]
        c = res.comparisons[i]
        rec = res.objects["pending"][i]
        pod = rec["pod"]["metadata"]
        key = f"{pod['namespace']}/{pod['name']}"
        if not c.scheduled_node and len(messages) < max_messages:
            event_msgs = sorted({e.get("message", "") for e in res.events
                                 if e.get("involvedObject", {}).get("name") == pod["name"]})
            messages.append({"seed": res.scenario.seed, "pod": key, "nodes": len(res.objects["nodes"]),
                             "condition_message": c.message, "event_messages": event_msgs})
        logs += [ln for ln in res.log_lines if f'pod="{key}"' in ln]
        if cases < max_cases:
            case = {
                "seed": res.scenario.seed, "pod": key, "shape": list(shape),
                "scheduled_node": c.scheduled_node, "scheduler_message": c.message,
                "nodes": [_strip(n) for n in res.objects["nodes"]],
                "pods": [_strip(p) for p in res.objects["bound_pods"]],
                "namespaces": [_strip(n) for n in res.objects["namespaces"]],
                "pending": _strip(rec["pod"]),
            }
            (out / "cases" / f"{res.scenario.seed}-{pod['name']}.json").write_text(
                json.dumps(case, indent=1, sort_keys=True) + "\n")
            cases += 1
    with open(out / "failedscheduling.jsonl", "w") as f:
        f.writelines(json.dumps(m, sort_keys=True) + "\n" for m in messages)
    (out / "scheduler-log.txt").write_text("\n".join(logs) + "\n")
    return {"messages": len(messages), "log_lines": len(logs), "cases": cases}
