"""Gangs: distributed training whose workers are all needed before any of them does useful work.

An Indexed Job with `completions == parallelism` (PyTorch/TF distributed training, MPI) or pods of one
coscheduling PodGroup (label `scheduling.x-k8s.io/pod-group`) make progress only when every worker
runs. kube-scheduler places them one by one, so a gang can be partly placed: the placed workers hold
their GPUs idle while the last one waits, and the cause of the last one's wait is the cause of the
whole job. This module says so, as one unit: how many workers are placed, what they hold, which wait,
and that the pending workers' cause (ranked in their pod reports) is what blocks the job.
"""

from __future__ import annotations

from collections import Counter
from typing import Sequence

from .. import model as m
from ..findings import EvidenceItem, Signal
from ..quantity import format_amount
from ..scheduler.framework import effective_requests
from ..snapshot import Snapshot

POD_GROUP_LABEL = "scheduling.x-k8s.io/pod-group"
COMPLETION_MODE_LABEL = "batch.kubernetes.io/job-completion-index"


def _is_gang(w: m.Workload, pods: Sequence[m.Pod]) -> str:
    """Why the workload is a gang ('' when it is not one we can tell)."""
    groups = {p.labels.get(POD_GROUP_LABEL) for p in pods} - {None}
    if len(groups) == 1:
        return f"its pods form coscheduling PodGroup `{next(iter(groups))}`"
    if w.kind == "Job" and (w.replicas or 0) > 1 and pods and all(COMPLETION_MODE_LABEL in p.labels for p in pods):
        return f"an Indexed Job of {w.replicas} workers that run together (parallelism {w.replicas})"
    return ""


def signals(w: m.Workload, pods: Sequence[m.Pod], snap: Snapshot, total: int) -> list[Signal]:
    active = [p for p in pods if not p.is_terminal and not p.deletion_timestamp]
    placed = [p for p in active if p.node_name]
    waiting = [p for p in active if not p.node_name and p.phase == "Pending"]
    why = _is_gang(w, active)
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


__all__ = ["POD_GROUP_LABEL", "signals"]
