"""Autoscalers that set a pod's shape or number: a VerticalPodAutoscaler that raised its requests, a
HorizontalPodAutoscaler that added the replicas that wait.

The VPA admission controller rewrites a pod's requests as it is created and says so in the
annotation `vpaUpdates: "Pod resources updated by <vpa>: container 0: cpu request, memory request"`.
When such a request is larger than any node the pod can use, lowering it in the Deployment does
nothing (the VPA sets it again on the next pod): the VPA is the origin, and capping its
recommendation (`spec.resourcePolicy.containerPolicies[].maxAllowed`) is the fix. This module names
the VPA, the request its owner's template asks for, and the cap to set, on the insufficient-resources
signal NodeResourcesFit gave.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any, Mapping

from .. import model as m
from ..findings import EvidenceItem, Signal
from ..quantity import format_amount, to_scheduler_units
from ..snapshot import Snapshot

_UPDATED_BY = re.compile(r"^Pod resources updated by (?P<vpa>[^:]+): (?P<rest>.*)$")


def _d(x: Any) -> Mapping[str, Any]:
    return x if isinstance(x, Mapping) else {}


def parse_updates(text: str) -> tuple[str, dict[int, set[str]]]:
    """('web-vpa', {0: {'cpu request', 'memory request'}}) from the vpaUpdates annotation."""
    mt = _UPDATED_BY.match(text.strip())
    if mt is None:
        return "", {}
    out: dict[int, set[str]] = {}
    for part in mt.group("rest").split("; "):
        idx, _, what = part.partition(": ")
        num = idx.removeprefix("container ").strip()
        if num.isdigit():
            out[int(num)] = {w.strip() for w in what.split(",") if w.strip()}
    return mt.group("vpa"), out


def _template_request(pod: m.Pod, snap: Snapshot, container: str, res: str) -> str:
    """The request the pod's owner's template asks for (before the VPA), as written, or ''."""
    owner = pod.owner
    if owner is None:
        return ""
    w = snap.workload_by_key.get((owner.kind, pod.namespace, owner.name))
    tmpl = w.template_pod if w is not None else None
    if tmpl is None:
        return ""
    c = next((c for c in tmpl.containers if c.name == container), None)
    if c is None:
        return ""
    if res not in c.requests:
        return "nothing"
    return c.requests_text.get(res) or format_amount(res, c.requests[res])


def _vpa_policy(vpa: m.AddonObject, container: str) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    policies = [dict(_d(p)) for p in _d(_d(vpa.body.get("spec")).get("resourcePolicy")).get("containerPolicies") or []
                if isinstance(p, Mapping)]
    exact = next((p for p in policies if p.get("containerName") == container), None)
    return policies, exact or next((p for p in policies if p.get("containerName") == "*"), None)


def refine(signal: Signal, pod: m.Pod, snap: Snapshot) -> Signal:
    """The insufficient-resources signal, with the VPA that set the request, when one did."""
    if signal.name != "insufficient-resources" or not pod.vpa_updates:
        return signal
    res = str(signal.params.get("resource", ""))
    container = str(signal.params.get("dominant", ""))
    vpa_name, updates = parse_updates(pod.vpa_updates)
    index = next((i for i, c in enumerate(pod.containers) if c.name == container), -1)
    if not vpa_name or f"{res} request" not in updates.get(index, set()):
        return signal
    template = _template_request(pod, snap, container, res)
    largest = str(signal.params.get("largest_allocatable", ""))
    params: dict[str, Any] = {**signal.params, "vpa": vpa_name, "vpa_container": container,
                              "template_request": template or "unknown (the owner was not read)",
                              "max_allowed": "not set", "vpa_target": "", "vpa_patch": None}
    ev = [EvidenceItem(kind="object", summary=f"annotation vpaUpdates: {pod.vpa_updates[:300]}",
                       source=f"Pod {pod.key} metadata.annotations[vpaUpdates]", data={"vpa": vpa_name})]
    if template:
        ev.append(EvidenceItem(kind="object", summary=f"the owner's template asks for {template} {res} in container "
                               f"`{container}`; the VPA set {signal.params.get('requested')}",
                               source=f"{pod.owner.kind if pod.owner else ''} {pod.namespace}/"
                                      f"{pod.owner.name if pod.owner else ''} spec.template"))
    vpa = next((v for v in snap.addons("VerticalPodAutoscaler", pod.namespace) if v.name == vpa_name), None)
    if vpa is not None:
        policies, policy = _vpa_policy(vpa, container)
        cap = _d(_d(policy).get("maxAllowed")).get(res) if policy else None
        if cap is not None:
            params["max_allowed"] = str(cap)
        for rec in _d(_d(vpa.body.get("status")).get("recommendation")).get("containerRecommendations") or []:
            if _d(rec).get("containerName") == container:
                params["vpa_target"] = str(_d(_d(rec).get("target")).get(res, ""))
        # the fix: cap the container's policy at what the largest node can hold
        amount = to_scheduler_units(res, largest) if largest else 0
        if amount > 0:
            capped = [dict(p) for p in policies]
            mine = next((p for p in capped if p.get("containerName") == container), None)
            if mine is None:
                mine = {"containerName": container}
                capped.append(mine)
            mine["maxAllowed"] = {**dict(_d(mine.get("maxAllowed"))), res: largest}
            params["vpa_patch"] = {"spec": {"resourcePolicy": {"containerPolicies": capped}}}
        ev.append(EvidenceItem(kind="object", summary=f"VerticalPodAutoscaler {pod.namespace}/{vpa_name}: maxAllowed "
                               f"{res} for `{container}` {params['max_allowed']}"
                               + (f", recommendation target {params['vpa_target']}" if params["vpa_target"] else ""),
                               source=f"VerticalPodAutoscaler {pod.namespace}/{vpa_name} spec.resourcePolicy / "
                                      "status.recommendation"))
    return replace(signal, params=params, evidence=signal.evidence + tuple(ev),
                   subject=f"VerticalPodAutoscaler/{pod.namespace}/{vpa_name} spec.resourcePolicy",
                   effects=(f"VerticalPodAutoscaler {vpa_name} set the {res} request",) + signal.effects)


def refine_all(signals: list[Signal], pod: m.Pod, snap: Snapshot) -> list[Signal]:
    return [refine(s, pod, snap) for s in signals] if pod.vpa_updates else signals


# --- HorizontalPodAutoscaler: where the Pending replicas come from -----------------------------------
# A Deployment's replicas above the HPA's minReplicas were asked for by the HPA (it writes
# spec.replicas through the scale subresource). When some of them cannot be placed, the cause of each is
# in its pod report; what the owner also needs is that the HPA added them, how far it wants to go
# (desired, maxReplicas), so that "more capacity" and "a lower maxReplicas" are the two choices.


def _int(x: Any) -> int | None:
    return x if isinstance(x, int) and not isinstance(x, bool) else None


def _scale_target(pod: m.Pod, snap: Snapshot) -> m.Workload | None:
    """The object an HPA scales for this pod: its Deployment (through the ReplicaSet), or its owner."""
    owner = pod.owner
    if owner is None:
        return None
    w = snap.workload_by_key.get((owner.kind, pod.namespace, owner.name))
    if w is not None and w.kind == "ReplicaSet" and w.owner is not None and w.owner.kind == "Deployment":
        return snap.workload_by_key.get(("Deployment", pod.namespace, w.owner.name)) or w
    return w


def hpa_for(snap: Snapshot, kind: str, namespace: str, name: str) -> m.AddonObject | None:
    for h in snap.addons("HorizontalPodAutoscaler", namespace):
        ref = _d(_d(h.body.get("spec")).get("scaleTargetRef"))
        if ref.get("kind") == kind and ref.get("name") == name:
            return h
    return None


def _workload_pods(w: m.Workload, snap: Snapshot) -> list[m.Pod]:
    owners = [w] + (snap.workloads_by_owner.get(("Deployment", w.namespace, w.name), []) if w.kind == "Deployment"
                    else [])
    out: list[m.Pod] = []
    for o in owners:
        out += snap.pods_by_owner.get((o.kind, o.namespace, o.name), [])
    return [p for p in out if not p.is_terminal and not p.deletion_timestamp]


def hpa_signals(pod: m.Pod, snap: Snapshot, total: int) -> list[Signal]:
    """A context cause when the pod is one of the replicas an HPA added beyond its minReplicas and
    some of them cannot be placed: the HPA named (current/desired/min/max) as their origin."""
    if pod.node_name or pod.phase != "Pending":
        return []
    w = _scale_target(pod, snap)
    if w is None:
        return []
    hpa = hpa_for(snap, w.kind, w.namespace, w.name)
    if hpa is None:
        return []
    spec, status = _d(hpa.body.get("spec")), _d(hpa.body.get("status"))
    low = _int(spec.get("minReplicas")) or 1
    high = _int(spec.get("maxReplicas"))
    desired = _int(status.get("desiredReplicas"))
    current = _int(status.get("currentReplicas"))
    if desired is None or desired <= low:
        return []  # the replicas are the HPA's floor: not ones it added
    pods = _workload_pods(w, snap)
    placed = [p for p in pods if p.node_name]
    waiting = [p for p in pods if not p.node_name and p.phase == "Pending"]
    if not waiting:
        return []
    conds = {str(_d(c).get("type")): _d(c) for c in status.get("conditions") or []}
    limited = conds.get("ScalingLimited", {})
    at_max = high is not None and desired >= high
    key = f"{w.namespace}/{w.name}"
    params: dict[str, Any] = {
        "pod": f"Pod/{pod.key}", "total_nodes": total, "nodes_count": 0, "node_examples": "", "node_example": "NODE",
        "hpa": hpa.name, "workload": f"{w.kind.lower()}/{w.name}", "namespace": w.namespace,
        "min_replicas": low, "max_replicas": high if high is not None else "unset", "desired": desired,
        "current": current if current is not None else "unknown", "placed": len(placed), "waiting": len(waiting),
        "added": desired - low, "at_max": at_max,
        "cap_hint": (f"it is at its maxReplicas ({high}): it asks for no more" if at_max else
                     f"it may ask for up to {high} (maxReplicas)" if high is not None else ""),
        "scaling_limited": str(limited.get("message", "")) if limited.get("status") == "True" else "",
        "hpa_patch": json.dumps({"spec": {"maxReplicas": max(len(placed), low)}}, separators=(",", ":"))}
    ev = [EvidenceItem(kind="object", summary=f"HorizontalPodAutoscaler {w.namespace}/{hpa.name} scales {w.kind} {key}: "
                       f"minReplicas {low}, maxReplicas {params['max_replicas']}, current {params['current']}, "
                       f"desired {desired}" + (f"; ScalingLimited: {params['scaling_limited']}"
                                               if params["scaling_limited"] else ""),
                       source=f"HorizontalPodAutoscaler {w.namespace}/{hpa.name} spec / status",
                       data={"minReplicas": low, "maxReplicas": high, "currentReplicas": current,
                             "desiredReplicas": desired}),
          EvidenceItem(kind="object", summary=f"{len(placed)} replica(s) of {w.kind} {key} placed, {len(waiting)} "
                       "Pending: " + ", ".join(p.name for p in waiting[:5]) + (", ..." if len(waiting) > 5 else ""),
                       source=f"Pods of {w.kind} {key}")]
    return [Signal(name="hpa-replicas-pending", params=params, evidence=tuple(ev), blocking=False,
                   subject=f"HorizontalPodAutoscaler/{w.namespace}/{hpa.name}", confidence=0.9,
                   effects=(f"HorizontalPodAutoscaler {hpa.name} asked for {desired} replicas",))]


__all__ = ["hpa_for", "hpa_signals", "parse_updates", "refine", "refine_all"]
