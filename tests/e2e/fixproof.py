"""Fix proof: podtriage's top fix, applied on the real control plane, lets the real scheduler bind the pod.

A seeded generator (`generate(seed)`) builds what real clusters have and users post: dedicated
pools with a label *and* a taint, hostname pins to a tainted control-plane node, pod affinity to a
node that is full, deprecated selector keys beside current ones, typos, custom labels no node
carries yet, cordoned pools, requests larger than any node, host ports taken, hard spreading,
several blockers at once, and fixes only a cluster admin can make. Each scenario also carries
background that must not be the answer (general workers the pod excludes itself, a tainted
control-plane node, other tainted pools).

`FixProofRunner.run` creates the scenario, waits until the real kube-scheduler has refused the
pending pod, reads the cluster with podtriage's live collector and explains the pod, then applies
the top cause's first safe structured fix (and, for a multi-change cause, the first safe fix of
each cause it says still blocks): a JSON patch of the bare pod applied client-side and the pod
recreated (`apply: recreate`, as `kubectl replace --force` does), or a patch of a Node sent to
the API server. The pod must then bind. Everything about a miss (the answer, the fixes, the
scheduler's last message) is kept for the report.

Fixes that need a controller this control plane does not run (the cluster autoscaler, quota,
kubelet configuration) are checked in fixture tests (fixtures/cases/), not here.
"""

from __future__ import annotations

import copy
import json
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from podtriage.analyze import Explainer
from podtriage.collect.live import collect_live
from podtriage.findings import Fix, Report, RootCause
from podtriage.rulebook import load_rules

from .controlplane import PODTRIAGE_CLI_USER
from .differential import Api, ApiError, DifferentialRunner, Scenario

HOST = "kubernetes.io/hostname"
ZONE = "topology.kubernetes.io/zone"
PAUSE = "registry.k8s.io/pause:3.10"
CONTROL_PLANE = "node-role.kubernetes.io/control-plane"


# ---------------------------------------------------------------------------------------------
# Scenario


def node(name: str, *, cpu: str = "4", memory: str = "8Gi", pods: int = 110, labels: Mapping[str, str] | None = None,
         taints: Sequence[Mapping[str, str]] = (), unschedulable: bool = False) -> dict[str, Any]:
    alloc = {"cpu": cpu, "memory": memory, "pods": str(pods), "ephemeral-storage": "50Gi"}
    spec: dict[str, Any] = {}
    if taints:
        spec["taints"] = [dict(t) for t in taints]
    if unschedulable:
        spec["unschedulable"] = True
    conds = [{"type": t, "status": "False", "reason": r, "message": "ok"} for t, r in (
        ("MemoryPressure", "KubeletHasSufficientMemory"), ("DiskPressure", "KubeletHasNoDiskPressure"),
        ("PIDPressure", "KubeletHasSufficientPID"))]
    conds.append({"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "ready"})
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {HOST: name, "kubernetes.io/os": "linux", **(labels or {})}},
            "spec": spec, "status": {"capacity": dict(alloc), "allocatable": alloc, "conditions": conds}}


def pod(name: str, ns: str, *, cpu: str = "100m", labels: Mapping[str, str] | None = None, node_name: str = "",
        spec: Mapping[str, Any] | None = None, ports: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "main", "image": PAUSE, "resources": {"requests": {"cpu": cpu}}}
    if ports:
        container["ports"] = [dict(p) for p in ports]
    sp: dict[str, Any] = {"containers": [container], "terminationGracePeriodSeconds": 0, **(spec or {})}
    if node_name:
        sp["nodeName"] = node_name
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": ns, "labels": dict(labels or {"app": name})}, "spec": sp}


@dataclass
class FixScenario:
    seed: int
    family: str
    namespace: str
    nodes: list[dict[str, Any]]
    bound: list[dict[str, Any]]
    pending: dict[str, Any]
    needs_admin: bool = False  # the fix this scenario calls for is a cluster admin's

    def as_scenario(self) -> Scenario:
        return Scenario(seed=self.seed, name=self.namespace, namespace=self.namespace, other_namespace=None,
                        nodes=self.nodes, bound_pods=self.bound, pending_pods=[self.pending])


def _workers(r: random.Random, prefix: str, n: int, **kw: Any) -> list[dict[str, Any]]:
    return [node(f"{prefix}-w{i}", labels={ZONE: f"zone-{'abc'[i % 3]}"}, **kw) for i in range(n)]


def _background(r: random.Random, p: str) -> list[dict[str, Any]]:
    """What every real cluster has besides the pool a pod wants: a tainted control plane, another
    tainted pool, and sometimes a cordoned worker."""
    out = [node(f"{p}-cp", labels={CONTROL_PLANE: ""}, taints=[{"key": CONTROL_PLANE, "effect": "NoSchedule"}])]
    if r.random() < 0.6:
        out.append(node(f"{p}-infra", labels={"node-role.kubernetes.io/infra": ""},
                        taints=[{"key": "dedicated", "value": "infra", "effect": "NoSchedule"}]))
    if r.random() < 0.3:
        out.append(node(f"{p}-cordoned", labels={ZONE: "zone-a"}, unschedulable=True))
    return out


def _filler(ns: str, node_name: str, cpu: str, i: int) -> dict[str, Any]:
    return pod(f"filler-{i}", ns, cpu=cpu, labels={"app": "filler"}, node_name=node_name)


def _pool(r: random.Random, p: str, n: int, pool: str, *, tainted: bool = True, **kw: Any) -> list[dict[str, Any]]:
    taints = [{"key": "dedicated", "value": pool, "effect": r.choice(("NoSchedule", "NoExecute"))}] if tainted else []
    return [node(f"{p}-{pool}{i}", labels={"pool": pool, ZONE: f"zone-{'abc'[i % 3]}"}, taints=taints, **kw)
            for i in range(n)]


def _fam_pool_taint(r: random.Random, p: str, ns: str) -> FixScenario:
    pool = r.choice(("gpu", "batch", "ml"))
    nodes = _pool(r, p, r.randint(1, 3), pool) + _workers(r, p, r.randint(2, 5)) + _background(r, p)
    sel = {"pool": pool}
    if r.random() < 0.5:  # the same intent through required node affinity instead of nodeSelector
        spec: dict[str, Any] = {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchExpressions": [{"key": "pool", "operator": "In", "values": [pool]}]}]}}}}
    else:
        spec = {"nodeSelector": sel}
    return FixScenario(0, "pool-taint", ns, nodes, [], pod("job", ns, spec=spec))


def _fam_pool_taint_and_full(r: random.Random, p: str, ns: str) -> FixScenario:
    """Several blockers at once: the pool's taint and not enough cpu on its nodes."""
    pool = r.choice(("gpu", "batch"))
    nodes = _pool(r, p, r.randint(1, 2), pool, cpu="2") + _workers(r, p, 3) + _background(r, p)
    bound = [_filler(ns, n["metadata"]["name"], "1500m", i) for i, n in enumerate(nodes)
             if n["metadata"]["labels"].get("pool") == pool]
    return FixScenario(0, "pool-taint-and-full", ns, nodes, bound,
                       pod("job", ns, cpu="1", spec={"nodeSelector": {"pool": pool}}))


def _fam_hostname_cp(r: random.Random, p: str, ns: str) -> FixScenario:
    nodes = _background(r, p) + _workers(r, p, r.randint(1, 4))
    if r.random() < 0.5:  # a full worker the fix must not pick
        nodes.append(node(f"{p}-small", cpu="100m"))
    if r.random() < 0.5:
        spec: dict[str, Any] = {"nodeSelector": {HOST: f"{p}-cp"}}
    else:
        spec = {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchExpressions": [{"key": HOST, "operator": "In", "values": [f"{p}-cp"]}]}]}}}}
    return FixScenario(0, "hostname-control-plane", ns, nodes, [], pod("agent", ns, cpu="200m", spec=spec))


def _fam_affinity_full(r: random.Random, p: str, ns: str) -> FixScenario:
    """Required pod affinity to the cache, whose only node is short of cpu."""
    nodes = _workers(r, p, r.randint(2, 4)) + _background(r, p)
    host = nodes[0]["metadata"]["name"]
    bound = [pod("cache", ns, cpu="3500m", labels={"app": "cache"}, node_name=host)]
    aff = {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "cache"}}, "topologyKey": HOST}]}}
    return FixScenario(0, "pod-affinity-full-node", ns, nodes, bound, pod("api", ns, cpu="1", spec={"affinity": aff}))


def _fam_deprecated_and_effect(r: random.Random, p: str, ns: str) -> FixScenario:
    zone = r.choice(("zone-a", "zone-b"))
    nodes = [node(f"{p}-b{i}", labels={ZONE: z, "pool": "batch"},
                  taints=[{"key": "dedicated", "value": "batch", "effect": "NoSchedule"}])
             for i, z in enumerate(("zone-a", "zone-b"))] + _background(r, p)
    spec = {"nodeSelector": {"failure-domain.beta.kubernetes.io/zone": zone}}
    if r.random() < 0.7:  # and a toleration with the wrong effect: two changes together
        spec["tolerations"] = [{"key": "dedicated", "operator": "Equal", "value": "batch", "effect": "NoExecute"}]
    else:
        spec["tolerations"] = [{"key": "dedicated", "operator": "Equal", "value": "batch", "effect": "NoSchedule"}]
    return FixScenario(0, "deprecated-key", ns, nodes, [], pod("report", ns, spec=spec))


def _fam_value_typo(r: random.Random, p: str, ns: str) -> FixScenario:
    nodes = [node(f"{p}-d{i}", labels={"disktype": "ssd" if i % 2 == 0 else "hdd"}) for i in range(3)] + \
        _background(r, p)
    return FixScenario(0, "selector-value-typo", ns, nodes, [],
                       # Typos with one reading (`sdd` is one edit from both ssd and hdd: no fix to prove).
                       pod("db", ns, spec={"nodeSelector": {"disktype": r.choice(("sssd", "SSD", "ssdd", "sd"))}}))


def _fam_label_absent(r: random.Random, p: str, ns: str) -> FixScenario:
    nodes = _workers(r, p, r.randint(2, 4)) + _background(r, p)
    return FixScenario(0, "custom-label-absent", ns, nodes, [],
                       pod("render", ns, spec={"nodeSelector": {"team.example.com/render": "true"}}),
                       needs_admin=True)


def _fam_cordoned_pool(r: random.Random, p: str, ns: str) -> FixScenario:
    nodes = [node(f"{p}-gpu{i}", labels={"pool": "gpu"}, unschedulable=True) for i in range(r.randint(1, 2))] + \
        _workers(r, p, 2) + _background(r, p)
    return FixScenario(0, "cordoned-pool", ns, nodes, [], pod("train", ns, spec={"nodeSelector": {"pool": "gpu"}}),
                       needs_admin=True)


def _fam_too_large(r: random.Random, p: str, ns: str) -> FixScenario:
    nodes = _workers(r, p, r.randint(1, 3), cpu=r.choice(("2", "4"))) + _background(r, p)
    return FixScenario(0, "request-too-large", ns, nodes, [], pod("etl", ns, cpu=r.choice(("6", "8", "16"))))


def _fam_host_port(r: random.Random, p: str, ns: str) -> FixScenario:
    nodes = _workers(r, p, r.randint(1, 3)) + _background(r, p)
    port = r.choice((8080, 9100, 10250 + r.randint(1, 9)))
    bound = [pod(f"holder-{i}", ns, labels={"app": "holder"}, node_name=n["metadata"]["name"],
                 ports=[{"containerPort": port, "hostPort": port}])
             for i, n in enumerate(nodes) if n["metadata"]["name"].split("-")[-1].startswith("w")]
    return FixScenario(0, "host-port-taken", ns, nodes, bound,
                       pod("exporter", ns, ports=[{"containerPort": port, "hostPort": port}]))


def _fam_spread(r: random.Random, p: str, ns: str) -> FixScenario:
    nodes = [node(f"{p}-z{i}", labels={ZONE: z}) for i, z in enumerate(("zone-a", "zone-b"))] + \
        [node(f"{p}-zc", labels={ZONE: "zone-c"}, cpu="50m")] + _background(r, p)
    bound = [pod(f"web-{i}", ns, labels={"app": "web"}, node_name=f"{p}-z{i % 2}") for i in range(4)]
    spread = [{"maxSkew": 1, "topologyKey": ZONE, "whenUnsatisfiable": "DoNotSchedule",
               "labelSelector": {"matchLabels": {"app": "web"}}}]
    return FixScenario(0, "spread-unsatisfiable", ns, nodes, bound,
                       pod("web-new", ns, labels={"app": "web"}, spec={"topologySpreadConstraints": spread}))


FAMILIES: list[Callable[[random.Random, str, str], FixScenario]] = [
    _fam_pool_taint, _fam_pool_taint_and_full, _fam_hostname_cp, _fam_affinity_full, _fam_deprecated_and_effect,
    _fam_value_typo, _fam_label_absent, _fam_cordoned_pool, _fam_too_large, _fam_host_port, _fam_spread,
]


def generate(seed: int) -> FixScenario:
    r = random.Random(seed)
    fam = FAMILIES[seed % len(FAMILIES)]
    p = f"f{seed}"
    sc = fam(r, p, f"fix-{seed}")
    sc.seed = seed
    return sc


# ---------------------------------------------------------------------------------------------
# Applying a fix


class PatchError(ValueError):
    pass


def _resolve(doc: Any, ptr: str) -> tuple[Any, str]:
    parts = [p.replace("~1", "/").replace("~0", "~") for p in ptr.split("/")[1:]]
    if not parts:
        raise PatchError(f"empty pointer {ptr!r}")
    cur = doc
    for p in parts[:-1]:
        cur = cur[int(p)] if isinstance(cur, list) else cur[p]
    return cur, parts[-1]


def apply_json_patch(doc: Any, ops: Sequence[Mapping[str, Any]]) -> Any:
    """RFC 6902 add / remove / replace / test on a copy of `doc` (what the fixes use)."""
    out = copy.deepcopy(doc)
    for op in ops:
        try:
            parent, key = _resolve(out, str(op["path"]))
            kind = op["op"]
            if isinstance(parent, list):
                idx = len(parent) if key == "-" else int(key)
                if kind == "add":
                    parent.insert(idx, copy.deepcopy(op["value"]))
                elif kind == "remove":
                    del parent[idx]
                elif kind == "replace":
                    parent[idx] = copy.deepcopy(op["value"])
                elif kind == "test":
                    if parent[idx] != op["value"]:
                        raise PatchError(f"test failed at {op['path']}")
            else:
                if kind in ("add", "replace"):
                    if kind == "replace" and key not in parent:
                        raise PatchError(f"replace of missing {op['path']}")
                    parent[key] = copy.deepcopy(op["value"])
                elif kind == "remove":
                    del parent[key]
                elif kind == "test":
                    if parent.get(key) != op["value"]:
                        raise PatchError(f"test failed at {op['path']}")
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise PatchError(f"{op}: {exc}") from None
    return out


def _strip_for_create(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The object as `kubectl replace --force` re-creates it: no server-set identity or status."""
    out = {k: v for k, v in obj.items() if k != "status"}
    meta = {k: v for k, v in obj["metadata"].items()
            if k not in ("uid", "resourceVersion", "creationTimestamp", "managedFields", "generation", "selfLink")}
    out["metadata"] = meta
    return out


# Taints a workload must never be made to tolerate, whatever binds it.
NEVER_TOLERATE = ("node-role.kubernetes.io/", "node.kubernetes.io/", "node.cloudprovider.kubernetes.io/")


def harmful(fix: Fix, sc: FixScenario) -> list[str]:
    """What would make things worse even if the pod then binds: tolerating a control-plane or
    lifecycle taint, relabelling a node (overwriting a value it has, or a platform's label),
    removing a taint, any fix flagged unsafe."""
    out = []
    if not fix.safe:
        out.append(f"unsafe fix applied: {fix.description}")
    patch = fix.patch if isinstance(fix.patch, list) else []
    for op in patch:
        value = op.get("value")
        tols = value if isinstance(value, list) and "/tolerations" in str(op.get("path")) else \
            [value] if "/tolerations" in str(op.get("path")) and isinstance(value, dict) else []
        for t in tols:
            if str(t.get("key", "")).startswith(NEVER_TOLERATE) or not t.get("key"):
                out.append(f"tolerates {t}")
        if fix.object.get("kind") == "Node" and "/spec/taints" in str(op.get("path")):
            out.append("changes a node's taints")
    if fix.object.get("kind") == "Node" and isinstance(fix.patch, dict):
        labels = fix.patch.get("metadata", {}).get("labels", {})
        node = next((n for n in sc.nodes if n["metadata"]["name"] == fix.object.get("name")), None)
        for k in labels:
            if node is not None and k in node["metadata"]["labels"]:
                out.append(f"overwrites label {k} of node {fix.object.get('name')}")
            if k.split("/")[0].endswith(("kubernetes.io", "k8s.io")):
                out.append(f"sets platform label {k}")
    return out


# ---------------------------------------------------------------------------------------------
# Running


@dataclass
class Proof:
    scenario: FixScenario
    refused: str  # the scheduler's message before the fix
    top: RootCause | None
    applied: list[Fix] = field(default_factory=list)
    bound_to: str = ""
    failure: str = ""  # a class of miss, "" when the pod bound
    detail: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return bool(self.bound_to)

    def describe(self) -> str:
        top = f"{self.top.rule}: {self.top.message}" if self.top else "no cause"
        fixes = "; ".join(f"{f.description} [{f.command}]" for f in self.applied)
        return (f"seed {self.scenario.seed} ({self.scenario.family}): {self.failure or 'bound'}\n"
                f"  scheduler: {self.refused}\n  top cause: {top}\n  applied: {fixes or 'nothing'}\n"
                f"  {self.detail}")


class FixProofRunner:
    def __init__(self, control_plane: Any, bind_timeout: float = 30.0) -> None:
        self.cp = control_plane
        self.diff = DifferentialRunner(control_plane)
        self.api: Api = self.diff.api
        self.rules = load_rules()
        self.bind_timeout = bind_timeout

    def _wait(self, ns: str, name: str, until: Callable[[dict[str, Any] | None], bool],
              timeout: float) -> dict[str, Any] | None:
        """The pod (None once it is gone) when `until` holds of it, or as it is at the timeout."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                got = self.api.req("GET", f"/api/v1/namespaces/{ns}/pods/{name}")
            except ApiError as e:
                if e.status != 404:
                    raise
                got = None
            if until(got):
                return got
            if time.monotonic() > deadline:
                return got
            time.sleep(0.02)

    @staticmethod
    def _refusal(p: Mapping[str, Any]) -> str:
        for c in p.get("status", {}).get("conditions", []):
            if c.get("type") == "PodScheduled" and c.get("status") == "False" and c.get("reason") == "Unschedulable":
                return str(c.get("message") or "")
        return ""

    def _explain(self, ns: str, name: str) -> Report:
        # As podtriage's own read-only identity, like every podtriage run in e2e (the audit-log test
        # checks that podtriage never reads as anyone else).
        kubeconfig = self.cp.kubeconfig_for(PODTRIAGE_CLI_USER)
        res = collect_live(kubeconfig=str(kubeconfig), namespaces=[ns], scope="pod", pod_name=name, deadline=60.0)
        return Explainer(res.snapshot, self.rules).explain(name, ns)

    def _apply(self, fix: Fix, ns: str, name: str) -> None:
        obj = fix.object
        if obj.get("kind") == "Node":
            ctype = {"json": "application/json-patch+json", "merge": "application/merge-patch+json",
                     "strategic": "application/strategic-merge-patch+json"}[fix.patch_type]
            self.api.req("PATCH", f"/api/v1/nodes/{obj['name']}", fix.patch, content_type=ctype)
            return
        if obj.get("kind") != "Pod" or fix.apply != "recreate" or fix.patch_type != "json":
            raise PatchError(f"the harness applies bare-pod recreations and node patches, not {fix.to_dict()}")
        current = self.api.req("GET", f"/api/v1/namespaces/{ns}/pods/{obj['name']}")
        patched = apply_json_patch(_strip_for_create(current), fix.patch)
        self.api.delete(f"/api/v1/namespaces/{ns}/pods/{obj['name']}")
        gone = self._wait(ns, obj["name"], lambda p: p is None, 10.0)
        if gone is not None:
            raise PatchError(f"pod {ns}/{obj['name']} was not deleted")
        self.api.req("POST", f"/api/v1/namespaces/{ns}/pods", patched)

    def run(self, sc: FixScenario, *, control: bool = False) -> Proof:
        """Prove the top fix on `sc`. With `control`, recreate the pod unchanged instead: it must
        stay Pending (the scenario is not one a retry alone would schedule)."""
        t0 = time.monotonic()
        self.diff.delete_all_nodes()
        self.diff._ensure_namespace(sc.namespace)
        for n in sc.nodes:
            self.diff._create_node(n)
        bound = [self.diff._create_bound_pod(b) for b in sc.bound]
        self.diff._barrier(sc.as_scenario(), sc.nodes[-1]["metadata"]["name"])
        ns, name = sc.namespace, sc.pending["metadata"]["name"]
        proof = Proof(scenario=sc, refused="", top=None)
        try:
            self.api.req("POST", f"/api/v1/namespaces/{ns}/pods", sc.pending)
            got = self._wait(ns, name, lambda p: p is not None and bool(p["spec"].get("nodeName") or self._refusal(p)),
                             30.0)
            if got is None or got["spec"].get("nodeName"):
                proof.failure, proof.detail = "scheduled-without-fix", json.dumps((got or {}).get("spec", {}))[:300]
                return proof
            proof.refused = self._refusal(got)
            report = self._explain(ns, name)
            causes = list(report.root_causes)
            if not causes or not causes[0].blocking:
                proof.failure = "no-blocking-cause"
                proof.detail = json.dumps([(c.rule, c.blocking) for c in causes])
                return proof
            top = proof.top = causes[0]
            together = {x.get("rule") for x in top.still_blocked_by}
            chosen = [top] + [next(c for c in causes if c.rule == rule) for rule in sorted(together)
                              if any(c.rule == rule for c in causes)]
            for c in chosen:
                fix = next((f for f in c.fixes if f.safe), None)
                if fix is None:
                    proof.failure = f"no-safe-structured-fix:{c.rule}"
                    return proof
                proof.applied.append(fix)
            if control:
                proof.applied = [Fix(description="recreate the pod unchanged (control)",
                                     object={"apiVersion": "v1", "kind": "Pod", "namespace": ns, "name": name},
                                     patch_type="json", patch=[], apply="recreate")]
            harm = [h for f in proof.applied for h in harmful(f, sc)]
            if harm:
                proof.failure, proof.detail = "harmful-fix", "; ".join(harm)
                return proof
            for fix in proof.applied:
                self._apply(fix, ns, name)
            got = self._wait(ns, name, lambda p: p is not None and bool(p["spec"].get("nodeName")), self.bind_timeout)
            if got is not None and got["spec"].get("nodeName"):
                proof.bound_to = got["spec"]["nodeName"]
            else:
                proof.failure = "still-pending-after-fix"
                proof.detail = f"scheduler now: {self._refusal(got or {})}"
            return proof
        except PatchError as exc:
            proof.failure, proof.detail = "patch-not-applicable", str(exc)
            return proof
        finally:
            proof.seconds = time.monotonic() - t0
            self.api.delete(f"/api/v1/namespaces/{ns}/pods/{name}")
            for b in bound:
                self.diff._release(b)


@dataclass
class ProofSummary:
    proofs: list[Proof] = field(default_factory=list)

    def add(self, p: Proof) -> None:
        self.proofs.append(p)

    @property
    def bound(self) -> int:
        return sum(p.ok for p in self.proofs)

    @property
    def rate(self) -> float:
        return self.bound / len(self.proofs) if self.proofs else 1.0

    def by_family(self) -> dict[str, tuple[int, int]]:
        out: dict[str, list[int]] = {}
        for p in self.proofs:
            x = out.setdefault(p.scenario.family, [0, 0])
            x[0] += p.ok
            x[1] += 1
        return {k: (v[0], v[1]) for k, v in sorted(out.items())}

    def failure_classes(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for p in self.proofs:
            if not p.ok:
                out[p.failure] = out.get(p.failure, 0) + 1
        return dict(sorted(out.items()))

    def report(self) -> str:
        secs = sum(p.seconds for p in self.proofs)
        lines = [f"fix proof: {self.bound}/{len(self.proofs)} pods bound after podtriage's top fix = "
                 f"{100 * self.rate:.2f}% ({secs:.0f}s)"]
        for fam, (ok, n) in self.by_family().items():
            lines.append(f"  {fam:28} {ok}/{n}")
        admin = [p for p in self.proofs if p.scenario.needs_admin]
        lines.append(f"  fixes a cluster admin applied: {sum(p.ok for p in admin)}/{len(admin)}")
        lines.append(f"  failure classes: {self.failure_classes() or 'none'}")
        return "\n".join(lines)


__all__ = ["FAMILIES", "FixProofRunner", "FixScenario", "Proof", "ProofSummary", "apply_json_patch", "generate"]
