"""Gangs: distributed training whose workers are all needed before any of them does useful work.

An Indexed Job with `completions == parallelism` (PyTorch/TF distributed training, MPI) or pods of one
coscheduling PodGroup (label `scheduling.x-k8s.io/pod-group`) make progress only when every worker
runs. kube-scheduler places them one by one, so a gang can be partly placed: the placed workers hold
their GPUs idle while the last one waits, and the cause of the last one's wait is the cause of the
whole job. This module says so, as one unit: how many workers are placed, what they hold, which wait,
and that the pending workers' cause (ranked in their pod reports) is what blocks the job.

The PodGroup object (scheduler-plugins `scheduling.x-k8s.io/v1alpha1`), when read, gives the gang's
size (`spec.minMember`) and the coscheduling controller's view (`status.phase`, running/succeeded/failed).
Its Coscheduling plugin rejects every pod of a group at PreFilter while fewer pods than `minMember`
exist ("cannot find enough sibling pods", pkg/coscheduling/core/core.go): no node is even tried, so
that is said as the cause, with the counts.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Mapping, Sequence

from .. import model as m
from ..findings import EvidenceItem, Signal
from ..quantity import format_amount
from ..scheduler.framework import effective_requests
from ..snapshot import Snapshot

POD_GROUP_LABEL = "scheduling.x-k8s.io/pod-group"
COMPLETION_MODE_LABEL = "batch.kubernetes.io/job-completion-index"


def _d(x: Any) -> Mapping[str, Any]:
    return x if isinstance(x, Mapping) else {}


def pod_group(snap: Snapshot, namespace: str, name: str) -> m.AddonObject | None:
    return next((g for g in snap.addons("PodGroup", namespace) if g.name == name), None)


def _min_member(pg: m.AddonObject) -> int:
    v = _d(pg.body.get("spec")).get("minMember")
    return v if isinstance(v, int) and not isinstance(v, bool) else 0


def _group_state(pg: m.AddonObject) -> str:
    """`minMember 4; phase Scheduling, 3 running` from the PodGroup's spec and status."""
    st = _d(pg.body.get("status"))
    counts = [f"{st[k]} {k}" for k in ("scheduled", "running", "succeeded", "failed")
              if isinstance(st.get(k), int) and st.get(k)]
    phase = f"phase {st['phase']}" if st.get("phase") else "no status yet"
    return f"minMember {_min_member(pg)}; {phase}" + (f", {', '.join(counts)}" if counts else "")


def _is_gang(w: m.Workload, pods: Sequence[m.Pod], snap: Snapshot | None = None) -> str:
    """Why the workload is a gang ('' when it is not one we can tell)."""
    groups = {p.labels.get(POD_GROUP_LABEL) for p in pods} - {None}
    if len(groups) == 1:
        name = next(iter(groups))
        pg = pod_group(snap, w.namespace, name) if snap is not None and name else None
        return f"its pods form coscheduling PodGroup `{name}`" + (f" ({_group_state(pg)})" if pg else "")
    if w.kind == "Job" and (w.replicas or 0) > 1 and pods and all(COMPLETION_MODE_LABEL in p.labels for p in pods):
        return f"an Indexed Job of {w.replicas} workers that run together (parallelism {w.replicas})"
    return ""


def signals(w: m.Workload, pods: Sequence[m.Pod], snap: Snapshot, total: int) -> list[Signal]:
    active = [p for p in pods if not p.is_terminal and not p.deletion_timestamp]
    placed = [p for p in active if p.node_name]
    waiting = [p for p in active if not p.node_name and p.phase == "Pending"]
    why = _is_gang(w, active, snap)
    if not why or not placed or not waiting:
        return []
    held: Counter[str] = Counter()
    for p in placed:
        for res, amount in effective_requests(p).items():
            if "/" in res or res in ("cpu", "memory"):
                held[res] += amount
    shown = ", ".join(f"{format_amount(r, a)} {r}" for r, a in sorted(held.items(), key=lambda kv: ("/" not in kv[0], kv[0])))
    key = f"{w.namespace}/{w.name}"
    params = {"pod": f"{w.kind}/{key}", "total_nodes": total, "nodes_count": 0, "node_examples": "",
              "node_example": "NODE", "workload": f"{w.kind.lower()}/{w.name}", "namespace": w.namespace,
              "gang": why, "placed": len(placed), "waiting": len(waiting), "size": len(active),
              "held": shown or "nothing measurable", "waiting_pods": ", ".join(p.name for p in waiting[:5])
              + (", ..." if len(waiting) > 5 else ""),
              "placed_nodes": ", ".join(sorted({p.node_name for p in placed})[:5])}
    ev = [EvidenceItem(kind="object", summary=f"{len(placed)} of {len(active)} worker(s) placed on "
                       f"{params['placed_nodes']}, holding {params['held']}; waiting: {params['waiting_pods']}",
                       source=f"Pods of {w.kind} {key}", data={"placed": [p.name for p in placed[:50]],
                                                               "waiting": [p.name for p in waiting[:50]]})]
    return [Signal(name="gang-partially-placed", params=params, evidence=tuple(ev), blocking=False,
                   subject=f"{w.kind}/{key}", confidence=0.9,
                   effects=("the placed workers hold their resources idle until the last one is placed",))]


def pod_signals(pod: m.Pod, snap: Snapshot, total: int) -> list[Signal]:
    """A Pending pod of a PodGroup with fewer pods than its minMember: the Coscheduling plugin rejects
    it at PreFilter before any node is tried (upstream counts every pod carrying the label)."""
    name = pod.labels.get(POD_GROUP_LABEL)
    if not name or pod.node_name or pod.phase != "Pending":
        return []
    pg = pod_group(snap, pod.namespace, name)
    if pg is None:
        return []
    need = _min_member(pg)
    members = [p for p in snap.pods if p.namespace == pod.namespace and p.labels.get(POD_GROUP_LABEL) == name]
    if need <= len(members):
        return []
    owners = Counter(f"{p.owner.kind.lower()}/{p.owner.name}" for p in members if p.owner is not None)
    owner = owners.most_common(1)[0][0] if owners else ""
    params = {"pod": pod.key, "total_nodes": total, "nodes_count": total, "node_examples": "",
              "node_example": "NODE", "pod_group": name, "namespace": pod.namespace, "min_member": need,
              "members": len(members), "gap": need - len(members), "group_state": _group_state(pg),
              "owner": owner or "the workload that creates them",
              "upstream_message": f"pre-filter pod {pod.name} cannot find enough sibling pods, current pods "
                                  f"number: {len(members)}, minMember of group: {need}"}
    ev = (EvidenceItem(kind="object", summary=f"PodGroup {pod.namespace}/{name}: {_group_state(pg)}",
                       source=f"PodGroup {pod.namespace}/{name} spec.minMember / status",
                       data={"minMember": need}),
          EvidenceItem(kind="event", summary=f"the Coscheduling plugin's PreFilter: {params['upstream_message']}",
                       source="scheduler-plugins pkg/coscheduling/core/core.go (PreFilter)"),
          EvidenceItem(kind="object", summary=f"{len(members)} pod(s) carry `{POD_GROUP_LABEL}={name}`: "
                       + ", ".join(p.name for p in members[:6]) + (", ..." if len(members) > 6 else ""),
                       source=f"Pod list (namespace {pod.namespace})"))
    return [Signal(name="podgroup-min-member-unmet", params=params, evidence=ev, blocking=True, confidence=0.9,
                   subject=f"PodGroup/{pod.namespace}/{name} spec.minMember",
                   effects=(f"the Coscheduling plugin waits for {need} pods of PodGroup {name}",))]


__all__ = ["POD_GROUP_LABEL", "pod_group", "pod_signals", "signals"]
