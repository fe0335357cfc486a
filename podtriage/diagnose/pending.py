"""Pending causes outside the Filter plugins: scheduling gates, a scheduler nobody runs,
priority and preemption, the cluster autoscaler, and admission rejections on the owner."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from .. import model as m
from ..evidence import messages as msgs
from ..scheduler.plugins.dynamic_resources import resolve_claims
from ..findings import EvidenceItem, Signal
from ..quantity import format_amount
from ..scheduler.selectors import label_selector_matches
from ..snapshot import Snapshot
from .status import age


def event_evidence(e: m.Event) -> EvidenceItem:
    inv = e.involved
    what = f"{inv.kind} {inv.namespace + '/' if inv and inv.namespace else ''}{inv.name}" if inv else "?"
    times = f" (x{e.count}, first {e.first_timestamp}, last {e.last_timestamp})" if e.count > 1 else ""
    return EvidenceItem(
        kind="event", summary=f"{e.type} {e.reason}: {e.message[:400]}{times}",
        source=f"Event {e.namespace}/{e.name} about {what}" + (f" from {e.source}" if e.source else ""),
        data={"reason": e.reason, "message": e.message, "count": e.count, "firstSeen": e.first_timestamp,
              "lastSeen": e.last_timestamp, "uid": e.uid, "source": e.source},
        time=e.last_timestamp,
    )


def _base(pod: m.Pod, total: int) -> dict[str, Any]:
    return {"pod": pod.key, "total_nodes": total, "nodes_count": total, "node_examples": "", "node_example": "NODE"}


def gate_signals(pod: m.Pod, total: int) -> list[Signal]:
    if not pod.scheduling_gates or pod.node_name:
        return []
    cond = pod.condition("PodScheduled")
    ev = [EvidenceItem(kind="object", summary=f"spec.schedulingGates: {', '.join(pod.scheduling_gates)}",
                       source=f"Pod {pod.key} spec.schedulingGates", data={"gates": list(pod.scheduling_gates)})]
    if cond:
        ev.append(EvidenceItem(kind="condition", summary=f"PodScheduled={cond.status} {cond.reason}",
                               source=f"Pod {pod.key} status.conditions[PodScheduled]",
                               data={"reason": cond.reason, "message": cond.message},
                               time=cond.last_transition_time))
    return [Signal(name="scheduling-gated", params={**_base(pod, total), "gates": ", ".join(pod.scheduling_gates),
                                                     "gate": pod.scheduling_gates[0]},
                   evidence=tuple(ev), subject=f"Pod/{pod.key} spec.schedulingGates", scope="pod",
                   effects=("the scheduler does not consider the pod until its gates are removed",),
                   confidence=0.99)]


def scheduler_signals(pod: m.Pod, snapshot: Snapshot, pod_events: Sequence[m.Event], total: int) -> list[Signal]:
    """A schedulerName nobody serves, or no scheduler activity at all."""
    if pod.node_name or pod.scheduling_gates:
        return []
    gate = resolve_claims(pod, snapshot)[1] if pod.resource_claims else None
    if gate is not None and (gate.code == "dra-claim-pending" or snapshot.has("ResourceClaim")):
        return []  # DynamicResources' PreEnqueue holds the pod back (diagnose/dra.py says why)
    cond = pod.condition("PodScheduled")
    sched_events = [e for e in pod_events if e.reason in ("FailedScheduling", "Scheduled")]
    known = snapshot.meta.scheduler_names
    sources = sorted({e.source for e in sched_events if e.source})
    if sched_events or cond is not None:
        return []
    # No creationTimestamp (a hand-written or stripped manifest): say so rather than print an empty age.
    waited = age(pod.creation_timestamp) or "an unknown time (the pod has no creationTimestamp)"
    params = {**_base(pod, total), "scheduler_name": pod.scheduler_name, "age": waited,
              "known_schedulers": ", ".join(known or sources) or "none detected (podtriage could not see which "
                                                                 "schedulers run)"}
    ev = [EvidenceItem(kind="object", summary=f"spec.schedulerName: {pod.scheduler_name}; no PodScheduled "
                                              "condition and no scheduling events",
                       source=f"Pod {pod.key}", data={"schedulerName": pod.scheduler_name})]
    events_known = snapshot.has("Event")
    confidence = 0.85 if events_known else 0.5
    if pod.scheduler_name != "default-scheduler" and (known is None or pod.scheduler_name not in known):
        return [Signal(name="scheduler-name-unknown", params=params, evidence=tuple(ev), confidence=confidence, scope="pod",
                       subject=f"Pod/{pod.key} spec.schedulerName",
                       effects=(f"no scheduler serves schedulerName {pod.scheduler_name!r}",))]
    return [Signal(name="no-scheduler-activity", params=params, evidence=tuple(ev), confidence=confidence * 0.8,
                   scope="pod",
                   subject=f"Pod/{pod.key}", effects=("no scheduler has looked at the pod",))]


def preemption_signals(pod: m.Pod, snapshot: Snapshot, fit: Any, blocked_by_resources: bool,
                       total: int) -> list[Signal]:
    out: list[Signal] = []
    base = _base(pod, total)
    if pod.priority_class_name and snapshot.has("PriorityClass") and \
            pod.priority_class_name not in snapshot.priority_class_by_name:
        out.append(Signal(name="priority-class-missing", params={**base, "priority_class": pod.priority_class_name},
                          subject=f"PriorityClass/{pod.priority_class_name}", blocking=False,
                          evidence=(EvidenceItem(kind="object", summary=f"priorityClassName "
                                                 f"{pod.priority_class_name} not found",
                                                 source="PriorityClass list"),),
                          effects=("the pod's priority class no longer exists",)))
    if pod.nominated_node_name:
        out.append(Signal(name="preemption-pending", params={**base, "nominated_node": pod.nominated_node_name},
                          blocking=False, subject=f"Node/{pod.nominated_node_name}",
                          evidence=(EvidenceItem(kind="object",
                                                 summary=f"status.nominatedNodeName={pod.nominated_node_name}",
                                                 source=f"Pod {pod.key} status"),),
                          effects=("victims are being evicted for this pod",)))
    if fit is not None and getattr(fit, "preemption_not_attempted", False) and fit.prefilter is not None:
        out.append(Signal(name="preemption-not-attempted", blocking=False,
                          params={**base, "reason": fit.prefilter.reason},
                          subject=f"Pod/{pod.key}",
                          evidence=(EvidenceItem(kind="event", summary=f"PostFilter: {fit.postfilter}",
                                                 source="FailedScheduling message", data={"message": fit.raw}),),
                          effects=("preemption was not tried: the pod failed PreFilter",)))
    if not blocked_by_resources:
        return out
    never = pod.preemption_policy == "Never" or bool(fit and getattr(fit, "preemption_not_eligible", "")
                                                      and "Never" in fit.preemption_not_eligible)
    if never:
        out.append(Signal(name="preemption-disabled", blocking=False,
                          params={**base, "preemption_policy": "Never", "priority": pod.priority},
                          subject=f"Pod/{pod.key} spec.preemptionPolicy",
                          evidence=(EvidenceItem(kind="object", summary="preemptionPolicy: Never",
                                                 source=f"Pod {pod.key} spec.preemptionPolicy"),),
                          effects=("the pod may not evict lower-priority pods to make room",)))
    elif fit is not None and fit.preemption_node and snapshot.pdbs:
        # PDBs are best effort in preemption: they order victims and nodes but never stop the
        # scheduler. They matter when it preempts anyway and the victims are protected ("No
        # preemption victims found" means no lower-priority pod at all: a PDB is never the reason).
        node = fit.preemption_node
        blocking_pdbs = [p for p in snapshot.pdbs if p.disruptions_allowed <= 0]
        lower = [q for q in snapshot.pods_by_node.get(node, []) if q.priority < pod.priority]
        hit = sorted({f"{p.namespace}/{p.name}" for p in blocking_pdbs for q in lower
                      if q.namespace == p.namespace and p.selector is not None and not p.selector.is_empty
                      and label_selector_matches(p.selector, q.labels)})
        if hit:
            protected = sorted({q.key for q in lower for p in blocking_pdbs if q.namespace == p.namespace
                                and p.selector is not None and label_selector_matches(p.selector, q.labels)})
            out.append(Signal(name="preemption-blocked-by-pdb", blocking=False,
                              params={**base, "pdbs": ", ".join(hit[:5]), "node": node,
                                      "victims": ", ".join(protected[:5]),
                                      "victim_count": fit.preemption_victims or 0},
                              subject=f"PodDisruptionBudget/{hit[0]}",
                              evidence=(EvidenceItem(kind="event", summary=f"preemption on {node}: "
                                                     f"{fit.preemption_victims} victim(s); PDBs with "
                                                     f"disruptionsAllowed=0 cover {', '.join(protected[:5])}",
                                                     source="FailedScheduling message and PodDisruptionBudget list",
                                                     data={"message": fit.raw, "pdbs": hit}),),
                              effects=("preemption proceeds and violates the budgets",)))
    return out


# Node labels that name a node's autoscaling group, by provider.
NODE_GROUP_LABELS = ("eks.amazonaws.com/nodegroup", "cloud.google.com/gke-nodepool", "karpenter.sh/nodepool",
                     "kubernetes.azure.com/agentpool", "agentpool", "node.kubernetes.io/nodegroup",
                     "alpha.eksctl.io/nodegroup-name")


def node_groups_of(nodes: Sequence[m.Node]) -> list[str]:
    """'batch (eks.amazonaws.com/nodegroup)' for each node group the nodes belong to, by their labels."""
    out: dict[str, None] = {}
    for n in nodes:
        for key in NODE_GROUP_LABELS:
            if n.labels.get(key):
                out[f"{n.labels[key]} ({key})"] = None
                break
    return list(out)


def _new_node_check(parsed: Any, targets: Sequence[m.Node], requests: Mapping[str, int]) -> str:
    """The autoscaler says a new node 'wouldn't fit' (Insufficient <resource>) for some groups:
    set that against what the pod's target nodes offer, the best guess of those groups' machines."""
    if parsed is None or not targets:
        return ""
    out = []
    for r in parsed.reasons:
        res = str(r.details.get("resource", "")) if r.code == "insufficient" else ""
        want = requests.get(res, 0)
        if not res or not want:
            continue
        best = max((n.allocatable.get(res, 0) for n in targets), default=0)
        verdict = ("so a new node of that kind would not fit it either: the pod is larger than the machines"
                   if want > best else "which would fit it: the group's template, or what every node runs "
                   "(DaemonSets), leaves less room than the nodes show")
        out.append(f"; the pod requests {format_amount(res, want)} {res} and the nodes it asks for have at most "
                   f"{format_amount(res, best)} allocatable, {verdict}")
    return "".join(out[:2])


def autoscaler_signals(pod: m.Pod, pod_events: Sequence[m.Event], total: int, snapshot: Snapshot,
                       target_names: Sequence[str] = (), requests: Mapping[str, int] | None = None) -> list[Signal]:
    """cluster-autoscaler's NotTriggerScaleUp / TriggeredScaleUp, with the node groups of the pod's
    target nodes (`target_names`) named (the autoscaler's own text counts groups but does not name
    them) and its "a new node would not fit" checked against what those nodes offer."""
    out: list[Signal] = []
    base = _base(pod, total)
    no_scale = [e for e in pod_events if e.reason == "NotTriggerScaleUp"]
    scaled = [e for e in pod_events if e.reason == "TriggeredScaleUp"]
    if no_scale:
        by_name = snapshot.node_by_name
        targets = [by_name[n] for n in target_names if n in by_name]
        e = no_scale[-1]
        parsed = msgs.parse_not_trigger_scale_up(e.message)
        reasons = e.message.split(":", 1)[-1].strip()
        max_size = "max node group size reached" in e.message
        out.append(Signal(name="autoscaler-no-scale-up",
                          params={**base, "reasons": reasons, "max_size_reached": max_size,
                                  "groups_blocked": ", ".join(f"{r.count} {r.reason}" for r in parsed.reasons)
                                  if parsed else "",
                                  "target_groups": ", ".join(node_groups_of(targets)) or "not named by any node label",
                                  "new_node_check": _new_node_check(parsed, targets, requests or {})},
                          evidence=tuple(event_evidence(x) for x in no_scale[-2:]),
                          subject="cluster-autoscaler", blocking=True, confidence=0.8,
                          effects=("the cluster autoscaler will not add a node for this pod",)))
    if scaled and not no_scale:
        e = scaled[-1]
        out.append(Signal(name="autoscaler-scale-up", params={**base, "groups": e.message.split(":", 1)[-1].strip()},
                          evidence=(event_evidence(e),), blocking=False, subject="cluster-autoscaler",
                          effects=("a node is being added for this pod",)))
    return out


def admission_signals(owner_key: str, events: Sequence[m.Event], total: int) -> list[Signal]:
    """FailedCreate on a ReplicaSet/StatefulSet/Job/DaemonSet: pods that were never created."""
    out: list[Signal] = []
    seen: set[str] = set()
    for e in reversed(events):
        if e.reason != "FailedCreate":
            continue
        parsed = msgs.parse_admission_failure(e.message)
        kind = parsed.kind if parsed else "other-admission"
        if kind in seen:
            continue
        seen.add(kind)
        base = {"pod": owner_key, "owner": owner_key, "total_nodes": total, "nodes_count": 0, "node_examples": "",
                "node_example": "NODE", "detail": e.message}
        name = {"quota-exceeded": "quota-exceeded", "quota-must-specify": "quota-missing-limits",
                "limit-range": "limit-range-violation"}.get(kind, "admission-rejected")
        params: dict[str, Any] = dict(base)
        subject = owner_key
        if parsed is not None:
            params["quota"] = parsed.quota_name
            if parsed.resources:
                params["resources"] = "; ".join(
                    f"{r.resource}: requested {r.requested or '?'}, used {r.used or '?'}, limited {r.limited or '?'}"
                    for r in parsed.resources)
            elif parsed.missing:
                params["resources"] = "; ".join(f"{res} for {', '.join(cs)}" for res, cs in parsed.missing)
            elif parsed.limits:
                params["resources"] = "; ".join(lv.text for lv in parsed.limits)
            if parsed.quota_name:
                ns = owner_key.split("/")[1] if owner_key.count("/") >= 2 else ""
                subject = f"ResourceQuota/{ns}/{parsed.quota_name}" if ns else f"ResourceQuota/{parsed.quota_name}"
        params.setdefault("quota", "")
        params.setdefault("resources", e.message)
        out.append(Signal(name=name, params=params, evidence=(event_evidence(e),), subject=subject,
                          effects=("the controller cannot create pods: they never exist, so they are not even "
                                   "Pending",), confidence=0.95))
    return out
