"""Audit-only risk checks: configuration that blocks nothing today but leaves pods Pending on the
next reschedule. Low severity, kind "risk", never blocking, never failing the exit code.

They run on every workload template and on one pod per controller (bare pods one by one), not
only on Pending pods. Node-side facts are indexed once (label -> nodes, taint key -> effects,
extended resource -> nodes), so a check costs a few set operations per distinct spec.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .. import model as m
from ..diagnose.labels import DEPRECATED_LABELS, NOT_READY_TAINTS
from ..findings import EvidenceItem, RootCause
from ..scheduler.plugins.taint_toleration import tolerates
from ..scheduler.selectors import describe_requirement, requirement_matches
from ..snapshot import Snapshot
from .model import Finding, WorkloadRef, finding_id, make_headline

# Taints that come and go with node health or cordoning: not a configuration choice.
_TRANSIENT_TAINT_KEYS = set(NOT_READY_TAINTS) | {"node.kubernetes.io/unschedulable"}


@dataclass(frozen=True)
class RiskCheck:
    rule: str
    category: str
    title: str
    fix: str
    why: str


CHECKS = {
    c.rule: c for c in (
        RiskCheck("risk-deprecated-label-key", "deprecated-label",
                  "Node selection on a deprecated node label key",
                  "Select on the current key instead (e.g. topology.kubernetes.io/zone for "
                  "failure-domain.beta.kubernetes.io/zone); both can be listed during a migration.",
                  "New nodes (new images, new cloud provider versions) stop setting deprecated keys; pods "
                  "rescheduled after that stay Pending."),
        RiskCheck("risk-single-node-selector", "node-affinity-mismatch",
                  "A required node selector matches exactly one node",
                  "Widen the selector (a node pool label rather than a hostname), or accept and document the "
                  "single point of failure.",
                  "When that node is drained, replaced or fails, the pods have nowhere else to go."),
        RiskCheck("risk-gpu-untolerated-taint", "taint-untolerated",
                  "Extended resource (GPU) requested without a toleration for the nodes that have it",
                  "Add the toleration for the taint the GPU nodes carry (see the evidence), as the GPU operator's "
                  "admission hook or the ExtendedResourceToleration admission plugin would.",
                  "Every node advertising the resource is tainted; the pods only run where they are because the "
                  "taint came later. Rescheduled, they stay Pending."),
        RiskCheck("risk-init-container-no-memory-limit", "init-container-oom",
                  "Init containers without a memory limit next to containers that set one",
                  "Set resources.limits.memory on the init containers too (LimitRange defaults do not apply "
                  "when the namespace has none).",
                  "An unbounded init container can exhaust the node or be OOM-killed by a later LimitRange or "
                  "quota; the pod then never leaves Init."),
        RiskCheck("risk-toleration-effect-unmatched", "taint-effect-mismatch",
                  "A toleration's effect matches no taint with that key",
                  "Use the effect the nodes' taint has (or leave effect empty to tolerate every effect).",
                  "The toleration looks like it admits the pods to those nodes but does not; the pods run where "
                  "they are by chance and stay Pending when they need those nodes."),
    )
}


def _risk_cause(rule: str, message: str, subject: str, evidence: Sequence[EvidenceItem]) -> RootCause:
    c = CHECKS[rule]
    return RootCause(rule=rule, category=c.category, severity="low", title=c.title, message=message,
                     fix=c.fix, evidence=tuple(evidence), confidence=0.9, blocking=False, subject=subject,
                     signal=rule)


class _NodeIndex:
    def __init__(self, snap: Snapshot) -> None:
        self.all = frozenset(n.name for n in snap.nodes)
        self.by_label: dict[str, dict[str, set[str]]] = {}
        self.taint_effects: dict[str, set[str]] = {}
        self.by_resource: dict[str, list[m.Node]] = {}
        for n in snap.nodes:
            for k, v in n.labels.items():
                self.by_label.setdefault(k, {}).setdefault(v, set()).add(n.name)
            for t in n.taints:
                self.taint_effects.setdefault(t.key, set()).add(t.effect)
            for r, q in n.allocatable.items():
                if "/" in r and q > 0 and not r.startswith("hugepages-"):
                    self.by_resource.setdefault(r, []).append(n)

    def with_key(self, key: str) -> set[str]:
        out: set[str] = set()
        for names in self.by_label.get(key, {}).values():
            out |= names
        return out

    def requirement(self, r: m.Requirement) -> set[str]:
        values = self.by_label.get(r.key, {})
        if r.operator == "In":
            out: set[str] = set()
            for v in r.values:
                out |= values.get(v, set())
            return out
        if r.operator == "NotIn":
            out = set(self.all)
            for v in r.values:
                out -= values.get(v, set())
            return out
        if r.operator == "Exists":
            return self.with_key(r.key)
        if r.operator == "DoesNotExist":
            return set(self.all) - self.with_key(r.key)
        out = set()
        for v, names in values.items():
            if requirement_matches(r, {r.key: v}):
                out |= names
        return out

    def matching(self, pod: m.Pod) -> set[str] | None:
        """Nodes the pod's nodeSelector and required node affinity accept (None: it has neither)."""
        if not pod.node_selector and pod.required_node_affinity is None:
            return None
        ok = set(self.all)
        for k, v in pod.node_selector.items():
            ok &= self.by_label.get(k, {}).get(v, set())
        if pod.required_node_affinity is not None:
            union: set[str] = set()
            for term in pod.required_node_affinity:
                if not term.match_expressions and not term.match_fields:
                    continue  # an empty term matches nothing
                t = set(ok)
                for r in term.match_expressions:
                    t &= self.requirement(r)
                for r in term.match_fields:
                    if r.key == "metadata.name":
                        t &= set(r.values) if r.operator == "In" else self.all - set(r.values)
                union |= t
            ok = union
        return ok


def _only_pins_by_name(pod: m.Pod) -> bool:
    """The DaemonSet controller pins each pod with matchFields metadata.name: by design, not a risk."""
    terms = pod.required_node_affinity or ()
    return bool(terms) and not pod.node_selector and all(
        t.match_fields and not t.match_expressions for t in terms)


def _subjects(snap: Snapshot, pods: Iterable[m.Pod], workloads: Iterable[m.Workload],
              chain_of: Any) -> list[tuple[m.Pod, str, tuple[str, ...], str]]:
    """(pod spec, top workload key, chain, owner kind) for every template and one pod per controller."""
    out: list[tuple[m.Pod, str, tuple[str, ...], str]] = []
    covered: set[tuple[str, str, str]] = set()
    for w in workloads:
        if w.template_pod is None:
            continue
        covered.add((w.kind, w.namespace, w.name))
        chain, top_key = chain_of(w.namespace, m.OwnerRef(kind=w.kind, name=w.name), dict(w.template_pod.labels),
                                  w.name)
        out.append((w.template_pod, top_key, chain, w.kind))
    seen_owner: set[tuple[str, str, str]] = set()
    # (owner reference, namespace) already settled: replicas share their converted reference
    done_refs: set[tuple[int, str]] = set()
    for p in pods:
        owner = p.owner
        if owner is not None and (id(owner), p.namespace) in done_refs:
            continue
        if p.phase in ("Succeeded", "Failed") or p.deletion_timestamp:  # m.Pod.is_terminal, inlined
            continue
        if owner is not None:
            ok = (owner.kind, p.namespace, owner.name)
            if ok in covered or ok in seen_owner or owner.kind == "Node":
                if ok in covered or owner.kind == "Node":
                    done_refs.add((id(owner), p.namespace))
                continue
            seen_owner.add(ok)
        chain, top_key = chain_of(p.namespace, p.owner, p.labels, p.name)
        out.append((p, top_key, chain, p.owner.kind if p.owner else "Pod"))
    return out


def _extended(pod: m.Pod) -> tuple[str, ...]:
    names: set[str] = set()
    for c in (*pod.containers, *pod.init_containers):
        for src in (c.requests, c.limits):
            names.update(r for r, q in src.items() if "/" in r and q > 0 and not r.startswith("hugepages-"))
    return tuple(sorted(names))


def risk_findings(snap: Snapshot, pods: Sequence[m.Pod], workloads: Sequence[m.Workload], chain_of: Any,
                  pods_per_workload: dict[str, int]) -> list[Finding]:
    """Every risk check over every template in scope; one finding per (check, object at fault)."""
    idx = _NodeIndex(snap)
    nodes_known = snap.has("Node") and bool(snap.nodes)
    groups: dict[str, dict[str, Any]] = {}

    def add(rule: str, key: str, shown: str, message: str, evidence: Sequence[EvidenceItem], wkey: str,
            chain: tuple[str, ...], labels: Any) -> None:
        fid = finding_id(rule, key)
        g = groups.setdefault(fid, {"rule": rule, "key": key, "shown": shown, "message": message,
                                    "evidence": list(evidence), "workloads": {}})
        if wkey not in g["workloads"]:
            kind, ns, name = wkey.split("/", 2)
            g["workloads"][wkey] = WorkloadRef(kind=kind, namespace=ns, name=name, chain=chain,
                                               pods=pods_per_workload.get(wkey, 0), labels=labels)

    single_cache: dict[str, set[str] | None] = {}
    gpu_cache: dict[tuple[Any, ...], list[tuple[str, list[m.Taint]]] | None] = {}
    for pod, wkey, chain, owner_kind in _subjects(snap, pods, workloads, chain_of):
        labels = pod.labels
        # 1. deprecated label keys
        keys = set(pod.node_selector)
        for t in pod.required_node_affinity or ():
            keys.update(r.key for r in t.match_expressions)
        for k in sorted(keys & set(DEPRECATED_LABELS)):
            have = len(idx.with_key(k))
            msg = (f"Node selection uses deprecated label `{k}` (replaced by `{DEPRECATED_LABELS[k]}`); "
                   f"{have} of {len(idx.all)} node(s) still carry it. {CHECKS['risk-deprecated-label-key'].why}")
            add("risk-deprecated-label-key", f"key={k}", f"label key {k}", msg,
                [EvidenceItem(kind="object", summary=f"{have}/{len(idx.all)} nodes carry `{k}`",
                              source="Node labels", data={"key": k, "current": DEPRECATED_LABELS[k],
                                                          "nodesWithKey": have})], wkey, chain, labels)
        if not nodes_known:
            continue
        # 2. a required selector that matches exactly one node
        if owner_kind != "DaemonSet" and not _only_pins_by_name(pod):
            sk = repr((sorted(pod.node_selector.items()), pod.required_node_affinity))
            if sk not in single_cache:
                single_cache[sk] = idx.matching(pod)
            ok = single_cache[sk]
            if ok is not None and len(ok) == 1:
                node = next(iter(ok))
                expr = ", ".join([f"{k}={v}" for k, v in sorted(pod.node_selector.items())] + [
                    " AND ".join(describe_requirement(r) for r in t.match_expressions) or "matchFields"
                    for t in pod.required_node_affinity or ()])
                msg = (f"Required node selection `{expr}` matches only node {node}. "
                       f"{CHECKS['risk-single-node-selector'].why}")
                add("risk-single-node-selector", f"selector={expr}", f"{expr} -> Node/{node}", msg,
                    [EvidenceItem(kind="node-verdict", summary=f"1/{len(idx.all)} node(s) match: {node}",
                                  source="podtriage label index over Node labels", data={"node": node})],
                    wkey, chain, labels)
        # 3. GPU (extended resource) requested, every node that has it tainted and not tolerated
        ext = _extended(pod)
        if ext:
            gk = (ext, pod.tolerations)
            if gk not in gpu_cache:
                res_hits: list[tuple[str, list[m.Taint]]] = []
                for r in ext:
                    have_nodes = idx.by_resource.get(r, [])
                    if not have_nodes:
                        continue  # nobody advertises it: a blocking finding if Pending, not a risk
                    blocked_taints: list[m.Taint] = []
                    all_blocked = True
                    for n in have_nodes:
                        bad = [t for t in n.taints if t.effect in ("NoSchedule", "NoExecute")
                               and t.key not in _TRANSIENT_TAINT_KEYS
                               and not any(tolerates(tol, t) for tol in pod.tolerations)]
                        if not bad:
                            all_blocked = False
                            break
                        blocked_taints.extend(x for x in bad if x not in blocked_taints)
                    if all_blocked:
                        res_hits.append((r, blocked_taints))
                gpu_cache[gk] = res_hits or None
            for r, taints in gpu_cache[gk] or ():
                ts = ", ".join(f"`{t}`" for t in taints[:3])
                msg = (f"The pods request `{r}`, and every node advertising it carries a taint they do not "
                       f"tolerate: {ts}. {CHECKS['risk-gpu-untolerated-taint'].why}")
                add("risk-gpu-untolerated-taint", f"resource={r};taints={','.join(sorted(map(str, taints)))}",
                    f"{r} behind taint {taints[0]}", msg,
                    [EvidenceItem(kind="object", summary=f"{len(idx.by_resource.get(r, []))} node(s) advertise "
                                                         f"{r}, all tainted: {', '.join(map(str, taints[:3]))}",
                                  source="Node status.allocatable and spec.taints",
                                  data={"resource": r, "taints": [str(t) for t in taints[:10]]})],
                    wkey, chain, labels)
        # 4. init containers without a memory limit while the app containers set one
        if pod.init_containers and any("memory" in c.limits for c in pod.containers):
            bare = [c.name for c in pod.init_containers if "memory" not in c.limits]
            if bare:
                msg = (f"Init container(s) {', '.join(bare[:5])} set no memory limit while the pod's containers "
                       f"do. {CHECKS['risk-init-container-no-memory-limit'].why}")
                add("risk-init-container-no-memory-limit", "init-containers", "init containers", msg,
                    [EvidenceItem(kind="object", summary=f"init containers without limits.memory: "
                                                         f"{', '.join(bare[:5])}",
                                  source="pod template spec.initContainers[].resources",
                                  data={"containers": bare[:20]})], wkey, chain, labels)
        # 5. a toleration whose effect matches no taint with that key
        for tol in pod.tolerations:
            if not tol.key or not tol.effect or tol.key in _TRANSIENT_TAINT_KEYS:
                continue
            effects = idx.taint_effects.get(tol.key)
            if effects and tol.effect not in effects:
                effects_text = ", ".join(sorted(effects))
                msg = (f"Toleration `{tol}` has effect {tol.effect}, but nodes taint `{tol.key}` only with "
                       f"{effects_text}. {CHECKS['risk-toleration-effect-unmatched'].why}")
                add("risk-toleration-effect-unmatched", f"key={tol.key};effect={tol.effect};taints={effects_text}",
                    f"toleration {tol} vs taint effect(s) {effects_text}", msg,
                    [EvidenceItem(kind="object", summary=f"taint key {tol.key} has effect(s) {effects_text} on nodes",
                                  source="Node spec.taints", data={"key": tol.key, "effects": sorted(effects),
                                                                   "toleration": str(tol)})],
                    wkey, chain, labels)

    out = []
    for fid, g in groups.items():
        ws = tuple(sorted(g["workloads"].values(), key=lambda w: (w.namespace, w.kind, w.name)))
        rc = _risk_cause(g["rule"], g["message"], g["shown"], g["evidence"])
        pods_n = sum(w.pods for w in ws)
        head = make_headline("risk", rc.title, g["shown"], pods_n, len(ws))
        out.append(Finding(id=fid, kind="risk", headline=head, subject=g["shown"], root_cause=rc, pods=(),
                           workloads=ws, example_pod=ws[0].key if ws else ""))
    out.sort(key=lambda f: (-len(f.workloads), f.root_cause.rule, f.id))
    return out
