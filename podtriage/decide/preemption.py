"""Preemption as a counterfactual: when the pod's target nodes are full, could evicting
lower-priority pods make room on one of them, and if not, why not.

Upstream preemption (DefaultPreemption) looks for a node where removing pods of lower priority
than the pending pod makes it fit; PodDisruptionBudgets are respected on a best-effort basis
(a victim whose PDB allows no disruption is avoided, not forbidden). So: a node helps when its
lower-priority pods together free what the pod lacks there.
"""

from __future__ import annotations

from collections.abc import Sequence

from .. import model as m
from ..findings import EvidenceItem, Signal
from ..quantity import format_amount
from ..scheduler.framework import ClusterState, Evaluation, NodeVerdict, effective_requests
from ..scheduler.plugins.node_resources_fit import FitColumn
from ..scheduler.selectors import label_selector_matches

_RESOURCE_CODES = frozenset({"insufficient", "too-many-pods"})


def _full_targets(ev: Evaluation, targets: Sequence[str]) -> list[str]:
    """The target nodes blocked by room alone (requests or pod slots), in node order; kept with
    the evaluation, whose pods share their targets."""
    key = "full-targets"
    if key not in ev.memo:
        cls = ev.outside
        if cls is not None and cls.clean and isinstance(cls.multi, FitColumn):
            # NodeResourcesFit's class, with its failures alone: every node of it is blocked by room
            # alone (its verdicts are not made for that). No node kept out of it is: NodeResourcesFit
            # passes it (only NodeResourcesFit gives a resource code), or an earlier filter rejects
            # it first.
            pos, names = cls.positions_of, cls.names
            if len(targets) == len(names):
                ev.memo[key] = cls.outside_names()
            else:
                wanted = {pos[n] for n in targets if n in pos}
                ev.memo[key] = [names[i] for i in cls.positions() if i in wanted]
        else:
            # (verdicts_on: a DaemonSet pod's verdicts on its other nodes are not made to be skipped)
            ev.memo[key] = [v.node for v in ev.verdicts_on(targets) if _room_only(v)]
    out: list[str] = ev.memo[key]
    return out


def _room_only(v: NodeVerdict) -> bool:
    # (the first reasons are among the failures: a node first rejected for something else, a taint,
    # is told without its other failures)
    first = v.first
    if not first or any(f.code not in _RESOURCE_CODES for f in first):
        return False
    fs = v.failures
    return fs is first or all(f.code in _RESOURCE_CODES for f in fs)


def _shortfall(v: NodeVerdict) -> tuple[dict[str, int], bool]:
    """What the pod lacks on the node, per resource, and whether it also lacks a pod slot."""
    short = {str(f.detail.get("resource")): int(f.detail.get("requested", 0)) - int(f.detail.get("free", 0))
             for f in v.failures if f.code == "insufficient"}
    return short, any(f.code == "too-many-pods" for f in v.failures)


def preemption_outlook(pod: m.Pod, cluster: ClusterState, ev: Evaluation, targets: Sequence[str],
                       total: int) -> list[Signal]:
    """One context signal saying whether preemption could free a target node, with the reason."""
    if pod.preemption_policy == "Never":
        return []  # preemption-disabled says so already
    full = _full_targets(ev, targets)
    if not full:
        return []
    snapshot = cluster.snapshot
    lowest = cluster.lowest_priority
    helps: list[tuple[str, list[m.Pod]]] = []
    lower_anywhere = False
    by_node = ev.verdicts_by_node()
    # (nothing anywhere ranks below the pod, the common case with everything at 0: no node to visit)
    anywhere = cluster.lowest_priority_anywhere
    for node in full if anywhere is not None and anywhere < pod.priority else ():
        if lowest.get(node, pod.priority) >= pod.priority:
            continue  # nothing there ranks below the pod
        short, no_slot = _shortfall(by_node[node])
        victims = [q for q in snapshot.pods_by_node.get(node, ()) if q.priority < pod.priority and not q.is_terminal
                   and not q.deletion_timestamp]
        lower_anywhere = lower_anywhere or bool(victims)
        freed: dict[str, int] = {}
        for q in victims:
            for r, amount in effective_requests(q).items():
                freed[r] = freed.get(r, 0) + amount
        if victims and all(freed.get(r, 0) >= s for r, s in short.items()) and (not no_slot or victims):
            helps.append((node, victims))
    nodes = full
    base = {"pod": pod.key, "total_nodes": total, "nodes_count": len(nodes), "priority": pod.priority,
            "node_examples": ", ".join(nodes[:3]) + (", ..." if len(nodes) > 3 else ""),
            "node_example": nodes[0]}
    if helps:
        node, victims = helps[0]
        pdbs = sorted({f"{b.namespace}/{b.name}" for b in snapshot.pdbs if b.disruptions_allowed == 0
                       for q in victims if q.namespace == b.namespace and label_selector_matches(b.selector, q.labels)})
        text = (f"{len(victims)} pod(s) of lower priority on {node} ({', '.join(q.key for q in victims[:3])}"
                f"{', ...' if len(victims) > 3 else ''})")
        ev_item = EvidenceItem(kind="object", summary=f"preemption could free node {node}: {text}",
                               source=f"pods on node {node} (priority < {pod.priority})",
                               data={"node": node, "victims": [q.key for q in victims[:20]]})
        return [Signal(name="preemption-can-help", blocking=False, confidence=0.8, evidence=(ev_item,),
                       params={**base, "helping_nodes": len(helps), "victims": text,
                               "pdbs": ", ".join(pdbs[:3]) or "none"},
                       subject=f"Node/{node}", effects=("lower-priority pods can be evicted to make room",))]
    shown = [(n, *_shortfall(by_node[n])) for n in full[:3]]
    if lower_anywhere:
        why = ("evicting every lower-priority pod on them would still not free enough "
               + ", ".join(sorted({r for _, short, _ in shown for r in short})))
    else:
        why = f"every pod on them has priority {pod.priority} or higher, like pod {pod.key} (priority {pod.priority})"
    short_text = "; ".join(f"{n}: short of " + ", ".join(f"{format_amount(r, s)} {r}" for r, s in sorted(sh.items()))
                           + (" and a pod slot" if slot else "") for n, sh, slot in shown)
    ev_item = EvidenceItem(kind="object", summary=f"no preemption victims on the full target nodes: {why}",
                           source="pods on the target nodes and their priorities",
                           data={"nodes": nodes[:20], "shortfall": short_text})
    return [Signal(name="preemption-cannot-help", blocking=False, confidence=0.85, evidence=(ev_item,),
                   params={**base, "why": why, "shortfall": short_text},
                   subject=f"Pod/{pod.key} spec.priority",
                   effects=("preemption cannot make room on the nodes the pod asks for",))]


__all__ = ["preemption_outlook"]
