"""Autoscalers that set a pod's shape: a VerticalPodAutoscaler that raised its requests.

The VPA admission controller rewrites a pod's requests as it is created and says so in the
annotation `vpaUpdates: "Pod resources updated by <vpa>: container 0: cpu request, memory request"`.
When such a request is larger than any node the pod can use, lowering it in the Deployment does
nothing (the VPA sets it again on the next pod): the VPA is the origin, and capping its
recommendation (`spec.resourcePolicy.containerPolicies[].maxAllowed`) is the fix. This module names
the VPA, the request its owner's template asks for, and the cap to set, on the insufficient-resources
signal NodeResourcesFit gave.
"""

from __future__ import annotations

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


__all__ = ["parse_updates", "refine", "refine_all"]
