"""Intent: where the pod's owner wants the pod to run, and so which nodes are the question.

The pod's positive placement constraints (nodeName, nodeSelector, required node affinity,
required pod affinity) and the devices it requests (a GPU pod can only ever run on nodes that
have GPUs) say where its owner wants it. The nodes that satisfy all of them are the *target
nodes*: what blocks them is the root cause. The others exclude themselves by the pod's own
choice and are background, like control-plane nodes, never the cause and never the fix.

Control-plane nodes are background too unless the pod asks for them by name or label, or they
are the only nodes there are (a single-node cluster).

Only when no node satisfies the constraints is a constraint itself the cause; then `terms` says
which term fails where (key absent everywhere, a value nobody carries) and whether the terms
conflict (each matches some nodes, never the same one).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .. import model as m
from ..diagnose.accelerators import hardware_label
from ..diagnose.labels import CONTROL_PLANE_TAINTS
from ..scheduler.framework import Evaluation, Failure
from ..scheduler.plugins.dynamic_resources import extended_resource_classes, may_filter
from ..scheduler.plugins.taint_toleration import tolerates
from ..scheduler.selectors import describe_requirement, node_selector_matches
from ..snapshot import Snapshot

# Failures that mean "the pod itself does not want this node": its own positive constraints.
INTENT_CODES = frozenset({"node-affinity", "node-name", "pod-affinity"})


def is_intent_failure(f: Failure) -> bool:
    """A failure caused by the pod's own placement choice, not by the node's state."""
    if f.code in INTENT_CODES:
        return True
    # A ResourceClaim of the pod already allocated: its devices are reachable from some nodes only
    # (DynamicResources: "resourceclaim not available on the node"); the pod runs there or nowhere.
    if f.plugin == "DynamicResources" and f.detail.get("allocated") is True:
        return True
    # Left out of NodeAffinity's PreFilterResult (a DaemonSet-style metadata.name pin).
    return f.code == "absent-nodes" and f.plugin == "NodeAffinity"


@dataclass(frozen=True)
class Term:
    """One positive placement constraint as the owner wrote it, and the nodes that satisfy it alone."""

    id: str  # "nodeSelector:disktype", "nodeAffinity", "podAffinity", "nodeName", "resource:nvidia.com/gpu"
    field: str  # the spec field, for people and patches: "spec.nodeSelector"
    text: str  # "nodeSelector `disktype=ssd`"
    nodes: frozenset[str]
    key: str = ""  # the label key (nodeSelector terms), the resource name (resource terms)
    value: str = ""


@dataclass(frozen=True)
class Intent:
    """The target nodes of one pod, with the terms that define them."""

    terms: tuple[Term, ...]
    targets: tuple[str, ...]  # nodes satisfying every term, in the snapshot's node order
    total: int  # nodes in the cluster
    control_plane_excluded: tuple[str, ...] = ()  # satisfy every term, but control plane by design

    @property
    def constrained(self) -> bool:
        """The pod narrows where it runs (otherwise every node but the control plane is a target)."""
        return any(len(t.nodes) < self.total for t in self.terms)

    def describe(self) -> str:
        """'nodeSelector `gpu=true`' / 'nodeSelector `a=b` and required node affinity `zone in (x)`'."""
        return " and ".join(t.text for t in self.terms)

    def failing_terms(self) -> list[Term]:
        """Terms no node satisfies: each is by itself why there is no target."""
        return [t for t in self.terms if not t.nodes]


def _snapshot_cache(snapshot: Snapshot) -> dict[Any, Any]:
    """Per-snapshot memo of node sets that depend only on the nodes and a part of a pod's spec
    (kept beside the snapshot's own cached indexes, so it lives and dies with it)."""
    return snapshot.__dict__.setdefault("_intent_node_sets", {})  # type: ignore[no-any-return]


def control_plane_tainted(snapshot: Snapshot) -> frozenset[str]:
    """The nodes with a control-plane taint (NoSchedule/NoExecute), once per snapshot: only they can
    be is_control_plane for any pod."""
    cache = _snapshot_cache(snapshot)
    got: frozenset[str] | None = cache.get("control_plane_tainted")
    if got is None:
        got = cache["control_plane_tainted"] = frozenset(
            n.name for n in snapshot.nodes if any(t.key in CONTROL_PLANE_TAINTS and t.effect in ("NoSchedule", "NoExecute")
                                                  for t in n.taints))
    return got


def _names_only(terms: Sequence[m.NodeSelectorTerm]) -> bool:
    """Every term names its nodes with matchFields metadata.name In only (a DaemonSet's pod)."""
    return all(not t.match_expressions and t.match_fields
               and all(r.key == "metadata.name" and r.operator == "In" for r in t.match_fields) for t in terms)


def _affinity_nodes(terms: Sequence[m.NodeSelectorTerm], snapshot: Snapshot) -> frozenset[str]:
    """The nodes the required node affinity `terms` select (node_selector_matches on every node)."""
    by_name = snapshot.node_by_name
    if _names_only(terms):
        # node_selector_matches of a names-only term is `name in values` for every field: no node scan.
        out: set[str] = set()
        for t in terms:
            names = set(t.match_fields[0].values)
            for r in t.match_fields[1:]:
                names &= set(r.values)
            out |= names
        return frozenset(n for n in out if n in by_name)
    if any(t.match_fields for t in terms):
        return frozenset(n.name for n in snapshot.nodes if node_selector_matches(terms, n.labels, n.name))
    cache = _snapshot_cache(snapshot)
    key = ("affinity", tuple(terms))
    got = cache.get(key)
    if got is None:
        got = cache[key] = frozenset(n.name for n in snapshot.nodes if node_selector_matches(terms, n.labels, n.name))
    return got  # type: ignore[no-any-return]


def _selector_terms(pod: m.Pod, snapshot: Snapshot) -> list[Term]:
    out = []
    by_label = snapshot.nodes_by_label
    for key, want in sorted(pod.node_selector.items()):
        # Node names carrying key=want: the snapshot's label index (no scan of every node per pod).
        out.append(Term(id=f"nodeSelector:{key}", field="spec.nodeSelector", text=f"nodeSelector `{key}={want}`",
                        nodes=frozenset(by_label.get((key, want), ())), key=key, value=want))
    terms = pod.required_node_affinity
    if terms is not None:
        text = " OR ".join(" AND ".join([describe_requirement(r) for r in t.match_expressions]
                                        + [f"metadata.name {describe_requirement(r)[len('metadata.name '):]}"
                                           for r in t.match_fields]) or "<empty term>" for t in terms)
        out.append(Term(id="nodeAffinity", field="spec.affinity.nodeAffinity.requiredDuringSchedulingIgnored"
                                                 "DuringExecution", text=f"required node affinity `{text}`",
                        nodes=_affinity_nodes(terms, snapshot)))
    return out


def _device_terms(requests: Mapping[str, int], snapshot: Snapshot) -> list[Term]:
    """Extended resources (vendor-domain names such as nvidia.com/gpu): nodes that have none are no
    place for the pod, whatever else is true of them; but a node whose labels say it has the
    accelerator is one, whose broken device stack (diagnose/accelerators.py) is then the cause."""
    out = []
    cache = _snapshot_cache(snapshot)
    for res, amount in sorted(requests.items()):
        if "/" not in res or amount <= 0:
            continue
        nodes = cache.get(("device", res))
        if nodes is None:  # depends on the nodes alone: once per snapshot and resource
            nodes = cache[("device", res)] = frozenset(
                n.name for n in snapshot.nodes if n.allocatable.get(res, 0) > 0 or hardware_label(res, n))
        out.append(Term(id=f"resource:{res}", field="resources.requests", text=f"a request for `{res}`",
                        nodes=nodes, key=res))
    return out


def _from_verdicts(ev: Evaluation, codes: Iterable[str]) -> frozenset[str]:
    """Nodes on which no failure with one of `codes` occurred."""
    want = set(codes)
    return frozenset(v.node for v in ev.verdicts if not any(f.code in want for f in v.failures))


def _allocated_claims_term(ev: Evaluation, snapshot: Snapshot) -> Term | None:
    """The nodes an already-allocated ResourceClaim of the pod can reach, when some can: the pod
    runs there or nowhere (as a nodeName would say). None when no claim pins it, or when no node can
    reach the allocation (then the allocation itself is the blocker, diagnose/dra.py says so)."""
    if not may_filter(ev.pod, ev.requests, snapshot):
        return None  # DynamicResources has nothing to allocate for the pod: no verdict of it
    pinned = [f for v in ev.verdicts for f in v.failures if f.plugin == "DynamicResources"
              and f.detail.get("allocated") is True]
    if not pinned:
        return None
    ok = frozenset(v.node for v in ev.verdicts if not any(f.plugin == "DynamicResources"
                                                           and f.detail.get("allocated") is True for f in v.failures))
    if not ok:
        return None
    claims = sorted({c for f in pinned for c in f.detail.get("claims", ())})
    return Term(id="resourceClaim", field="spec.resourceClaims",
                text="ResourceClaim " + ", ".join(f"`{c}`" for c in claims) + " (already allocated)", nodes=ok)


def is_control_plane(node: m.Node, pod: m.Pod) -> bool:
    """A control-plane node whose taint the pod does not tolerate."""
    if not node.taints:
        return False
    return any(t.key in CONTROL_PLANE_TAINTS and t.effect in ("NoSchedule", "NoExecute")
               and not any(tolerates(tol, t) for tol in pod.tolerations) for t in node.taints)


def explicitly_named(pod: m.Pod, node: m.Node) -> bool:
    """The pod asks for this node by name: nodeName, a hostname selector or a metadata.name pin."""
    if pod.node_name == node.name:
        return True
    host = pod.node_selector.get("kubernetes.io/hostname")
    if host is not None and node.labels.get("kubernetes.io/hostname") == host:
        return True
    for t in pod.required_node_affinity or ():
        for r in (*t.match_expressions, *t.match_fields):
            if r.key in ("kubernetes.io/hostname", "metadata.name") and r.operator == "In" and \
                    (node.name in r.values or node.labels.get("kubernetes.io/hostname") in r.values):
                return True
    return False


def find_intent(pod: m.Pod, snapshot: Snapshot, ev: Evaluation) -> Intent:
    """The target nodes of `pod`: those satisfying every positive constraint it carries."""
    nodes = snapshot.nodes
    terms = _selector_terms(pod, snapshot)
    if pod.node_name:
        terms.append(Term(id="nodeName", field="spec.nodeName", text=f"nodeName `{pod.node_name}`",
                          nodes=frozenset(n.name for n in nodes if n.name == pod.node_name)))
    if pod.pod_affinity:
        if ev.verdicts:
            ok = _from_verdicts(ev, ("pod-affinity",))
        else:  # a PreFilter rejection: no node was filtered, so none is known to fail affinity
            ok = frozenset(n.name for n in nodes)
        terms.append(Term(id="podAffinity", field="spec.affinity.podAffinity.requiredDuringScheduling"
                                                  "IgnoredDuringExecution",
                          text="required pod affinity " + "; ".join(
                              f"`{_affinity_text(t)}`" for t in pod.pod_affinity), nodes=ok))
    # A DRA-backed extended resource (a DeviceClass provides it) is allocated from devices on nodes
    # that do not advertise it: no node list follows from its name (diagnose/dra.py judges it).
    dra_backed = extended_resource_classes(snapshot)
    terms += _device_terms({r: v for r, v in ev.requests.items() if r not in dra_backed}, snapshot)
    allocated = _allocated_claims_term(ev, snapshot)
    if allocated is not None:
        terms.append(allocated)
    cache = _snapshot_cache(snapshot)
    names: list[str] = cache.get("names") or cache.setdefault("names", [n.name for n in nodes])
    if terms:
        # The smallest term's nodes first: a DaemonSet pod's one node, not every node per term.
        common = frozenset.intersection(*sorted((t.nodes for t in terms), key=len))
        pos: dict[str, int] = cache.get("positions") or cache.setdefault("positions", {n: i for i, n in enumerate(names)})
        if len(common) * 8 < len(names) and len(pos) == len(names) and all(n in pos for n in common):
            # Few targets (every term's nodes are node names): in node order without a walk over all.
            targets = sorted(common, key=pos.__getitem__)
        else:
            targets = [n for n in names if n in common]
    else:
        targets = list(names)
    excluded: list[str] = []
    by_name = snapshot.node_by_name
    # Only nodes with a control-plane taint can be (once per snapshot: most clusters' targets have
    # none of them, and then no target is looked at).
    tainted = control_plane_tainted(snapshot)
    plane = [n for n in targets if n in tainted and is_control_plane(by_name[n], pod)
             and not explicitly_named(pod, by_name[n])] if tainted else []
    if plane and len(plane) < len(targets):
        # Control-plane nodes are background like nodes the pod excludes itself; when they are all
        # there is (a single-node cluster, or the pod asks for them), they stay the question.
        excluded = plane
        targets = [n for n in targets if n not in set(plane)]
    return Intent(terms=tuple(terms), targets=tuple(targets), total=len(names),
                  control_plane_excluded=tuple(excluded))


def _affinity_text(t: m.PodAffinityTerm) -> str:
    sel = t.label_selector
    parts = [f"{k}={v}" for k, v in sel.match_labels] if sel else []
    parts += [describe_requirement(r) for r in sel.match_expressions] if sel else []
    return f"{','.join(parts) or '<all pods>'} per {t.topology_key}"


__all__ = ["INTENT_CODES", "Intent", "Term", "control_plane_tainted", "explicitly_named", "find_intent",
           "is_control_plane", "is_intent_failure"]
